package baseline_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/perf/baseline"
	"github.com/gorilla/websocket"
)

// frame is what the server sends: a joined or a batch message.
type frame struct {
	Type string          `json:"type"`
	Room string          `json:"room"`
	Msgs []codec.Message `json:"msgs"`
}

func startServer(t *testing.T) (*baseline.Server, *httptest.Server) {
	t.Helper()
	s := baseline.New(baseline.Config{})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// join connects a viewer to room and reads its joined message.
func join(t *testing.T, ts *httptest.Server, room string) *websocket.Conn {
	t.Helper()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws?room=" + room
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if got := readFrames(t, conn); len(got) != 1 || got[0].Type != "joined" || got[0].Room != room {
		t.Fatalf("first message = %+v; want joined %q", got, room)
	}
	return conn
}

// readFrames reads one WebSocket message and decodes its newline-separated
// JSON objects.
func readFrames(t *testing.T, conn *websocket.Conn) []frame {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var frames []frame
	for line := range strings.SplitSeq(string(data), "\n") {
		var f frame
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("decode %q: %v", line, err)
		}
		frames = append(frames, f)
	}
	return frames
}

func post(t *testing.T, ts *httptest.Server, room, contentType, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(ts.URL+"/v1/rooms/"+room+"/danmaku", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp.StatusCode, string(data)
}

func TestPostReachesViewersOfTheRoomOnly(t *testing.T) {
	s, ts := startServer(t)
	a1, a2 := join(t, ts, "a"), join(t, ts, "a")
	b := join(t, ts, "b")
	if got := s.Online("a"); got != 2 {
		t.Fatalf("Online(a) = %d; want 2", got)
	}
	status, body := post(t, ts, "a", "application/json; charset=utf-8", `{"text":"hello","name":"ann"}`)
	if status != http.StatusCreated {
		t.Fatalf("POST = %d %s; want 201", status, body)
	}
	var answer struct {
		ID string `json:"id"`
		TS int64  `json:"ts"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.ID == "" || answer.TS == 0 {
		t.Fatalf("answer %s: %+v, %v", body, answer, err)
	}
	want := codec.Message{ID: answer.ID, UID: "anonymous", Name: "ann", Text: "hello", Color: "#ffffff", Mode: "scroll", TS: answer.TS}
	for _, conn := range []*websocket.Conn{a1, a2} {
		got := readFrames(t, conn)
		if len(got) != 1 || got[0].Type != "batch" || got[0].Room != "a" || len(got[0].Msgs) != 1 || got[0].Msgs[0] != want {
			t.Errorf("viewer got %+v; want one batch with %+v", got, want)
		}
	}
	status, _ = post(t, ts, "b", "application/json", `{"text":"for b"}`)
	if status != http.StatusCreated {
		t.Fatalf("POST b = %d; want 201", status)
	}
	if got := readFrames(t, b); len(got) != 1 || got[0].Msgs[0].Text != "for b" {
		t.Errorf("viewer of b got %+v; want only its own comment", got)
	}
}

func TestPostRejects(t *testing.T) {
	_, ts := startServer(t)
	tests := []struct {
		name, room, contentType, body string
		want                          int
	}{
		{"text plain", "a", "text/plain", `{"text":"x"}`, http.StatusUnsupportedMediaType},
		{"bad json", "a", "application/json", `{"text":`, http.StatusBadRequest},
		{"empty text", "a", "application/json", `{"text":""}`, http.StatusBadRequest},
		{"long text", "a", "application/json", `{"text":"` + strings.Repeat("x", 101) + `"}`, http.StatusBadRequest},
		{"control char", "a", "application/json", `{"text":"a\u0000b"}`, http.StatusBadRequest},
		{"bad color", "a", "application/json", `{"text":"x","color":"red"}`, http.StatusBadRequest},
		{"bad room", "a!b", "application/json", `{"text":"x"}`, http.StatusBadRequest},
		{"large body", "a", "application/json", `{"text":"x","pad":"` + strings.Repeat("y", 5000) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		if status, body := post(t, ts, tt.room, tt.contentType, tt.body); status != tt.want {
			t.Errorf("%s: POST = %d %s; want %d", tt.name, status, body, tt.want)
		}
	}
}

func TestJoinRejectsInvalidRoom(t *testing.T) {
	_, ts := startServer(t)
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws?room="
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil {
		t.Fatal("dial with an empty room succeeded; want 400")
	}
	if resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("dial with an empty room: %v, %v; want 400", resp, err)
	}
}
