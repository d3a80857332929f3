package ingest

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/stream"
	"github.com/valyala/fasthttp"
)

func TestHealth(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), nil, nil)
	r := ts.get(t, "/healthz")
	if r.status != http.StatusOK || string(r.body) != `{"status":"ok"}` || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /healthz = %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
}

func TestPreflight(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), nil, nil)
	tests := []struct{ path, methods string }{
		{"/v1/rooms/r/danmaku", "GET, POST, OPTIONS"},
		{"/v1/rooms/r", "GET, OPTIONS"},
		{"/v1/rooms/r/danmaku/1-0", "DELETE, OPTIONS"},
		{"/v1/rooms/r/slowmode", "PUT, OPTIONS"},
		{"/v1/rooms/r/bans/u1", "PUT, DELETE, OPTIONS"},
		{"/v1/admin/filter/reload", "POST, OPTIONS"},
		// A preflight does not validate the room: the real request will.
		{"/v1/rooms/bad%20room/danmaku", "GET, POST, OPTIONS"},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodOptions, ts.base+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", "http://127.0.0.1:9999")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent ||
			h.Get("Access-Control-Allow-Origin") != "*" ||
			h.Get("Access-Control-Allow-Methods") != tt.methods ||
			!strings.EqualFold(h.Get("Access-Control-Allow-Headers"), "Content-Type, Authorization") ||
			h.Get("Access-Control-Max-Age") == "" {
			t.Errorf("OPTIONS %s = %d %v", tt.path, resp.StatusCode, h)
		}
	}
}

func TestHandle(t *testing.T) {
	srv := New(Config{}, newMemory(), fixedPresence{}, nil)
	page := func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("demo") }
	srv.Handle(http.MethodGet, "/", page)
	srv.Handle(http.MethodHead, "/", page)
	srv.Handle(http.MethodPost, "/healthz", page)
	srv.Handle(http.MethodGet, "/v1/version", page)
	h := srv.Handler()
	tests := []struct {
		method, path        string
		status              int
		body, allow, origin string
	}{
		{"GET", "/", 200, "demo", "", ""},
		{"DELETE", "/", 405, "", "GET, HEAD", ""},
		{"POST", "/healthz", 200, "demo", "", ""},
		{"PUT", "/healthz", 405, "", "GET, POST", ""},
		{"GET", "/other", 404, "", "", ""},
		{"GET", "/v1/version", 200, "demo", "", "*"},
		{"POST", "/v1/version", 405, "", "GET", "*"},
	}
	for _, tt := range tests {
		ctx := newRequestCtx(tt.method, tt.path, "", "")
		h(ctx)
		if got := ctx.Response.StatusCode(); got != tt.status {
			t.Errorf("%s %s: status %d; want %d", tt.method, tt.path, got, tt.status)
		}
		if tt.body != "" && string(ctx.Response.Body()) != tt.body {
			t.Errorf("%s %s: body %q; want %q", tt.method, tt.path, ctx.Response.Body(), tt.body)
		}
		if got := string(ctx.Response.Header.Peek("Allow")); got != tt.allow {
			t.Errorf("%s %s: Allow %q; want %q", tt.method, tt.path, got, tt.allow)
		}
		if got := string(ctx.Response.Header.Peek("Access-Control-Allow-Origin")); got != tt.origin {
			t.Errorf("%s %s: Access-Control-Allow-Origin %q; want %q", tt.method, tt.path, got, tt.origin)
		}
	}

	for _, bad := range []struct{ method, path string }{
		{"GET", "/"},           // registered twice
		{"GET", "no-slash"},    // not a path
		{"GET", "/v1/rooms/x"}, // shadows the room routes
		{"", "/empty-method"},  // no method
		{"GET", "/v1/rooms/"},  // shadows the room routes
		{"POST", "/healthz"},   // registered twice
		{"GET", "/healthz"},    // built in
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q, %q) did not panic", bad.method, bad.path)
				}
			}()
			srv.Handle(bad.method, bad.path, page)
		}()
	}
}

// newRequestCtx returns a RequestCtx holding a request, for calling a
// handler without a network.
func newRequestCtx(method, uri, contentType, body string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	req.SetBodyString(body)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	return ctx
}

func TestPanicRecovery(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ts := startServer(t, Config{}, panickingLog{newMemory()}, nil, logger)
	for range 3 {
		r := ts.post(t, "r", `{"text":"hi"}`)
		checkError(t, "panicking Append", r, http.StatusInternalServerError, CodeInternal)
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("after panic: Access-Control-Allow-Origin %q; want *", got)
		}
		checkError(t, "panicking Range", ts.get(t, "/v1/rooms/r/danmaku"), http.StatusInternalServerError, CodeInternal)
		// The server keeps serving.
		if r := ts.get(t, "/healthz"); r.status != http.StatusOK {
			t.Fatalf("healthz after panic: %d", r.status)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "handler panicked") || !strings.Contains(out, "test: Append panicked") ||
		!strings.Contains(out, "test: Range panicked") || !strings.Contains(out, "goroutine") {
		t.Errorf("panics not logged with their stacks:\n%s", out)
	}
}

// blockingLog is a Memory whose Append waits for release, announcing on
// entered when it starts.
type blockingLog struct {
	*stream.Memory
	entered chan struct{}
	release chan struct{}
}

func (l blockingLog) Append(ctx context.Context, room string, data []byte) (codec.ID, error) {
	l.entered <- struct{}{}
	<-l.release
	return l.Memory.Append(ctx, room, data)
}

// TestShutdownFinishesInFlight checks that Shutdown lets a request in
// progress complete with its 201 before returning.
func TestShutdownFinishesInFlight(t *testing.T) {
	log := blockingLog{Memory: newMemory(), entered: make(chan struct{}), release: make(chan struct{})}
	ts := startServer(t, Config{AppendTimeout: 10 * time.Second}, log, nil, nil)
	var wg sync.WaitGroup
	var r response
	wg.Go(func() { r = ts.post(t, "r", `{"text":"hi"}`) })
	<-log.entered

	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.srv.Shutdown(context.Background()) }()
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(log.release)
	wg.Wait()
	if r.status != http.StatusCreated {
		t.Fatalf("in-flight POST: status %d (body %s); want 201", r.status, r.body)
	}
	if !r.close {
		t.Errorf("in-flight POST during shutdown: no Connection: close")
	}
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	var res postResult
	decodeStrict(t, r.body, &res)
	if got := lastEntry(t, log.Memory, "r").ID.String(); got != res.ID {
		t.Errorf("stored id %s; answered %s", got, res.ID)
	}
}
