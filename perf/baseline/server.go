package baseline

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/ingest"
	"github.com/gorilla/websocket"
)

// Server is the baseline: an http.Handler serving GET /ws?room=R and
// POST /v1/rooms/{room}/danmaku.
type Server struct {
	// Immutable after New.
	cfg      Config
	mux      *http.ServeMux
	upgrader websocket.Upgrader

	hub *hub
	ids idGen
}

// New returns a Server configured by cfg.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg.withDefaults(), hub: newHub()}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:  s.cfg.ReadBufferSize,
		WriteBufferSize: s.cfg.WriteBufferSize,
		CheckOrigin:     func(*http.Request) bool { return true },
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("POST /v1/rooms/{room}/danmaku", s.postComment)
	return s
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Online returns the number of viewers of room.
func (s *Server) Online(room string) int {
	return s.hub.online(room)
}

// joinedMessage is the first message a viewer receives.
type joinedMessage struct {
	Type string `json:"type"`
	Room string `json:"room"`
}

// batchMessage carries one comment in danmu's batch shape.
type batchMessage struct {
	Type string          `json:"type"`
	Room string          `json:"room"`
	Msgs []codec.Message `json:"msgs"`
}

// commentBody is the POST body; absent optional fields take danmu's
// defaults.
type commentBody struct {
	Text  string `json:"text"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
	Name  string `json:"name"`
	UID   string `json:"uid"`
}

// postAnswer is the 201 body.
type postAnswer struct {
	ID string `json:"id"`
	TS int64  `json:"ts"`
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	room := r.URL.Query().Get("room")
	if !codec.ValidRoom(room) {
		writeError(w, http.StatusBadRequest, "invalid_room")
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	joined, err := json.Marshal(joinedMessage{Type: "joined", Room: room})
	if err != nil {
		_ = conn.Close()
		return
	}
	c := &client{hub: s.hub, cfg: &s.cfg, conn: conn, room: room, send: make(chan []byte, s.cfg.SendBuffer)}
	s.hub.register(c, joined)
	go c.writePump()
	go c.readPump()
}

func (s *Server) postComment(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if !codec.ValidRoom(room) {
		writeError(w, http.StatusBadRequest, "invalid_room")
		return
	}
	if mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mediaType != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large")
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_json")
		return
	}
	var in commentBody
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json")
		return
	}
	msg := codec.Message{
		UID:   orDefault(in.UID, ingest.DefaultUID),
		Name:  orDefault(in.Name, ingest.DefaultName),
		Text:  in.Text,
		Color: orDefault(in.Color, codec.DefaultColor),
		Mode:  orDefault(in.Mode, codec.ModeScroll),
	}
	if codec.CheckText(msg.Text, s.cfg.MaxTextRunes) != nil || codec.CheckColor(msg.Color) != nil ||
		codec.CheckMode(msg.Mode) != nil || !codec.ValidUID(msg.UID) {
		writeError(w, http.StatusBadRequest, "invalid_comment")
		return
	}
	msg.ID, msg.TS = s.ids.next(time.Now())
	frame, err := json.Marshal(batchMessage{Type: "batch", Room: room, Msgs: []codec.Message{msg}})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal")
		return
	}
	s.hub.broadcast(room, frame)
	answer, err := json.Marshal(postAnswer{ID: msg.ID, TS: msg.TS})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(answer)
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"error":"`+code+`"}`)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
