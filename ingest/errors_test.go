package ingest

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestErrorAnswers sends one request per error case over a real socket and
// checks status, code, body shape and headers.
func TestErrorAnswers(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), nil, nil)
	const (
		post = http.MethodPost
		get  = http.MethodGet
		js   = "application/json"
		room = "/v1/rooms/r1/danmaku"
	)
	long := strings.Repeat("a", 65)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		status      int
		code        string
		allow       string
	}{
		{"room with space", post, "/v1/rooms/bad%20room/danmaku", js, `{"text":"hi"}`, 400, CodeInvalidRoom, ""},
		{"room with slash", post, "/v1/rooms/a%2Fb/danmaku", js, `{"text":"hi"}`, 404, CodeNotFound, ""},
		{"room too long", post, "/v1/rooms/" + long + "/danmaku", js, `{"text":"hi"}`, 400, CodeInvalidRoom, ""},
		{"history room invalid", get, "/v1/rooms/%C3%A9/danmaku", "", "", 400, CodeInvalidRoom, ""},
		{"online room invalid", get, "/v1/rooms/a!b", "", "", 400, CodeInvalidRoom, ""},
		{"no content type", post, room, "", `{"text":"hi"}`, 415, CodeUnsupportedMediaType, ""},
		{"text/plain", post, room, "text/plain", `{"text":"hi"}`, 415, CodeUnsupportedMediaType, ""},
		{"json prefix", post, room, "application/jsonx", `{"text":"hi"}`, 415, CodeUnsupportedMediaType, ""},
		{"form", post, room, "application/x-www-form-urlencoded", `text=hi`, 415, CodeUnsupportedMediaType, ""},
		{"body one byte too large", post, room, js, `{"text":"hi","pad":"` + strings.Repeat("x", 4096-len(`{"text":"hi","pad":""}`)+1) + `"}`, 413, CodeBodyTooLarge, ""},
		{"empty body", post, room, js, ``, 400, CodeInvalidJSON, ""},
		{"truncated json", post, room, js, `{"text":"hi"`, 400, CodeInvalidJSON, ""},
		{"array", post, room, js, `[]`, 400, CodeInvalidJSON, ""},
		{"text number", post, room, js, `{"text":1}`, 400, CodeInvalidJSON, ""},
		{"trailing data", post, room, js, `{"text":"hi"} {}`, 400, CodeInvalidJSON, ""},
		{"invalid utf-8 in text", post, room, js, "{\"text\":\"h\xffi\"}", 400, CodeInvalidJSON, ""},
		{"invalid utf-8 in unknown field", post, room, js, "{\"text\":\"hi\",\"x\":\"\xc3\x28\"}", 400, CodeInvalidJSON, ""},
		{"invalid utf-8 in key", post, room, js, "{\"text\":\"hi\",\"\xed\xa0\x80\":1}", 400, CodeInvalidJSON, ""},
		{"raw control char in string", post, room, js, "{\"text\":\"a\x01\"}", 400, CodeInvalidJSON, ""},
		{"no text", post, room, js, `{}`, 400, CodeEmptyText, ""},
		{"empty text", post, room, js, `{"text":""}`, 400, CodeEmptyText, ""},
		{"null body", post, room, js, `null`, 400, CodeInvalidJSON, ""},
		{"text too long", post, room, js, `{"text":"` + strings.Repeat("弾", 101) + `"}`, 400, CodeTextTooLong, ""},
		{"newline in text", post, room, js, `{"text":"a\nb"}`, 400, CodeInvalidText, ""},
		{"nul in text", post, room, js, `{"text":"a\u0000"}`, 400, CodeInvalidText, ""},
		{"line separator in text", post, room, js, `{"text":"a\u2028b"}`, 400, CodeInvalidText, ""},
		{"short color", post, room, js, `{"text":"hi","color":"#fff"}`, 400, CodeInvalidColor, ""},
		{"named color", post, room, js, `{"text":"hi","color":"red"}`, 400, CodeInvalidColor, ""},
		{"mode", post, room, js, `{"text":"hi","mode":"left"}`, 400, CodeInvalidMode, ""},
		{"name too long", post, room, js, `{"text":"hi","name":"` + strings.Repeat("名", 33) + `"}`, 400, CodeInvalidName, ""},
		{"name with tab", post, room, js, `{"text":"hi","name":"a\tb"}`, 400, CodeInvalidName, ""},
		{"uid with space", post, room, js, `{"text":"hi","uid":"a b"}`, 400, CodeInvalidUID, ""},
		{"uid too long", post, room, js, `{"text":"hi","uid":"` + long + `"}`, 400, CodeInvalidUID, ""},
		{"since word", get, room + "?since=abc", "", "", 400, CodeInvalidSince, ""},
		{"since empty", get, room + "?since=", "", "", 400, CodeInvalidSince, ""},
		{"since bad seq", get, room + "?since=1-x", "", "", 400, CodeInvalidSince, ""},
		{"limit zero", get, room + "?limit=0", "", "", 400, CodeInvalidLimit, ""},
		{"limit above max", get, room + "?limit=1001", "", "", 400, CodeInvalidLimit, ""},
		{"limit negative", get, room + "?limit=-1", "", "", 400, CodeInvalidLimit, ""},
		{"limit empty", get, room + "?limit=", "", "", 400, CodeInvalidLimit, ""},
		{"limit word", get, room + "?since=1-0&limit=ten", "", "", 400, CodeInvalidLimit, ""},
		{"root", get, "/", "", "", 404, CodeNotFound, ""},
		{"unknown", get, "/nope", "", "", 404, CodeNotFound, ""},
		{"v1", get, "/v1/", "", "", 404, CodeNotFound, ""},
		{"rooms", get, "/v1/rooms/", "", "", 404, CodeNotFound, ""},
		{"room subpath", get, "/v1/rooms/r1/other", "", "", 404, CodeNotFound, ""},
		{"get one comment", get, "/v1/rooms/r1/danmaku/1-0", "", "", 405, CodeMethodNotAllowed, "DELETE, OPTIONS"},
		{"danmaku id subpath", http.MethodDelete, "/v1/rooms/r1/danmaku/1-0/x", "", "", 404, CodeNotFound, ""},
		{"danmaku empty id", http.MethodDelete, "/v1/rooms/r1/danmaku/", "", "", 404, CodeNotFound, ""},
		{"get slowmode", get, "/v1/rooms/r1/slowmode", "", "", 405, CodeMethodNotAllowed, "PUT, OPTIONS"},
		{"slowmode subpath", http.MethodPut, "/v1/rooms/r1/slowmode/x", js, `{"seconds":1}`, 404, CodeNotFound, ""},
		{"bans", get, "/v1/rooms/r1/bans", "", "", 404, CodeNotFound, ""},
		{"bans empty uid", http.MethodPut, "/v1/rooms/r1/bans/", js, `{"seconds":1}`, 404, CodeNotFound, ""},
		{"get ban", get, "/v1/rooms/r1/bans/u1", "", "", 405, CodeMethodNotAllowed, "PUT, DELETE, OPTIONS"},
		{"get filter reload", get, "/v1/admin/filter/reload", "", "", 405, CodeMethodNotAllowed, "POST, OPTIONS"},
		{"negative prio", post, room, js, `{"text":"hi","prio":-1}`, 400, CodeInvalidPrio, ""},
		{"fractional prio", post, room, js, `{"text":"hi","prio":1.5}`, 400, CodeInvalidJSON, ""},
		{"string prio", post, room, js, `{"text":"hi","prio":"1"}`, 400, CodeInvalidJSON, ""},
		{"room trailing slash", get, "/v1/rooms/r1/", "", "", 404, CodeNotFound, ""},
		{"delete danmaku", http.MethodDelete, room, "", "", 405, CodeMethodNotAllowed, "GET, POST, OPTIONS"},
		{"put danmaku", http.MethodPut, room, js, `{"text":"hi"}`, 405, CodeMethodNotAllowed, "GET, POST, OPTIONS"},
		{"post room", post, "/v1/rooms/r1", js, `{}`, 405, CodeMethodNotAllowed, "GET, OPTIONS"},
		{"post healthz", post, "/healthz", js, `{}`, 405, CodeMethodNotAllowed, "GET"},
	}
	for _, tt := range tests {
		r := ts.do(t, tt.method, tt.path, tt.contentType, []byte(tt.body))
		checkError(t, tt.name, r, tt.status, tt.code)
		if got := r.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s: Allow %q; want %q", tt.name, got, tt.allow)
		}
		wantOrigin := ""
		if strings.HasPrefix(tt.path, "/v1/") {
			wantOrigin = "*"
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); got != wantOrigin {
			t.Errorf("%s: Access-Control-Allow-Origin %q; want %q", tt.name, got, wantOrigin)
		}
	}
	// Nothing invalid was stored.
	r := ts.get(t, room)
	if want := `{"room":"r1","msgs":[],"gap":false}`; string(r.body) != want {
		t.Errorf("history after invalid posts = %s; want %s", r.body, want)
	}
}

// TestErrorsUnreadableRequest checks the answers to requests fasthttp
// cannot read: they come from readError, before any handler. Raw sockets
// send exactly the bytes of each case; a body far above the limit is
// announced but not sent, since the server closes the connection after
// answering and a client still writing may see a reset instead.
func TestErrorsUnreadableRequest(t *testing.T) {
	ts := startServer(t, Config{ReadTimeout: 200 * time.Millisecond}, newMemory(), nil, nil)
	tests := []struct {
		name   string
		raw    string
		status int
		code   string
	}{
		{"garbage", "GARBAGE\r\n\r\n", 400, CodeBadRequest},
		{"bad content length", "POST /v1/rooms/r/danmaku HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, CodeBadRequest},
		{"huge header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 8192) + "\r\n\r\n", 431, CodeHeaderTooLarge},
		{"body announced too large", "POST /v1/rooms/r/danmaku HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n", 413, CodeBodyTooLarge},
		{"headers never finished", "POST /v1/rooms/r/danmaku HTTP/1.1\r\nHost: x\r\n", 408, CodeRequestTimeout},
	}
	for _, tt := range tests {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(tt.raw)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: reading response: %v", tt.name, err)
		}
		var body strings.Builder
		_, err = bufio.NewReader(resp.Body).WriteTo(&body)
		resp.Body.Close()
		conn.Close()
		if err != nil {
			t.Fatalf("%s: reading body: %v", tt.name, err)
		}
		checkError(t, tt.name, response{status: resp.StatusCode, header: resp.Header, body: []byte(body.String())}, tt.status, tt.code)
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s: Access-Control-Allow-Origin %q; want *", tt.name, got)
		}
	}
}
