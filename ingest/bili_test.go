package ingest

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/policy"
)

// biliAnswer is Bilibili's envelope, decoded.
type biliAnswer struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Msg     *string         `json:"msg"`
	TTL     int             `json:"ttl"`
	Data    json.RawMessage `json:"data"`
}

// biliGet gets path and decodes the envelope of its HTTP 200 answer.
func (ts *testServer) biliGet(t *testing.T, path, token string) biliAnswer {
	t.Helper()
	return checkBili(t, "GET "+path, ts.send(t, http.MethodGet, path, token, ""))
}

// checkBili checks r is HTTP 200 with Bilibili's envelope and decodes it.
func checkBili(t *testing.T, what string, r response) biliAnswer {
	t.Helper()
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s: status %d, %s; want 200 and JSON (body %s)", what, r.status, r.header.Get("Content-Type"), r.body)
	}
	var a biliAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("%s: body %s: %v", what, r.body, err)
	}
	return a
}

func TestBiliRoomInit(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), mapPresence{"42": 7}, nil)
	for _, path := range []string{biliRoomInitPath + "?id=42", biliMobileInitPath + "?id=42"} {
		a := ts.biliGet(t, path, "")
		var data biliRoomInitData
		if err := json.Unmarshal(a.Data, &data); err != nil || a.Code != 0 || a.Message != "ok" || a.Msg == nil || *a.Msg != "ok" ||
			data.RoomID != 42 || data.LiveStatus != 1 || data.IsLocked || data.Encrypted {
			t.Errorf("GET %s = %+v %s, %v", path, a, a.Data, err)
		}
	}
	a := ts.biliGet(t, biliRoomInfoPath+"?room_id=42", "")
	var info map[string]any
	if err := json.Unmarshal(a.Data, &info); err != nil || a.Code != 0 || info["room_id"] != 42.0 || info["online"] != 7.0 ||
		info["uid"] != 0.0 || info["live_status"] != 1.0 || info["title"] != "" {
		t.Errorf("GET get_info = %+v %s, %v", a, a.Data, err)
	}
	for _, path := range []string{
		biliRoomInitPath, biliRoomInitPath + "?id=0", biliRoomInitPath + "?id=-1", biliRoomInitPath + "?id=abc",
		biliRoomInitPath + "?id=18446744073709551616", biliRoomInfoPath + "?id=42", biliDanmuInfoPath + "?id=1x",
	} {
		if a := ts.biliGet(t, path, ""); a.Code != biliCodeBadRequest || a.Message == "" || string(a.Data) != "null" {
			t.Errorf("GET %s = %+v; want code -400 with a message and data null", path, a)
		}
	}
}

// TestBiliRoomInfoOnlineFails checks that get_info answers while the online
// count cannot be had, with 0.
func TestBiliRoomInfoOnlineFails(t *testing.T) {
	ts := startServer(t, Config{QueryTimeout: 20e6}, newMemory(), hangingPresence{}, nil)
	a := ts.biliGet(t, biliRoomInfoPath+"?room_id=5", "")
	var info biliRoomInfoData
	if err := json.Unmarshal(a.Data, &info); err != nil || a.Code != 0 || info.RoomID != 5 || info.Online != 0 {
		t.Errorf("GET get_info = %+v %s, %v", a, a.Data, err)
	}
}

// danmuInfo gets getDanmuInfo for room 42 with token and decodes it.
func (ts *testServer) danmuInfo(t *testing.T, token string) (biliAnswer, biliDanmuInfoData) {
	t.Helper()
	a := ts.biliGet(t, biliDanmuInfoPath+"?id=42&type=0&wts=1&w_rid=x", token)
	var data biliDanmuInfoData
	if a.Code == 0 {
		if err := json.Unmarshal(a.Data, &data); err != nil {
			t.Fatalf("getDanmuInfo data %s: %v", a.Data, err)
		}
	}
	return a, data
}

func TestBiliDanmuInfoHosts(t *testing.T) {
	edgeAt := func(addr string) func() net.Addr {
		return func() net.Addr { a, _ := net.ResolveTCPAddr("tcp", addr); return a }
	}
	for _, tt := range []struct {
		name string
		cfg  BiliConfig
		want []biliHost
	}{
		{"default", BiliConfig{}, []biliHost{{"127.0.0.1", 7070, 7070, 7070}}},
		{"edge address", BiliConfig{EdgeAddr: edgeAt("127.0.0.2:17070")}, []biliHost{{"127.0.0.2", 17070, 17070, 17070}}},
		{"any address", BiliConfig{EdgeAddr: edgeAt("0.0.0.0:17071")}, []biliHost{{"127.0.0.1", 17071, 17071, 17071}}},
		{"edges", BiliConfig{EdgeAddr: edgeAt("127.0.0.2:1"), Edges: []BiliEdge{{"live.example.com", 443}, {"203.0.113.7", 7070}}},
			[]biliHost{{"live.example.com", 443, 443, 443}, {"203.0.113.7", 7070, 7070, 7070}}},
	} {
		ts := startServer(t, Config{Bili: tt.cfg}, newMemory(), nil, nil)
		a, data := ts.danmuInfo(t, "")
		if a.Code != 0 || a.Message != "0" || a.TTL != 1 || data.Token != "" || data.Group != "live" || len(data.HostList) != len(tt.want) {
			t.Errorf("%s: getDanmuInfo = %+v %s", tt.name, a, a.Data)
			continue
		}
		for i := range tt.want {
			if data.HostList[i] != tt.want[i] {
				t.Errorf("%s: host_list[%d] = %+v; want %+v", tt.name, i, data.HostList[i], tt.want[i])
			}
		}
	}
}

func TestBiliDanmuInfoHostHeader(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), nil, nil)
	for _, tt := range []struct{ host, want string }{
		{"live.example.com:7080", "live.example.com"}, {"live.example.com", "live.example.com"},
		{"[::1]:7080", "::1"}, {"a!b", "127.0.0.1"}, {"bücher.example", "xn--bcher-kva.example"}, {strings.Repeat("a", 65), "127.0.0.1"},
	} {
		req, err := http.NewRequest(http.MethodGet, ts.base+biliDanmuInfoPath+"?id=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tt.host
		var data biliDanmuInfoData
		a := checkBili(t, "Host "+tt.host, ts.roundTrip(t, req))
		if err := json.Unmarshal(a.Data, &data); err != nil || len(data.HostList) != 1 || data.HostList[0].Host != tt.want {
			t.Errorf("Host %q: data %s, %v; want host %q", tt.host, a.Data, err, tt.want)
		}
	}
}

func TestBiliDanmuInfoTokens(t *testing.T) {
	viewer := mint(t, "u-1", "Ann", "")
	open := startServer(t, Config{}, newMemory(), nil, nil)
	if a, data := open.danmuInfo(t, viewer); a.Code != 0 || data.Token != "" {
		t.Errorf("open mode: %+v, token %q; want code 0 and no token", a, data.Token)
	}
	for _, viewerTokens := range []bool{false, true} {
		ts := startServer(t, authConfig(t, Config{Bili: BiliConfig{ViewerTokens: viewerTokens}}), newMemory(), nil, nil)
		if a, data := ts.danmuInfo(t, viewer); a.Code != 0 || data.Token != viewer {
			t.Errorf("viewer tokens %v, with a token: %+v, token %q; want the caller's token", viewerTokens, a, data.Token)
		}
		if a, _ := ts.danmuInfo(t, viewer+"x"); a.Code != biliCodeNotLoggedIn {
			t.Errorf("viewer tokens %v, invalid token: %+v; want -101", viewerTokens, a)
		}
		a, data := ts.danmuInfo(t, "")
		switch {
		case viewerTokens && a.Code != biliCodeNotLoggedIn:
			t.Errorf("viewer tokens required, no token: %+v; want -101", a)
		case !viewerTokens && (a.Code != 0 || data.Token != ""):
			t.Errorf("viewer tokens not required, no token: %+v, token %q; want code 0 and no token", a, data.Token)
		}
	}
}

func TestBiliNavAndBuvid(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), nil, nil)
	a := ts.biliGet(t, biliNavPath, "")
	var nav struct {
		IsLogin bool `json:"isLogin"`
		WbiImg  struct {
			ImgURL string `json:"img_url"`
			SubURL string `json:"sub_url"`
		} `json:"wbi_img"`
	}
	if err := json.Unmarshal(a.Data, &nav); err != nil || a.Code != biliCodeNotLoggedIn || nav.IsLogin {
		t.Fatalf("GET nav = %+v %s, %v", a, a.Data, err)
	}
	// Clients take the keys from the file names, as these lines do, and
	// need 64 characters in all.
	for _, u := range []string{nav.WbiImg.ImgURL, nav.WbiImg.SubURL} {
		name := u[strings.LastIndexByte(u, '/')+1:]
		if key, _, _ := strings.Cut(name, "."); len(key) != 32 {
			t.Errorf("wbi key of %q = %q; want 32 characters", u, key)
		}
	}
	a = ts.biliGet(t, biliBuvidPath, "")
	var spi struct {
		B3 string `json:"b_3"`
	}
	if err := json.Unmarshal(a.Data, &spi); err != nil || a.Code != 0 || spi.B3 == "" {
		t.Errorf("GET spi = %+v %s, %v", a, a.Data, err)
	}
}

// TestBiliPreflight checks that pages of other origins may call the
// Bilibili-compatible routes with a bearer token.
func TestBiliPreflight(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), nil, nil)
	for path, method := range map[string]string{biliDanmuInfoPath: "GET", biliRoomInitPath: "GET", biliSendPath: "POST"} {
		r := ts.do(t, http.MethodOptions, path, "", nil)
		h := r.header
		if r.status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Methods") != method+", OPTIONS" ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("OPTIONS %s: %d %v", path, r.status, h)
		}
	}
	if r := ts.do(t, http.MethodPut, biliSendPath, "", nil); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST, OPTIONS" {
		t.Errorf("PUT /msg/send: %d, Allow %q; want 405 and POST, OPTIONS", r.status, r.header.Get("Allow"))
	}
}

func TestParseBiliEdge(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want BiliEdge
		ok   bool
	}{
		{"wss://live.example.com", BiliEdge{"live.example.com", 443}, true},
		{"ws://live.example.com", BiliEdge{"live.example.com", 80}, true},
		{"ws://203.0.113.7:7070/", BiliEdge{"203.0.113.7", 7070}, true},
		{"wss://live.example.com:8443/sub", BiliEdge{"live.example.com", 8443}, true},
		{"ws://[2001:db8::1]:7070", BiliEdge{"2001:db8::1", 7070}, true},
		{"http://live.example.com", BiliEdge{}, false},
		{"live.example.com:7070", BiliEdge{}, false},
		{"wss://", BiliEdge{}, false},
		{"wss://live.example.com/ws", BiliEdge{}, false},
		{"wss://live.example.com/?a=1", BiliEdge{}, false},
		{"wss://u:p@live.example.com", BiliEdge{}, false},
		{"wss://live.example.com:0", BiliEdge{}, false},
		{"wss://live.example.com:65536", BiliEdge{}, false},
		{"wss://live.example.com:x", BiliEdge{}, false},
	} {
		got, err := ParseBiliEdge(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseBiliEdge(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// biliSend posts form to /msg/send, as the web client does: URL-encoded,
// or as multipart/form-data with multipart.
func (ts *testServer) biliSend(t *testing.T, token string, form url.Values, multi bool) biliAnswer {
	t.Helper()
	body, contentType := []byte(form.Encode()), contentTypeForm
	if multi {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for k, vs := range form {
			for _, v := range vs {
				if err := w.WriteField(k, v); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		body, contentType = b.Bytes(), w.FormDataContentType()
	}
	req, err := http.NewRequest(http.MethodPost, ts.base+biliSendPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return checkBili(t, "POST /msg/send "+form.Encode(), ts.roundTrip(t, req))
}

// sendForm is a form as the web client sends it.
func sendForm(roomid, msg, color, mode string) url.Values {
	return url.Values{"bubble": {"0"}, "msg": {msg}, "color": {color}, "mode": {mode}, "room_type": {"0"}, "jumpfrom": {"0"},
		"fontsize": {"25"}, "rnd": {"1795633890"}, "roomid": {roomid}, "csrf": {"x"}, "csrf_token": {"x"}}
}

func TestBiliSend(t *testing.T) {
	log := newMemory()
	ts := startServer(t, authConfig(t, Config{}), log, nil, nil)
	token := mint(t, "42", "Ann", "")
	for i, multi := range []bool{false, true} {
		text := []string{"hello [doge] 弹幕 😀", `"quoted" \ <b>`}[i]
		a := ts.biliSend(t, token, sendForm("31415", text, "16746496", "5"), multi)
		var data struct {
			ModeInfo json.RawMessage `json:"mode_info"`
			DMv2     any             `json:"dm_v2"`
		}
		if err := json.Unmarshal(a.Data, &data); err != nil || a.Code != 0 || a.Message != "" || a.Msg == nil || *a.Msg != "" {
			t.Fatalf("multipart %v: %+v %s, %v", multi, a, a.Data, err)
		}
		var mi struct {
			Extra string `json:"extra"`
			User  struct {
				UID  uint64 `json:"uid"`
				Base struct {
					Name string `json:"name"`
				} `json:"base"`
			} `json:"user"`
		}
		var extra struct {
			SendFromMe bool   `json:"send_from_me"`
			Content    string `json:"content"`
			IDStr      string `json:"id_str"`
		}
		if err := json.Unmarshal(data.ModeInfo, &mi); err != nil || json.Unmarshal([]byte(mi.Extra), &extra) != nil {
			t.Fatalf("mode_info %s: %v", data.ModeInfo, err)
		}
		if !extra.SendFromMe || extra.Content != text || mi.User.UID != 42 || mi.User.Base.Name != "Ann" {
			t.Errorf("multipart %v: mode_info %s", multi, data.ModeInfo)
		}
		m := storedMessage(t, log, "31415", extra.IDStr)
		if m.Text != text || m.Color != "#ff8800" || m.Mode != codec.ModeTop || m.UID != "42" || m.Name != "Ann" {
			t.Errorf("multipart %v: stored %+v", multi, m)
		}
	}
	// Color and mode are optional.
	a := ts.biliSend(t, token, url.Values{"msg": {"plain"}, "roomid": {"7"}}, false)
	var data struct {
		ModeInfo struct {
			Extra string `json:"extra"`
		} `json:"mode_info"`
	}
	var extra struct {
		IDStr string `json:"id_str"`
	}
	if err := json.Unmarshal(a.Data, &data); err != nil || json.Unmarshal([]byte(data.ModeInfo.Extra), &extra) != nil {
		t.Fatalf("%+v: %v", a, err)
	}
	if m := storedMessage(t, log, "7", extra.IDStr); m.Color != codec.DefaultColor || m.Mode != codec.ModeScroll {
		t.Errorf("stored %+v; want white, scrolling", m)
	}
}

func TestBiliSendErrors(t *testing.T) {
	store := policy.NewMemory()
	cfg := authConfig(t, Config{Policy: policy.Config{Store: store, UserLimit: policy.Limit{Rate: 0.001, Burst: 1}}, MaxTextRunes: 10})
	ts := startServer(t, cfg, newMemory(), nil, nil)
	token := mint(t, "42", "Ann", "")
	for _, tt := range []struct {
		name  string
		token string
		form  url.Values
		code  int
	}{
		{"no token", "", sendForm("1", "hi", "", ""), biliCodeNotLoggedIn},
		{"invalid token", token + "x", sendForm("1", "hi", "", ""), biliCodeNotLoggedIn},
		{"no roomid", token, url.Values{"msg": {"hi"}}, biliCodeBadRequest},
		{"roomid 0", token, sendForm("0", "hi", "", ""), biliCodeBadRequest},
		{"no msg", token, url.Values{"roomid": {"1"}}, biliCodeBadRequest},
		{"control character", token, sendForm("1", "a\nb", "", ""), biliCodeBadRequest},
		{"too long", token, sendForm("1", "01234567890", "", ""), biliCodeTooLong},
		{"color", token, sendForm("1", "hi", "16777216", ""), biliCodeBadRequest},
		{"color text", token, sendForm("1", "hi", "#ffffff", ""), biliCodeBadRequest},
		{"mode", token, sendForm("1", "hi", "", "2"), biliCodeBadRequest},
		{"sent", token, sendForm("1", "hi", "", ""), biliCodeOK},
		{"rate", token, sendForm("1", "again", "", ""), biliCodeTooFast},
	} {
		a := ts.biliSend(t, tt.token, tt.form, false)
		if a.Code != tt.code || (tt.code != 0 && (a.Message == "" || a.TTL != 1)) {
			t.Errorf("%s: %+v; want code %d with a message", tt.name, a, tt.code)
		}
	}
	r := ts.do(t, http.MethodPost, biliSendPath, "application/json", []byte(`{"msg":"hi","roomid":1}`))
	if a := checkBili(t, "JSON body", r); a.Code != biliCodeBadRequest {
		t.Errorf("JSON body: %+v; want -400", a)
	}
	r = ts.do(t, http.MethodPost, biliSendPath, "multipart/form-data; boundary=x", []byte("not a form"))
	if a := checkBili(t, "broken multipart", r); a.Code != biliCodeBadRequest {
		t.Errorf("broken multipart: %+v; want -400", a)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.base+biliSendPath, strings.NewReader(sendForm("1", "again", "", "").Encode()))
	req.Header.Set("Content-Type", contentTypeForm)
	req.Header.Set("Authorization", "Bearer "+token)
	r = ts.roundTrip(t, req)
	checkRetryAfter(t, "rate limited", r, 1, 1001)
	if r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("WWW-Authenticate %q on HTTP 200", r.header.Get("WWW-Authenticate"))
	}
	requests := ts.srv.Stats().Requests()
	if requests[RequestKey{http.StatusOK, CodeRateLimited}] != 2 || requests[RequestKey{http.StatusOK, CodeUnauthorized}] != 2 {
		t.Errorf("Stats = %v; want the refused sends counted under their codes", requests)
	}
	// Over the body limit: the same answer as on the native route.
	big := sendForm("1", strings.Repeat("a", 5000), "", "")
	if a := ts.biliSend(t, token, big, false); a.Code != biliCodeBadRequest {
		t.Errorf("large body: %+v; want -400", a)
	}
}

// TestBiliSendPolicy checks that a send meets the room's policy and the
// stream's failures as a native post does.
func TestBiliSendPolicy(t *testing.T) {
	store := policy.NewMemory()
	admin := mint(t, "mod", "Mod", "admin")
	ts := startServer(t, authConfig(t, Config{Policy: policy.Config{Store: store}}), newMemory(), nil, nil)
	r := ts.send(t, http.MethodPut, "/v1/rooms/3/bans/42", admin, `{"seconds":60}`)
	if r.status != http.StatusNoContent {
		t.Fatalf("ban: %d %s", r.status, r.body)
	}
	if a := ts.biliSend(t, mint(t, "42", "Ann", ""), sendForm("3", "hi", "", ""), false); a.Code != biliCodeForbidden {
		t.Errorf("banned: %+v; want -403", a)
	}
	failing := startServer(t, authConfig(t, Config{}), failingLog{}, nil, nil)
	if a := failing.biliSend(t, admin, sendForm("3", "hi", "", ""), true); a.Code != biliCodeUnavailable {
		t.Errorf("stream down: %+v; want -503", a)
	}
}

func TestBiliSendCodes(t *testing.T) {
	for e, want := range map[*Error]int{
		errUnauthorized: -101, errInvalidToken: -101, errForbidden: -403, errBanned: -403, errPrioForbidden: -403,
		errRateLimited: 10031, errSlowMode: 10031, errSpam: 10031, errContentRejected: -400, errEmptyText: -400,
		errUnavailable: -503, errTooManyRooms: -503, errInternal: -500, errInvalidRoomID: -400, errUnsupportedForm: -400,
	} {
		if got := biliSendCode(e); got != want {
			t.Errorf("biliSendCode(%s) = %d; want %d", e.code, got, want)
		}
	}
	cfg := Config{}.withDefaults()
	errs := newLimitErrors(&cfg)
	if got := biliSendCode(errs.textTooLong); got != biliCodeTooLong {
		t.Errorf("biliSendCode(text_too_long) = %d", got)
	}
}

func FuzzDecodeBiliSend(f *testing.F) {
	f.Add([]byte("31415"), []byte("hello [doge]"), []byte("16777215"), []byte("1"))
	f.Add([]byte("1"), []byte("弹幕\xff"), []byte("-1"), []byte("4"))
	f.Add([]byte("007"), []byte("a\u2028b"), []byte(""), []byte("5"))
	f.Add([]byte("18446744073709551615"), []byte("\x00"), []byte("0x10"), []byte("2"))
	cfg := Config{}.withDefaults()
	errs := newLimitErrors(&cfg)
	f.Fuzz(func(t *testing.T, roomID, text, color, mode []byte) {
		room, m, e := decodeBiliSend(biliSendForm{roomID: roomID, text: text, color: color, mode: mode}, &cfg, &errs)
		if e != nil {
			if e.status != http.StatusBadRequest || room != "" {
				t.Fatalf("decodeBiliSend(%q, %q, %q, %q) = %q, %v", roomID, text, color, mode, room, e)
			}
			return
		}
		if !codec.ValidRoom(room) || codec.CheckText(m.Text, cfg.MaxTextRunes) != nil || codec.CheckColor(m.Color) != nil ||
			codec.CheckMode(m.Mode) != nil || m.Text != string(text) {
			t.Fatalf("decodeBiliSend(%q, %q, %q, %q) = %q, %+v", roomID, text, color, mode, room, m)
		}
		if _, err := codec.EncodeStored(m); err != nil {
			t.Fatalf("a decoded send does not encode: %v", err)
		}
	})
}
