package edge

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/codec"
)

// fuzzOrigin is the one Origin the fuzzed server allows.
const fuzzOrigin = "https://good.example"

// FuzzUpgradeRequest feeds parseUpgrade what a connection would: the bytes
// up to the first blank line. It must always answer with a well-formed
// HTTP response, and with 101 only for a request that meets RFC 6455
// section 4.2.1, names a valid room and since, and comes from an allowed
// Origin, as checkUpgrade (written apart from the parser) judges it.
func FuzzUpgradeRequest(f *testing.F) {
	for _, tt := range badHandshakes {
		f.Add([]byte(tt.request))
	}
	for _, target := range []string{"/ws", "/ws?room=a", "/ws?room=r.1:x-y_z&since=1700000000000-12", "/ws?room=a&since=5"} {
		f.Add([]byte(upgradeRequest(target)))
	}
	f.Add([]byte(upgradeRequest("/ws?room=a") + string(textFrame(`{"type":"join","room":"b"}`))))
	f.Add([]byte(withHeader("/ws", "Connection", "Connection: keep-alive, Upgrade")))
	f.Add([]byte(strings.ReplaceAll(upgradeRequest("/ws"), "\r\n", "\n") + "\r\n\r\n"))
	f.Add([]byte(paddedRequest(9000)))
	f.Add([]byte("GET /ws HTTP/1.1\r\nHost: a\r\nHost: b\r\nUpgrade: websocket\r\nUpgrade: x\r\n\r\n"))
	f.Add([]byte("\x00\xff\r\n\r\n"))
	f.Add([]byte("GET  /ws  HTTP/1.1\r\n\r\n"))
	f.Add([]byte("GET /ws HTTP/1.1\nHost:\nUpgrAde:weBsoCket\nConneCtion:UpgrAde\"\nSeC-WeBSoCket-KeY:000000000000000000000000\nSeC-WeBSoCket-Version:13\r\n\r\n"))
	f.Add([]byte(withHeader("/ws?room=a", "Host", "Host: x\r\nOrigin: "+fuzzOrigin)))
	f.Add([]byte(withHeader("/ws?room=a", "Host", "Host: x\r\nOrigin: https://evil.example")))
	f.Add([]byte(withHeader("/ws", "Host", "Host: x\nOrigin: https://evil.example\n\nOrigin: "+fuzzOrigin)))

	l := newParseLoop(Config{AllowedOrigins: []string{fuzzOrigin}})
	valid := []byte(upgradeRequest("/ws?room=again&since=1-1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		end := bytes.Index(data, crlfcrlf)
		if end < 0 {
			return
		}
		req := data[:end+len(crlfcrlf)]
		before := string(req)
		response, ok := l.parseUpgrade(req)
		if string(req) != before {
			t.Fatalf("parseUpgrade modified its input %q to %q", before, req)
		}
		status := checkResponse(t, req, response)
		want := checkUpgrade(req)
		if ok != (status == http.StatusSwitchingProtocols) {
			t.Fatalf("parseUpgrade(%q) = %q, %v", req, response, ok)
		}
		if ok && want != nil {
			t.Fatalf("parseUpgrade(%q) upgraded a request that is not valid: %v", req, want)
		}
		if ok {
			if l.target.room != "" && !codec.ValidRoom(l.target.room) || l.target.since != nil && l.target.room == "" {
				t.Fatalf("parseUpgrade(%q): target %+v", req, l.target)
			}
		}

		// The loop's state carries nothing over to the next request.
		if response, ok := l.parseUpgrade(valid); !ok || !sameTarget(l.target, upgradeTarget{room: "again", since: &codec.ID{MS: 1, Seq: 1}}) {
			t.Fatalf("after %q, parseUpgrade(valid) = %q, %v, target %+v", req, response, ok, l.target)
		}
	})
}

// checkResponse checks that response is one complete HTTP/1.1 response and
// returns its status. A 101 must accept the request's key; any other
// status must be one the server may answer a bad request with.
func checkResponse(t *testing.T, req, response []byte) int {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(response))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("parseUpgrade(%q) answered %q: %v", req, response, err)
	}
	if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		t.Fatalf("parseUpgrade(%q) answered %q: protocol %s", req, response, resp.Proto)
	}
	switch resp.StatusCode {
	case http.StatusSwitchingProtocols:
		key := lastHeader(req, "sec-websocket-key")
		if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
			t.Fatalf("parseUpgrade(%q): Sec-WebSocket-Accept %q; want %q", req, got, want)
		}
		if br.Buffered() != 0 {
			t.Fatalf("parseUpgrade(%q) answered %q: bytes after the response", req, response)
		}
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed,
		http.StatusUpgradeRequired, http.StatusHTTPVersionNotSupported:
		body := new(bytes.Buffer)
		if _, err := body.ReadFrom(resp.Body); err != nil {
			t.Fatalf("parseUpgrade(%q) answered %q: body: %v", req, response, err)
		}
		if br.Buffered() != 0 {
			t.Fatalf("parseUpgrade(%q) answered %q: bytes after the body", req, response)
		}
	default:
		t.Fatalf("parseUpgrade(%q) answered %q: unexpected status", req, response)
	}
	return resp.StatusCode
}

// checkUpgrade judges a request by RFC 6455 section 4.2.1 and the server's
// own rules on the target. It is lenient where the parser is (bare LF line
// ends, any case in header names and in the websocket token, spaces around
// values) and otherwise strict, and it shares no code with the parser.
func checkUpgrade(req []byte) error {
	text := strings.TrimSuffix(string(req), "\r\n\r\n")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	parts := strings.Split(lines[0], " ")
	if len(parts) != 3 || parts[0] != "GET" {
		return errors.New("not a GET request line")
	}
	if parts[2] != "HTTP/1.1" {
		major, minor, ok := http.ParseHTTPVersion(parts[2])
		if !ok || major != 1 || minor < 1 {
			return errors.New("not HTTP/1.1 or a later 1.x")
		}
	}
	if err := checkTarget(parts[1]); err != nil {
		return err
	}
	var host, upgrade, connection, version, key bool
	for _, line := range lines[1:] {
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return errors.New("header line without a colon")
		}
		value = strings.Trim(value, " \t")
		switch strings.ToLower(strings.Trim(name, " \t")) {
		case "host":
			host = true
		case "upgrade":
			upgrade = strings.EqualFold(value, "websocket")
			if !upgrade {
				return errors.New("Upgrade is not websocket")
			}
		case "connection":
			connection = hasToken(value, "upgrade")
			if !connection {
				return errors.New("Connection has no upgrade token")
			}
		case "sec-websocket-version":
			version = value == "13"
			if !version {
				return errors.New("Sec-WebSocket-Version is not 13")
			}
		case "sec-websocket-key":
			key = len(value) == 24
			if !key {
				return errors.New("Sec-WebSocket-Key is not 24 bytes")
			}
		}
	}
	if !host || !upgrade || !connection || !version || !key {
		return errors.New("a required header is missing")
	}
	if origin := lastHeader(req, "origin"); origin != "" && origin != fuzzOrigin {
		return errors.New("Origin not allowed")
	}
	return nil
}

// checkTarget checks the request target: /ws with an optional valid room
// and, with a room, an optional valid since.
func checkTarget(target string) error {
	path, rawQuery, _ := strings.Cut(target, "?")
	if path != "/ws" {
		return errors.New("path is not /ws")
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return err
	}
	room, hasRoom := query.Get("room"), query.Has("room")
	if hasRoom && !codec.ValidRoom(room) {
		return errors.New("invalid room")
	}
	if query.Has("since") {
		if !hasRoom {
			return errors.New("since without room")
		}
		if _, err := codec.ParseID(query.Get("since")); err != nil {
			return err
		}
	}
	return nil
}

// hasToken reports whether value holds token, in any case, as one of its
// runs of token characters (RFC 9110 section 5.6.2): the parser skips
// what lies between tokens, so "Upgrade\"" holds upgrade too.
func hasToken(value, token string) bool {
	isSeparator := func(r rune) bool {
		return r > 0x7e || r <= ' ' || !strings.ContainsRune("!#$%&'*+-.^_`|~", r) &&
			!('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}
	for _, v := range strings.FieldsFunc(value, isSeparator) {
		if strings.EqualFold(v, token) {
			return true
		}
	}
	return false
}

// lastHeader returns the value of the last header called name (in lower
// case) in req, up to the first blank line.
func lastHeader(req []byte, name string) string {
	var value string
	lines := strings.Split(strings.ReplaceAll(string(req), "\r\n", "\n"), "\n")
	for _, line := range lines[1:] {
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.ToLower(strings.Trim(k, " \t")) == name {
			value = strings.Trim(v, " \t")
		}
	}
	return value
}

// acceptKey computes Sec-WebSocket-Accept for key (RFC 6455 section 4.2.2).
func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}
