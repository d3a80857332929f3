package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// testServer is a Server listening on a loopback port with an HTTP client.
type testServer struct {
	srv    *Server
	base   string // "http://127.0.0.1:port"
	addr   string
	client *http.Client
}

// startServer serves New(cfg, log, presence, logger) on 127.0.0.1:0 and
// shuts it down, checking Serve returned nil, when the test ends.
func startServer(t *testing.T, cfg Config, log stream.Log, presence Presence, logger *slog.Logger) *testServer {
	t.Helper()
	if presence == nil {
		presence = fixedPresence{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return serveServer(t, New(cfg, log, presence, logger))
}

// serveServer serves srv on 127.0.0.1:0 and shuts it down, checking Serve
// returned nil, when the test ends.
func serveServer(t *testing.T, srv *Server) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ts := &testServer{
		srv:    srv,
		addr:   ln.Addr().String(),
		base:   "http://" + ln.Addr().String(),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}},
	}
	t.Cleanup(func() {
		ts.client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
	close  bool // the server sent Connection: close
}

func (ts *testServer) do(t *testing.T, method, path, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return ts.roundTrip(t, req)
}

func (ts *testServer) post(t *testing.T, room, body string) response {
	t.Helper()
	return ts.do(t, http.MethodPost, "/v1/rooms/"+room+"/danmaku", "application/json", []byte(body))
}

func (ts *testServer) get(t *testing.T, path string) response {
	t.Helper()
	return ts.do(t, http.MethodGet, path, "", nil)
}

// checkError checks r is an error answer with status and code, in the
// exact shape {"error":{"code":"...","message":"..."}}.
func checkError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d; want %d (body %s)", what, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q; want application/json", what, ct)
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Errorf("%s: body %s: %v", what, r.body, err)
		return
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("%s: error %+v; want code %q and a message", what, e.Error, code)
	}
}

// postResult is the body of a 201.
type postResult struct {
	ID string `json:"id"`
	TS int64  `json:"ts"`
}

func decodeStrict(t *testing.T, body []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
}

// fixedPresence reports a fixed count for every room, or err.
type fixedPresence struct {
	online int
	err    error
}

func (p fixedPresence) Online(ctx context.Context, room string) (int, error) {
	return p.online, p.err
}

// mapPresence reports the count of each room it knows.
type mapPresence map[string]int

func (p mapPresence) Online(ctx context.Context, room string) (int, error) {
	return p[room], nil
}

// hangingPresence answers only when ctx ends.
type hangingPresence struct{}

func (hangingPresence) Online(ctx context.Context, room string) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

var errBroken = errors.New("test: log is broken")

// failingLog is a log whose Append and Range fail. It is a plain
// stream.Log, not a BatchAppender, so that a batch appends through Append.
type failingLog struct{ stream.Log }

func (failingLog) Append(ctx context.Context, room string, data []byte) (codec.ID, error) {
	return codec.ID{}, errBroken
}

func (failingLog) Range(ctx context.Context, q stream.Query) (stream.Page, error) {
	return stream.Page{}, errBroken
}

// hangingLog is a Memory whose Append and Range return only when ctx ends;
// they record the deadline they were given.
type hangingLog struct {
	*stream.Memory
	mu        sync.Mutex
	deadlines []time.Duration // time left until the deadline, at entry
}

func (l *hangingLog) wait(ctx context.Context) error {
	deadline, ok := ctx.Deadline()
	l.mu.Lock()
	if ok {
		l.deadlines = append(l.deadlines, time.Until(deadline))
	} else {
		l.deadlines = append(l.deadlines, -1)
	}
	l.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (l *hangingLog) Append(ctx context.Context, room string, data []byte) (codec.ID, error) {
	return codec.ID{}, l.wait(ctx)
}

func (l *hangingLog) Range(ctx context.Context, q stream.Query) (stream.Page, error) {
	return stream.Page{}, l.wait(ctx)
}

// panickingLog is a Memory whose Append and Range panic.
type panickingLog struct{ *stream.Memory }

func (panickingLog) Append(ctx context.Context, room string, data []byte) (codec.ID, error) {
	panic("test: Append panicked")
}

func (panickingLog) Range(ctx context.Context, q stream.Query) (stream.Page, error) {
	panic("test: Range panicked")
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newMemory() *stream.Memory { return stream.NewMemory(stream.MemoryConfig{}) }

// testSecret signs the tokens of the tests.
var testSecret = []byte("ingest-test-secret-of-32-bytes!!")

// newVerifier returns a Verifier of testSecret.
func newVerifier(t testing.TB) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// authConfig returns cfg with a Verifier of testSecret.
func authConfig(t testing.TB, cfg Config) Config {
	t.Helper()
	cfg.Auth = newVerifier(t)
	return cfg
}

// mint returns a token of testSecret for sub, valid for an hour.
func mint(t testing.TB, sub, name, role string) string {
	t.Helper()
	token, err := auth.Mint(auth.Config{Secret: testSecret},
		auth.Claims{Sub: sub, Name: name, Role: role, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// send sends a request with a bearer token (none when token is empty) and,
// when body is not empty, a JSON body.
func (ts *testServer) send(t *testing.T, method, path, token, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return ts.roundTrip(t, req)
}

// roundTrip sends req and reads the whole answer.
func (ts *testServer) roundTrip(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL.Path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b, close: resp.Close}
}

// postAs posts body to room with token and checks it was stored; it
// returns the answered id.
func (ts *testServer) postAs(t *testing.T, room, token, body string) string {
	t.Helper()
	r := ts.send(t, http.MethodPost, "/v1/rooms/"+room+"/danmaku", token, body)
	if r.status != http.StatusCreated {
		t.Fatalf("POST %s to %s: status %d; want 201 (body %s)", body, room, r.status, r.body)
	}
	var res postResult
	decodeStrict(t, r.body, &res)
	return res.ID
}

// checkRetryAfter checks r has a Retry-After of whole seconds within
// [lowest, highest].
func checkRetryAfter(t *testing.T, what string, r response, lowest, highest int) {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < lowest || n > highest {
		t.Errorf("%s: Retry-After %q; want %d to %d", what, r.header.Get("Retry-After"), lowest, highest)
	}
}

// storedMessage decodes the stored comment id of room.
func storedMessage(t *testing.T, log stream.Log, room, id string) codec.Message {
	t.Helper()
	want, err := codec.ParseID(id)
	if err != nil {
		t.Fatal(err)
	}
	page, err := log.Range(context.Background(), stream.Query{Room: room, Through: want})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		if e.ID == want {
			m, err := codec.DecodeStored(e.Data)
			if err != nil {
				t.Fatalf("stored %s: %v", e.Data, err)
			}
			return m
		}
	}
	t.Fatalf("room %s has no entry %s", room, id)
	return codec.Message{}
}
