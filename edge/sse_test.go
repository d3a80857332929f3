package edge

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/stream"
)

// sseRequestFor is a GET request for target with extra header lines.
func sseRequestFor(target, headers string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" + headers + "\r\n"
}

// sseClient reads the events of a /sse response.
type sseClient struct {
	t    testing.TB
	rc   *rawClient
	resp *http.Response
	body *bufio.Reader
	// pings counts the comments read.
	pings int
}

// sseEvent is one event: its id ("" for none) and its data.
type sseEvent struct {
	id   string
	data string
}

// dialSSE requests target with extra header lines and checks the answer is
// an event stream.
func (e *testEnv) dialSSE(t testing.TB, target, headers string) *sseClient {
	t.Helper()
	rc := e.rawConn(t)
	rc.write([]byte(sseRequestFor(target, headers)))
	_ = rc.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "no-cache") {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %v %q; want 200, an uncached event stream", target, resp.StatusCode, resp.Header, body)
	}
	return &sseClient{t: t, rc: rc, resp: resp, body: bufio.NewReader(resp.Body)}
}

// nextErr reads the next event, counting the comments before it.
func (c *sseClient) nextErr() (sseEvent, error) {
	var ev sseEvent
	data := false
	for {
		_ = c.rc.conn.SetReadDeadline(time.Now().Add(waitTimeout))
		line, err := c.body.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && data:
			return ev, nil
		case line == "":
		case strings.HasPrefix(line, ":"):
			c.pings++
		case strings.HasPrefix(line, "id: "):
			ev.id = line[len("id: "):]
		case strings.HasPrefix(line, "data: ") && !data:
			ev.data, data = line[len("data: "):], true
		default:
			return ev, errors.New("unexpected line " + line)
		}
	}
}

// next reads the next event and decodes its data.
func (c *sseClient) next() (sseEvent, serverMessage) {
	c.t.Helper()
	ev, err := c.nextErr()
	if err != nil {
		c.t.Fatalf("read event: %v", err)
	}
	m, err := decodeServerMessage([]byte(ev.data))
	if err != nil {
		c.t.Fatalf("event data %q: %v", ev.data, err)
	}
	return ev, m
}

// readIDs reads batches until it has n comments, checking that each batch
// carries the ID of its newest comment as event id, and returns the
// comments' IDs and the last event id.
func (c *sseClient) readIDs(n int) (ids []string, last string) {
	c.t.Helper()
	for len(ids) < n {
		ev, m := c.next()
		if m.Type != "batch" {
			continue
		}
		if m.Gap || m.Dropped > 0 {
			c.t.Fatalf("batch %+v reports a loss", m)
		}
		for _, it := range m.Msgs {
			ids = append(ids, it.ID)
		}
		if len(m.Msgs) > 0 && ev.id != m.Msgs[len(m.Msgs)-1].ID {
			c.t.Fatalf("batch event id %q; want its newest comment's %q", ev.id, m.Msgs[len(m.Msgs)-1].ID)
		}
		last = ev.id
	}
	return ids, last
}

// postN posts n comments to room and returns their IDs.
func (e *testEnv) postN(t testing.TB, room string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.post(t, room, "sse comment").String()
	}
	return ids
}

func TestSSEStream(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{AllowedOrigins: []string{"https://good.example"}}})
	c := env.dialSSE(t, "/sse?room=live", "Origin: https://good.example\r\n")
	if got := c.resp.Header.Get("Access-Control-Allow-Origin"); got != "https://good.example" {
		t.Errorf("Access-Control-Allow-Origin = %q; want the allowed origin", got)
	}
	if _, m := c.next(); m.Type != "joined" || m.Room != "live" {
		t.Fatalf("first event %+v; want joined", m)
	}
	want := env.postN(t, "live", 5)
	if got, _ := c.readIDs(len(want)); !slices.Equal(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
	if n := env.srv.Stats().OpenConns(TransportSSE); n != 1 {
		t.Errorf("OpenConns(sse) = %d; want 1", n)
	}
}

// TestSSEResumeAcrossRestart: a viewer that reconnects with the last event
// id it got (as EventSource does) to an edge restarted meanwhile gets
// every comment posted while it was away, once, then the live ones.
func TestSSEResumeAcrossRestart(t *testing.T) {
	t.Parallel()
	log := stream.NewMemory(stream.MemoryConfig{})
	first := startEnv(t, envConfig{log: log})
	c := first.dialSSE(t, "/sse?room=r", "")
	c.next() // joined
	before := first.postN(t, "r", 4)
	got, last := c.readIDs(len(before))
	if !slices.Equal(got, before) {
		t.Fatalf("got %v; want %v", got, before)
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.nextErr(); err == nil {
		t.Fatal("the stream went on after the edge stopped")
	}
	away := first.postN(t, "r", 6)

	second := startEnv(t, envConfig{log: log})
	c = second.dialSSE(t, "/sse?room=r", "Last-Event-ID: "+last+"\r\n")
	c.next() // joined
	live := second.postN(t, "r", 3)
	want := append(away, live...)
	if got, _ := c.readIDs(len(want)); !slices.Equal(got, want) {
		t.Errorf("after the restart got %v; want %v", got, want)
	}
}

func TestSSEHeartbeat(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{PingInterval: 30 * time.Millisecond, SweepInterval: 10 * time.Millisecond}})
	c := env.dialSSE(t, "/sse?room=quiet", "")
	c.next() // joined
	time.Sleep(100 * time.Millisecond)
	env.post(t, "quiet", "after a while")
	if _, m := c.next(); m.Type != "batch" || c.pings == 0 {
		t.Errorf("got %+v after %d heartbeats; want a batch after at least one", m, c.pings)
	}
}

// TestSSEIgnoresClientBytes: what an SSE client sends after its request is
// discarded, not parsed as WebSocket frames.
func TestSSEIgnoresClientBytes(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	c := env.dialSSE(t, "/sse?room=x", "")
	c.next() // joined
	c.rc.write([]byte("GET /sse?room=y HTTP/1.1\r\n\r\n\x88\x80junk"))
	want := env.postN(t, "x", 2)
	if got, _ := c.readIDs(2); !slices.Equal(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
}

func TestSSERequests(t *testing.T) {
	t.Parallel()
	verifier, mint := testTokens(t)
	valid := mint(time.Hour)
	env := startEnv(t, envConfig{edge: Config{Tokens: verifier, AllowedOrigins: []string{"https://good.example"}}})
	tests := []struct {
		name    string
		request string
		status  int
	}{
		{"token in query", sseRequestFor("/sse?room=a&token="+valid, ""), http.StatusOK},
		{"bearer header", sseRequestFor("/sse?room=a", "Authorization: Bearer "+valid+"\r\n"), http.StatusOK},
		{"thinned", sseRequestFor("/sse?room=a&max_rate=5&token="+valid, ""), http.StatusOK},
		{"resuming", sseRequestFor("/sse?room=a&token="+valid, "last-event-id: 12-3\r\n"), http.StatusOK},
		{"no token", sseRequestFor("/sse?room=a", ""), http.StatusUnauthorized},
		{"garbage token", sseRequestFor("/sse?room=a&token=x.y.z", ""), http.StatusUnauthorized},
		{"origin not allowed", sseRequestFor("/sse?room=a&token="+valid, "Origin: https://evil.example\r\n"), http.StatusForbidden},
		{"no room", sseRequestFor("/sse?token="+valid, ""), http.StatusBadRequest},
		{"invalid room", sseRequestFor("/sse?room=a%20b&token="+valid, ""), http.StatusBadRequest},
		{"invalid since", sseRequestFor("/sse?room=a&since=x&token="+valid, ""), http.StatusBadRequest},
		{"invalid Last-Event-ID", sseRequestFor("/sse?room=a&token="+valid, "Last-Event-ID: nope\r\n"), http.StatusBadRequest},
		{"invalid max_rate", sseRequestFor("/sse?room=a&max_rate=-1&token="+valid, ""), http.StatusBadRequest},
		{"two origins", sseRequestFor("/sse?room=a&token="+valid, "Origin: https://good.example\r\nOrigin: https://evil.example\r\n"), http.StatusBadRequest},
		{"POST", "POST /sse?room=a HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusMethodNotAllowed},
		{"HTTP/2 preface", "GET /sse?room=a HTTP/2.0\r\n\r\n", http.StatusBadRequest},
		{"folded header", sseRequestFor("/sse?room=a&token="+valid, "X-A: b\r\n c\r\n"), http.StatusBadRequest},
		// What follows the request is ignored (TestSSEIgnoresClientBytes).
		{"pipelined", sseRequestFor("/sse?room=a&token="+valid, "") + "GET / HTTP/1.1\r\n\r\n", http.StatusOK},
	}
	for _, tt := range tests {
		rc := env.rawConn(t)
		rc.write([]byte(tt.request))
		_ = rc.conn.SetReadDeadline(time.Now().Add(waitTimeout))
		resp, err := http.ReadResponse(rc.br, nil)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d; want %d", tt.name, resp.StatusCode, tt.status)
		}
		_ = rc.conn.Close()
	}
}

// TestSSETokenExpiry: the stream of a viewer whose token expires ends.
func TestSSETokenExpiry(t *testing.T) {
	t.Parallel()
	verifier, mint := testTokens(t)
	token := mint(1500 * time.Millisecond)
	env := startEnv(t, envConfig{edge: Config{Tokens: verifier, SweepInterval: 20 * time.Millisecond}})
	c := env.dialSSE(t, "/sse?room=a&token="+token, "")
	c.next() // joined
	for {
		if _, err := c.nextErr(); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("stream ended with %v; want the end of the response", err)
			}
			break
		}
	}
	waitFor(t, "the close to be counted", func() bool {
		for _, cl := range env.srv.Stats().Closes() {
			if cl.Reason == ClosePolicy {
				return true
			}
		}
		return false
	})
}

func TestIsSSE(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"GET /sse?room=a HTTP/1.1\r\n\r\n", true},
		{"GET /sse HTTP/1.1\r\n\r\n", true},
		{"POST /sse HTTP/1.1\r\n\r\n", true},
		{"GET /ssex HTTP/1.1\r\n\r\n", false},
		{"GET /ws?room=a HTTP/1.1\r\n\r\n", false},
		{"GET /sse", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isSSE([]byte(tt.in)); got != tt.want {
			t.Errorf("isSSE(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseSSERequest(t *testing.T) {
	tests := []struct {
		in     string
		want   sseRequest
		status int
	}{
		{"GET /sse?room=a HTTP/1.1\r\nHost: x\r\n\r\n", sseRequest{query: "room=a"}, 0},
		{"GET /sse HTTP/1.0\r\n\r\n", sseRequest{}, 0},
		{"GET /sse?room=a HTTP/1.1\r\norigin:  https://o.example \r\nLAST-EVENT-ID: 1-2\r\nAuthorization: Bearer t\r\n\r\n",
			sseRequest{query: "room=a", origin: "https://o.example", lastEventID: "1-2", authorization: "Bearer t"}, 0},
		{"GET /sse HTTP/1.1\r\nX: \x01\r\n\r\n", sseRequest{}, 400},
		{"GET /sse HTTP/1.1\r\n: v\r\n\r\n", sseRequest{}, 400},
		{"GET /sse HTTP/1.1\r\nNo colon\r\n\r\n", sseRequest{}, 400},
		{"GET /sse HTTP/1.1\r\nLast-Event-ID: 1\r\nLast-Event-ID: 2\r\n\r\n", sseRequest{}, 400},
		{"GET /sse?\x7f HTTP/1.1\r\n\r\n", sseRequest{}, 400},
		{"GET /ws HTTP/1.1\r\n\r\n", sseRequest{}, 400},
		{"DELETE /sse HTTP/1.1\r\n\r\n", sseRequest{}, 405},
		{"GET /sse HTTP/1.1\r\n", sseRequest{}, 400},
		{"GET /sse HTTP/1.1", sseRequest{}, 400},
	}
	for _, tt := range tests {
		got, rej := parseSSERequest([]byte(tt.in))
		status := 0
		if rej != nil {
			status = rej.status
		}
		if status != tt.status || rej == nil && got != tt.want {
			t.Errorf("parseSSERequest(%q) = %+v, %v; want %+v, status %d", tt.in, got, rej, tt.want, tt.status)
		}
	}
}

func FuzzParseSSERequest(f *testing.F) {
	f.Add([]byte(sseRequestFor("/sse?room=a&since=1-2&max_rate=5", "Origin: https://o.example\r\nLast-Event-ID: 3-4\r\n")))
	f.Add([]byte("GET /sse HTTP/1.0\r\nAuthorization: Bearer x\r\n\r\n"))
	f.Add([]byte("POST /sse HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, req []byte) {
		r, rej := parseSSERequest(req)
		if rej != nil {
			if rej.status != 400 && rej.status != 405 {
				t.Fatalf("parseSSERequest(%q): status %d", req, rej.status)
			}
			return
		}
		for _, v := range []string{r.query, r.origin, r.lastEventID, r.authorization} {
			if strings.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("parseSSERequest(%q) kept a control character in %q", req, v)
			}
		}
		// What it accepts is admitted or refused as a whole, without a
		// panic, and an allowed origin is echoed on one header line.
		var target upgradeTarget
		if target.fromSSE(&r) == nil {
			head := appendSSEResponse(nil, []string{r.origin}, r.origin)
			if strings.Count(string(head), "\r\n") != 8 && r.origin != "" || !strings.HasSuffix(string(head), "\r\n\r\n") {
				t.Fatalf("response head %q", head)
			}
		}
	})
}

// TestSSEEventsAreOneLine: a stored comment whose JSON holds line breaks
// between tokens still reaches an SSE viewer as one data line.
func TestSSEEventsAreOneLine(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	c := env.dialSSE(t, "/sse?room=nl", "")
	c.next() // joined
	id, err := env.log.Append(t.Context(), "nl", []byte("{\"uid\":\"u\",\r\n\"name\":\"n\",\n\"text\":\"two\\nlines\",\"color\":\"#ffffff\",\"mode\":\"scroll\",\"ts\":1}"))
	if err != nil {
		t.Fatal(err)
	}
	_, m := c.next()
	if m.Type != "batch" || len(m.Msgs) != 1 || m.Msgs[0].ID != id.String() || m.Msgs[0].Text != "two\nlines" {
		t.Errorf("got %+v; want the comment %s", m, id)
	}
}
