package ingest

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/danmu-dev/danmu/codec"
	"github.com/valyala/fasthttp"
)

// The Bilibili-compatible routes (docs/bilibili.md): the calls that
// clients of Bilibili's live protocol make before they connect to /sub,
// and POST /msg/send (bili_send.go), each at Bilibili's path, so that a
// client whose API base URLs can be set needs only that change. Bilibili
// serves them from two hosts (api.live.bilibili.com and api.bilibili.com);
// danmu serves both sets here. Every answer is HTTP 200 with Bilibili's
// JSON envelope, whose code says how it went, as those clients expect.
const (
	biliRoomInitPath   = "/room/v1/Room/room_init"
	biliMobileInitPath = "/room/v1/Room/mobileRoomInit"
	biliRoomInfoPath   = "/room/v1/Room/get_info"
	biliDanmuInfoPath  = "/xlive/web-room/v1/index/getDanmuInfo"
	biliNavPath        = "/x/web-interface/nav"
	biliBuvidPath      = "/x/frontend/finger/spi"
	biliSendPath       = "/msg/send"
)

// Codes of Bilibili's envelope that danmu answers with (Bilibili's own
// meanings; docs/bilibili.md maps each answer of danmu to one).
const (
	biliCodeOK          = 0
	biliCodeNotLoggedIn = -101    // no token, or an invalid one
	biliCodeBadRequest  = -400    // a parameter is missing or invalid
	biliCodeForbidden   = -403    // not allowed: banned, or an admin's right
	biliCodeInternal    = -500    // a server bug
	biliCodeUnavailable = -503    // the stream or the limits' state failed
	biliCodeTooFast     = 10031   // over a rate limit, slow mode, a repeat
	biliCodeTooLong     = 1003212 // the text is over the limit
)

// DefaultBiliEdgePort is the port of the host_list entry getDanmuInfo
// gives when BiliConfig names no edge and knows no edge address: the
// WebSocket edge's default.
const DefaultBiliEdgePort = 7070

// BiliConfig configures the Bilibili-compatible routes. The zero value
// works: getDanmuInfo then lists the host each request was sent to, at
// DefaultBiliEdgePort.
type BiliConfig struct {
	// Edges are the public addresses of the edges' /sub, listed in this
	// order in getDanmuInfo's host_list. Empty means one entry: the
	// address EdgeAddr returns, with the host the request was sent to
	// (its Host header) when that address is 0.0.0.0 or ::.
	Edges []BiliEdge
	// EdgeAddr returns the address the WebSocket edge of this process
	// listens on, for the default entry. It may block until the edge
	// runs. Nil means the request's host at DefaultBiliEdgePort.
	EdgeAddr func() net.Addr
	// ViewerTokens makes getDanmuInfo answer -101 to a caller that sends
	// no bearer token, as the edges that require viewer tokens would
	// refuse its enter packet. A caller with a valid token always gets it
	// back as the token to enter with.
	ViewerTokens bool
}

// BiliEdge is one entry of getDanmuInfo's host_list: the host name and
// port of an edge. Clients build wss://host:port/sub (or ws://), and the
// entry gives the one port in each of its port fields, for whichever
// scheme the client picks: danmu serves one scheme per address.
type BiliEdge struct {
	Host string
	Port int
}

// ParseBiliEdge parses the public WebSocket URL of an edge: ws:// or
// wss://, a host name or IP address, an optional port (80 for ws and 443
// for wss when absent), and no path but "/" or "/sub", the path those
// clients add themselves.
func ParseBiliEdge(s string) (BiliEdge, error) {
	u, err := url.Parse(s)
	if err != nil {
		return BiliEdge{}, fmt.Errorf("ingest: edge URL %q: %w", s, err)
	}
	port := 0
	switch u.Scheme {
	case "ws":
		port = 80
	case "wss":
		port = 443
	default:
		return BiliEdge{}, fmt.Errorf("ingest: edge URL %q: scheme must be ws or wss", s)
	}
	switch {
	case u.Hostname() == "":
		return BiliEdge{}, fmt.Errorf("ingest: edge URL %q has no host", s)
	case u.Path != "" && u.Path != "/" && u.Path != "/sub", u.RawQuery != "", u.Fragment != "", u.User != nil:
		return BiliEdge{}, fmt.Errorf("ingest: edge URL %q: want scheme://host[:port] alone, the clients add /sub", s)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return BiliEdge{}, fmt.Errorf("ingest: edge URL %q: invalid port", s)
		}
	}
	return BiliEdge{Host: u.Hostname(), Port: port}, nil
}

// registerBili adds the Bilibili-compatible routes. Pages of any origin
// may call them with a bearer token, so each answers CORS preflights too.
func (s *Server) registerBili() {
	for _, r := range []struct {
		method, path string
		handler      fasthttp.RequestHandler
	}{
		{fasthttp.MethodGet, biliRoomInitPath, s.biliRoomInit},
		{fasthttp.MethodGet, biliMobileInitPath, s.biliRoomInit},
		{fasthttp.MethodGet, biliRoomInfoPath, s.biliRoomInfo},
		{fasthttp.MethodGet, biliDanmuInfoPath, s.biliDanmuInfo},
		{fasthttp.MethodGet, biliNavPath, biliNav},
		{fasthttp.MethodGet, biliBuvidPath, biliBuvid},
		{fasthttp.MethodPost, biliSendPath, s.biliSend},
	} {
		allow := r.method + ", " + fasthttp.MethodOptions
		s.Handle(r.method, r.path, r.handler)
		s.Handle(fasthttp.MethodOptions, r.path, func(ctx *fasthttp.RequestCtx) {
			allowAnyOrigin(ctx)
			preflight(ctx, allow)
		})
	}
}

// biliRoomID returns the room a bootstrap call names in its query
// parameter name: a positive integer, danmu room "N" for N, as in the
// enter packet. It answers -400 otherwise.
func biliRoomID(ctx *fasthttp.RequestCtx, name string) (uint64, bool) {
	id, err := strconv.ParseUint(string(ctx.QueryArgs().Peek(name)), 10, 64)
	if err != nil || id == 0 {
		writeBiliError(ctx, biliCodeBadRequest, name+" must be a positive integer: the room id")
		return 0, false
	}
	return id, true
}

// biliRoomInitData is the data of room_init (and mobileRoomInit, its
// twin): the room, with neutral values for what danmu does not have. A
// danmu room always exists and is always live.
type biliRoomInitData struct {
	RoomID      uint64 `json:"room_id"`
	ShortID     int    `json:"short_id"`
	UID         int    `json:"uid"`
	NeedP2P     int    `json:"need_p2p"`
	IsHidden    bool   `json:"is_hidden"`
	IsLocked    bool   `json:"is_locked"`
	IsPortrait  bool   `json:"is_portrait"`
	LiveStatus  int    `json:"live_status"`
	HiddenTill  int    `json:"hidden_till"`
	LockTill    int    `json:"lock_till"`
	Encrypted   bool   `json:"encrypted"`
	PwdVerified bool   `json:"pwd_verified"`
	LiveTime    int64  `json:"live_time"`
	RoomShield  int    `json:"room_shield"`
	IsSP        int    `json:"is_sp"`
	SpecialType int    `json:"special_type"`
}

// biliLive is live_status of a room that is live.
const biliLive = 1

// biliRoomInit serves GET room_init?id=N and mobileRoomInit?id=N.
func (s *Server) biliRoomInit(ctx *fasthttp.RequestCtx) {
	id, ok := biliRoomID(ctx, "id")
	if !ok {
		return
	}
	writeBiliRoomData(ctx, biliRoomInitData{RoomID: id, LiveStatus: biliLive})
}

// biliRoomInfoData is the data of get_info: the room, with the online
// count, and neutral values for the rest.
type biliRoomInfoData struct {
	UID              int      `json:"uid"`
	RoomID           uint64   `json:"room_id"`
	ShortID          int      `json:"short_id"`
	Attention        int      `json:"attention"`
	Online           int      `json:"online"`
	IsPortrait       bool     `json:"is_portrait"`
	Description      string   `json:"description"`
	LiveStatus       int      `json:"live_status"`
	AreaID           int      `json:"area_id"`
	ParentAreaID     int      `json:"parent_area_id"`
	ParentAreaName   string   `json:"parent_area_name"`
	OldAreaID        int      `json:"old_area_id"`
	Background       string   `json:"background"`
	Title            string   `json:"title"`
	UserCover        string   `json:"user_cover"`
	Keyframe         string   `json:"keyframe"`
	IsStrictRoom     bool     `json:"is_strict_room"`
	LiveTime         string   `json:"live_time"`
	Tags             string   `json:"tags"`
	IsAnchor         int      `json:"is_anchor"`
	RoomSilentType   string   `json:"room_silent_type"`
	RoomSilentLevel  int      `json:"room_silent_level"`
	RoomSilentSecond int      `json:"room_silent_second"`
	AreaName         string   `json:"area_name"`
	Pendants         string   `json:"pendants"`
	AreaPendants     string   `json:"area_pendants"`
	HotWords         []string `json:"hot_words"`
	HotWordsStatus   int      `json:"hot_words_status"`
	Verify           string   `json:"verify"`
	UpSession        string   `json:"up_session"`
	PKStatus         int      `json:"pk_status"`
	PKID             int      `json:"pk_id"`
	BattleID         int      `json:"battle_id"`
}

// biliRoomInfo serves GET get_info?room_id=N. The online count is the
// room's, as GET /v1/rooms/{room} gives it; when it cannot be had within
// QueryTimeout the answer says 0 rather than fail the client's start.
func (s *Server) biliRoomInfo(ctx *fasthttp.RequestCtx) {
	id, ok := biliRoomID(ctx, "room_id")
	if !ok {
		return
	}
	room := strconv.FormatUint(id, 10)
	online, err := s.online(room)
	if err != nil {
		s.logger.Warn("ingest: online count failed; get_info says 0", "room", room, "err", err)
	}
	writeBiliRoomData(ctx, biliRoomInfoData{
		RoomID: id, Online: online, LiveStatus: biliLive, LiveTime: "0000-00-00 00:00:00", HotWords: []string{},
	})
}

// biliHost is one entry of getDanmuInfo's host_list.
type biliHost struct {
	Host    string `json:"host"`
	Port    int    `json:"port"`
	WSSPort int    `json:"wss_port"`
	WSPort  int    `json:"ws_port"`
}

// biliDanmuInfoData is the data of getDanmuInfo. The tuning values are the
// ones Bilibili sends; clients do not depend on them.
type biliDanmuInfoData struct {
	Group            string     `json:"group"`
	BusinessID       int        `json:"business_id"`
	RefreshRowFactor float64    `json:"refresh_row_factor"`
	RefreshRate      int        `json:"refresh_rate"`
	MaxDelay         int        `json:"max_delay"`
	Token            string     `json:"token"`
	HostList         []biliHost `json:"host_list"`
}

// biliDanmuInfo serves GET getDanmuInfo?id=N: the token to enter with and
// the edges to connect to. The token is the caller's own bearer token once
// checked (any valid token is a viewer token), or "" for a caller without
// one when viewer tokens are not required. The wbi signature Bilibili
// requires (w_rid, wts) is not checked: danmu has none to check.
func (s *Server) biliDanmuInfo(ctx *fasthttp.RequestCtx) {
	if _, ok := biliRoomID(ctx, "id"); !ok {
		return
	}
	token, ok := s.biliViewerToken(ctx)
	if !ok {
		return
	}
	data := biliDanmuInfoData{Group: "live", RefreshRowFactor: 0.125, RefreshRate: 100, MaxDelay: 5000, Token: token}
	for _, e := range s.biliEdges(ctx) {
		data.HostList = append(data.HostList, biliHost{Host: e.Host, Port: e.Port, WSSPort: e.Port, WSPort: e.Port})
	}
	writeBiliAPIData(ctx, data)
}

// biliViewerToken returns the token getDanmuInfo hands the caller, or
// answers -101 and returns false.
func (s *Server) biliViewerToken(ctx *fasthttp.RequestCtx) (string, bool) {
	if s.cfg.Auth == nil {
		return "", true
	}
	token := bearer(ctx)
	switch {
	case token == "" && s.cfg.Bili.ViewerTokens:
		writeBiliError(ctx, biliCodeNotLoggedIn, "viewers need a token: send Authorization: Bearer <token>")
		return "", false
	case token == "":
		return "", true
	}
	if _, err := s.cfg.Auth.Verify(token); err != nil {
		writeBiliError(ctx, biliCodeNotLoggedIn, "the bearer token is invalid or expired")
		return "", false
	}
	return token, true
}

// biliEdges returns the edges getDanmuInfo lists for the request ctx.
func (s *Server) biliEdges(ctx *fasthttp.RequestCtx) []BiliEdge {
	if len(s.cfg.Bili.Edges) > 0 {
		return s.cfg.Bili.Edges
	}
	e := BiliEdge{Port: DefaultBiliEdgePort}
	if s.cfg.Bili.EdgeAddr != nil {
		if tcp, ok := s.cfg.Bili.EdgeAddr().(*net.TCPAddr); ok {
			e.Port = tcp.Port
			if !tcp.IP.IsUnspecified() {
				e.Host = tcp.IP.String()
			}
		}
	}
	if e.Host == "" {
		e.Host = requestHost(ctx)
	}
	return []BiliEdge{e}
}

// requestHost returns the host name the request was sent to (its Host
// header, without the port), or 127.0.0.1 when that is not a plain host
// name or address of at most 64 characters: it goes into answers that a
// cache in front may keep.
func requestHost(ctx *fasthttp.RequestCtx) string {
	h := string(ctx.Host())
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	if !codec.ValidRoom(h) {
		return "127.0.0.1"
	}
	return h
}

// biliWbiKey stands for the keys of the wbi signature in nav's wbi_img:
// 32 characters each, as clients expect. Clients sign their requests with
// it; danmu does not check the signature.
const biliWbiKey = "00000000000000000000000000000000"

// biliNavAnswer is what GET nav answers: nobody is logged in to a
// Bilibili account (code -101, as Bilibili answers a guest), and the wbi
// keys are in the image URLs, under the reserved .invalid domain.
const biliNavAnswer = `{"code":-101,"message":"账号未登录","ttl":1,"data":{"isLogin":false,"wbi_img":{` +
	`"img_url":"https://wbi.invalid/` + biliWbiKey + `.png","sub_url":"https://wbi.invalid/` + biliWbiKey + `.png"}}}`

// biliNav serves GET nav, which clients call for the wbi keys.
func biliNav(ctx *fasthttp.RequestCtx) {
	writeBiliRaw(ctx, biliNavAnswer)
}

// biliBuvidAnswer is what GET spi answers: a browser id, which clients
// send back in the enter packet's buvid, where danmu ignores it.
const biliBuvidAnswer = `{"code":0,"message":"ok","data":{"b_3":"00000000-0000-0000-0000-000000000000infoc",` +
	`"b_4":"00000000-0000-0000-0000-000000000000-000000000-0000000000"}}`

// biliBuvid serves GET spi.
func biliBuvid(ctx *fasthttp.RequestCtx) {
	writeBiliRaw(ctx, biliBuvidAnswer)
}

// Envelopes of the answers: Bilibili's room/v1 API says msg and message
// "ok"; its xlive API message "0" and ttl 1.
type (
	biliRoomEnvelope struct {
		Code    int    `json:"code"`
		Msg     string `json:"msg"`
		Message string `json:"message"`
		Data    any    `json:"data"`
	}
	biliAPIEnvelope struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		TTL     int    `json:"ttl"`
		Data    any    `json:"data"`
	}
	biliErrorEnvelope struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Msg     string `json:"msg"`
		TTL     int    `json:"ttl"`
		Data    any    `json:"data"`
	}
)

// writeBiliRoomData answers code 0 with data in the envelope of the
// room/v1 API.
func writeBiliRoomData(ctx *fasthttp.RequestCtx, data any) {
	writeBiliJSON(ctx, biliRoomEnvelope{Code: biliCodeOK, Msg: "ok", Message: "ok", Data: data})
}

// writeBiliAPIData answers code 0 with data in the envelope of the xlive
// API.
func writeBiliAPIData(ctx *fasthttp.RequestCtx, data any) {
	writeBiliJSON(ctx, biliAPIEnvelope{Code: biliCodeOK, Message: "0", TTL: 1, Data: data})
}

// writeBiliError answers an error in Bilibili's envelope, with data null.
func writeBiliError(ctx *fasthttp.RequestCtx, code int, message string) {
	writeBiliJSON(ctx, biliErrorEnvelope{Code: code, Message: message, Msg: message, TTL: 1})
}

func writeBiliJSON(ctx *fasthttp.RequestCtx, v any) {
	body, err := codec.JSON.Marshal(v)
	if err != nil {
		panic("ingest: encoding a Bilibili answer: " + err.Error())
	}
	writeBiliRaw(ctx, string(body))
}

// writeBiliRaw answers HTTP 200 with a JSON body. Pages of any origin may
// read it: these calls carry no cookie, and a token only in a header.
func writeBiliRaw(ctx *fasthttp.RequestCtx, body string) {
	allowAnyOrigin(ctx)
	ctx.SetContentType(contentTypeJSON)
	ctx.SetBodyString(body)
}
