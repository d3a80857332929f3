package edge

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/stream"
)

var (
	stream1700 = codec.ID{MS: 1700000000000, Seq: 3}
	stream12   = codec.ID{MS: 12}
)

// sameTarget reports whether a and b name the same room and position.
func sameTarget(a, b upgradeTarget) bool {
	if a.room != b.room || (a.since == nil) != (b.since == nil) {
		return false
	}
	return a.since == nil || *a.since == *b.since
}

// newParseLoop returns a loop of a server configured with cfg, wired as
// the server wires its loops, for calling parseUpgrade: it needs no event
// loop and does no I/O.
func newParseLoop(cfg Config) *loop {
	logger := slog.New(slog.DiscardHandler)
	hub := fanout.New(fanout.Config{}, stream.NewMemory(stream.MemoryConfig{}), logger)
	return newLoop(New(cfg, hub, logger), nil)
}

// withHeader returns upgradeRequest(target) with header line replaced by
// line, or removed when line is empty.
func withHeader(target, header, line string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(upgradeRequest(target), "\r\n") {
		if strings.HasPrefix(l, header+":") {
			if line == "" {
				continue
			}
			l = line
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return strings.TrimSuffix(b.String(), "\r\n")
}

// badHandshakes are complete upgrade requests that must be refused.
var badHandshakes = []struct {
	name    string
	request string
	status  int
}{
	{"wrong path", upgradeRequest("/chat"), 404},
	{"root path", upgradeRequest("/"), 404},
	{"path below /ws", upgradeRequest("/ws/x?room=a"), 404},
	{"bad room", upgradeRequest("/ws?room=bad%20room"), 400},
	{"empty room", upgradeRequest("/ws?room="), 400},
	{"long room", upgradeRequest("/ws?room=" + strings.Repeat("r", 65)), 400},
	{"bad since", upgradeRequest("/ws?room=a&since=abc"), 400},
	{"since with three parts", upgradeRequest("/ws?room=a&since=1-2-3"), 400},
	{"since without room", upgradeRequest("/ws?since=1-0"), 400},
	{"empty since", upgradeRequest("/ws?room=a&since="), 400},
	{"malformed query", upgradeRequest("/ws?room=%zz"), 400},
	{"POST", strings.Replace(upgradeRequest("/ws"), "GET", "POST", 1), 405},
	{"HTTP/1.0", strings.Replace(upgradeRequest("/ws"), "HTTP/1.1", "HTTP/1.0", 1), 505},
	{"no Upgrade", withHeader("/ws", "Upgrade", ""), 400},
	{"Upgrade h2c", withHeader("/ws", "Upgrade", "Upgrade: h2c"), 400},
	{"no Connection", withHeader("/ws", "Connection", ""), 400},
	{"Connection close", withHeader("/ws", "Connection", "Connection: close"), 400},
	{"no Host", withHeader("/ws", "Host", ""), 400},
	{"no key", withHeader("/ws", "Sec-WebSocket-Key", ""), 400},
	{"short key", withHeader("/ws", "Sec-WebSocket-Key", "Sec-WebSocket-Key: abc"), 400},
	{"no version", withHeader("/ws", "Sec-WebSocket-Version", ""), 400},
	{"version 8", withHeader("/ws", "Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"), 426},
	{"header without colon", withHeader("/ws", "Host", "Host 127.0.0.1"), 400},
	{"garbage", "hello\r\n\r\n", 400},
	{"blank request line", "\r\n\r\n", 400},
}

func TestParseUpgrade(t *testing.T) {
	t.Parallel()
	l := newParseLoop(Config{})
	for _, tt := range badHandshakes {
		response, ok := l.parseUpgrade([]byte(tt.request))
		if ok {
			t.Errorf("%s: parseUpgrade(%q) = %q, true; want false", tt.name, tt.request, response)
			continue
		}
		if got := statusOf(response); got != tt.status {
			t.Errorf("%s: parseUpgrade(%q) status %d; want %d (%q)", tt.name, tt.request, got, tt.status, response)
		}
	}

	good := []struct {
		target string
		want   upgradeTarget
	}{
		{"/ws", upgradeTarget{}},
		{"/ws?room=a", upgradeTarget{room: "a"}},
		{"/ws?room=a.b:c-d_E9&since=1700000000000-3", upgradeTarget{room: "a.b:c-d_E9", since: &stream1700}},
		{"/ws?room=a&since=12", upgradeTarget{room: "a", since: &stream12}},
		{"/ws?other=1", upgradeTarget{}},
	}
	for _, tt := range good {
		response, ok := l.parseUpgrade([]byte(upgradeRequest(tt.target)))
		if !ok || statusOf(response) != 101 || !strings.Contains(string(response), "Sec-WebSocket-Accept: "+testAccept+"\r\n") {
			t.Errorf("parseUpgrade(%s) = %q, %v; want 101 with the accept key", tt.target, response, ok)
			continue
		}
		if !sameTarget(l.target, tt.want) {
			t.Errorf("parseUpgrade(%s): target %+v; want %+v", tt.target, l.target, tt.want)
		}
	}

	lenient := []string{
		strings.ReplaceAll(upgradeRequest("/ws"), "Upgrade: websocket", "upgrade: WebSocket"),
		withHeader("/ws", "Connection", "Connection: keep-alive, Upgrade"),
		withHeader("/ws", "Host", "Host: example.com:8080"),
		withHeader("/ws", "Host", "Host: x\r\nOrigin: https://example.com\r\nSec-WebSocket-Protocol: chat"),
	}
	for _, req := range lenient {
		if response, ok := l.parseUpgrade([]byte(req)); !ok {
			t.Errorf("parseUpgrade(%q) = %q, false; want 101", req, response)
		}
	}

	l = newParseLoop(Config{AllowedOrigins: []string{"https://good.example"}})
	for _, tt := range []struct {
		origin string
		status int
	}{
		{"Origin: https://good.example", 101},
		{"Origin: https://evil.example", 403},
		{"Origin: https://good.example\r\nOrigin: https://evil.example", 403},
		{"Origin: https://evil.example\r\nOrigin: https://good.example", 101},
		{"Origin:", 101},
		{"X-Not-Origin: https://evil.example", 101},
	} {
		req := withHeader("/ws?room=a", "Host", "Host: x\r\n"+tt.origin)
		if response, _ := l.parseUpgrade([]byte(req)); statusOf(response) != tt.status {
			t.Errorf("parseUpgrade(%q) = %q; want status %d", req, response, tt.status)
		}
	}
}

// TestBadHandshakes sends each refused request to a server and checks the
// HTTP answer and that the connection is closed after it.
func TestBadHandshakes(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	for _, tt := range badHandshakes {
		t.Run(tt.name, func(t *testing.T) {
			rc := env.rawConn(t)
			rc.write([]byte(tt.request))
			resp, body := rc.readResponse()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d (%q); want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status == http.StatusUpgradeRequired && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Errorf("426 without Sec-WebSocket-Version: 13: %v", resp.Header)
			}
			rc.expectEOF()
		})
	}
	stats := env.srv.Stats()
	if got, want := stats.Rejected.Load(), uint64(len(badHandshakes)); got != want {
		t.Errorf("Stats().Rejected = %d; want %d", got, want)
	}
	if got := stats.Upgraded.Load(); got != 0 {
		t.Errorf("Stats().Upgraded = %d; want 0", got)
	}
}

// paddedRequest returns an upgrade request of exactly size bytes.
func paddedRequest(size int) string {
	base := upgradeRequest("/ws")
	const header = "X-Pad: \r\n"
	return strings.Replace(base, "\r\n\r\n", "\r\n"+header[:7]+strings.Repeat("p", size-len(base)-len(header))+"\r\n\r\n", 1)
}

func TestHandshakeSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 1024
	env := startEnv(t, envConfig{edge: Config{MaxHandshakeBytes: limit}})

	t.Run("at the limit", func(t *testing.T) {
		req := paddedRequest(limit)
		if len(req) != limit {
			t.Fatalf("paddedRequest(%d) has %d bytes", limit, len(req))
		}
		rc := env.rawConn(t)
		rc.write([]byte(req))
		rc.expectUpgraded()
	})
	for _, tt := range []struct {
		name, request string
	}{
		{"complete, one byte over", paddedRequest(limit + 1)},
		{"incomplete, over", "GET /ws HTTP/1.1\r\nX-Pad: " + strings.Repeat("p", 2*limit)},
		{"incomplete, at the limit", "GET /ws HTTP/1.1\r\nX-Pad: " + strings.Repeat("p", limit-len("GET /ws HTTP/1.1\r\nX-Pad: "))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := env.rawConn(t)
			rc.write([]byte(tt.request))
			resp, body := rc.readResponse()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("status %d (%q); want 431", resp.StatusCode, body)
			}
			rc.expectEOF()
		})
	}
}

func TestHandshakeTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	env := startEnv(t, envConfig{edge: Config{HandshakeTimeout: timeout, SweepInterval: 50 * time.Millisecond}})
	for _, tt := range []struct {
		name, sent string
	}{
		{"silent", ""},
		{"partial request", "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			rc := env.rawConn(t)
			if tt.sent != "" {
				rc.writeSlowly([]byte(tt.sent))
			}
			resp, body := rc.readResponse()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("status %d (%q); want 408", resp.StatusCode, body)
			}
			if elapsed := time.Since(start); elapsed < timeout {
				t.Errorf("408 after %v; want it after the handshake timeout %v", elapsed, timeout)
			}
			rc.expectEOF()
		})
	}
	// A quick handshake is not cut off by the sweep.
	rc := env.rawUpgrade(t, "/ws")
	time.Sleep(2 * timeout)
	rc.write(clientFrame(true, ws.OpPing, []byte("alive")))
	if h, payload := rc.readFrame(); h.OpCode != ws.OpPong || string(payload) != "alive" {
		t.Errorf("got %v %q; want pong alive", h.OpCode, payload)
	}
}

// TestByteByByte sends the handshake and then frames one byte at a time:
// every partial header and payload must wait for the rest.
func TestByteByByte(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{MaxMessageBytes: 128 << 10}})
	rc := env.rawConn(t)
	rc.writeSlowly([]byte(upgradeRequest("/ws")))
	rc.expectUpgraded()

	rc.writeSlowly(textFrame(`{"type":"join","room":"slow"}`))
	if m := rc.readMessage(); m.Type != "joined" || m.Room != "slow" {
		t.Fatalf("got %+v; want joined slow", m)
	}
	rc.writeSlowly(clientFrame(true, ws.OpPing, []byte("tick")))
	if h, payload := rc.readFrame(); h.OpCode != ws.OpPong || string(payload) != "tick" {
		t.Fatalf("got %v %q; want pong tick", h.OpCode, payload)
	}
	// A 16-bit length, in fragments.
	join := `{"type":"join","room":"slow2","pad":"` + strings.Repeat("x", 200) + `"}`
	rc.writeSlowly(clientFrame(false, ws.OpText, []byte(join[:150])))
	rc.writeSlowly(clientFrame(true, ws.OpContinuation, []byte(join[150:])))
	if m := rc.readMessage(); m.Type != "joined" || m.Room != "slow2" {
		t.Fatalf("got %+v; want joined slow2", m)
	}
	// A 64-bit length, its header split and its payload in pieces.
	join = `{"type":"join","room":"big","pad":"` + strings.Repeat("y", 70000) + `"}`
	frame := textFrame(join)
	rc.writeSlowly(frame[:12])
	for rest := frame[12:]; len(rest) > 0; {
		n := min(len(rest), 8<<10)
		rc.write(rest[:n])
		rest = rest[n:]
		time.Sleep(time.Millisecond)
	}
	if m := rc.readMessage(); m.Type != "joined" || m.Room != "big" {
		t.Fatalf("got %+v; want joined big", m)
	}
	id := env.post(t, "slow", "hello")
	if m := rc.readMessage(); m.Type != "batch" || m.Room != "slow" || len(m.Msgs) != 1 || m.Msgs[0].ID != id.String() {
		t.Fatalf("got %+v; want the batch of %s", m, id)
	}
}

// TestHandshakeWithFrames sends the upgrade request and frames in one
// write: the bytes after the request are frames, not part of it.
func TestHandshakeWithFrames(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	rc := env.rawConn(t)
	rc.write([]byte(upgradeRequest("/ws?room=first") +
		string(textFrame(`{"type":"join","room":"second"}`)) +
		string(clientFrame(true, ws.OpPing, []byte("p")))))
	rc.expectUpgraded()
	// The joins complete on other goroutines; the pong is immediate.
	want := map[string]bool{"joined first": true, "joined second": true, "pong p": true}
	for len(want) > 0 {
		h, payload := rc.readFrame()
		var got string
		switch h.OpCode {
		case ws.OpPong:
			got = "pong " + string(payload)
		case ws.OpText:
			m, err := decodeServerMessage(payload)
			if err != nil {
				t.Fatal(err)
			}
			got = m.Type + " " + m.Room
		}
		if !want[got] {
			t.Fatalf("got %v %q; want one of %v", h.OpCode, payload, want)
		}
		delete(want, got)
	}
}

// statusOf returns the status code of an HTTP response, or 0.
func statusOf(response []byte) int {
	rest, ok := strings.CutPrefix(string(response), "HTTP/1.1 ")
	if !ok || len(rest) < 4 || rest[3] != ' ' {
		return 0
	}
	code := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return 0
		}
		code = code*10 + int(c-'0')
	}
	return code
}
