package floor

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/danmu-dev/danmu/rdb"
)

// sharedRedis is the Redis `make test` makes sure of.
const sharedRedis = "127.0.0.1:6379"

// TestAppendHandlerStoresBeforeAnswering posts to the append floor over a
// socket: each 201 comes with its body in the room's stream (XRANGE over a
// real Redis), a GET is refused, and once Redis is gone a POST is answered
// 503.
func TestAppendHandlerStoresBeforeAnswering(t *testing.T) {
	prefix := "floor:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	client, err := rdb.New(rdb.Config{Addrs: []string{sharedRedis}, KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer()
	srv.Handler = AppendHandler(client)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	post := func(method, path, body string) (int, string) {
		t.Helper()
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(method)
		req.SetRequestURI("http://" + ln.Addr().String() + path)
		req.SetBodyString(body)
		if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode(), string(resp.Body())
	}
	for _, body := range []string{`{"text":"one"}`, `{"text":"two"}`} {
		if status, got := post(fasthttp.MethodPost, "/v1/rooms/lobby/danmaku", body); status != fasthttp.StatusCreated || got != CreatedBody {
			t.Fatalf("POST = %d %q; want 201 %q", status, got, CreatedBody)
		}
	}
	if status, _ := post(fasthttp.MethodGet, "/v1/rooms/lobby/danmaku", ""); status != fasthttp.StatusMethodNotAllowed {
		t.Errorf("GET = %d; want 405", status)
	}
	entries, err := client.Do(context.Background(),
		client.B().Xrange().Key(prefix+"{lobby}:s").Start("-").End("+").Build()).AsXRange()
	if err != nil {
		t.Fatal(err)
	}
	client.Do(context.Background(), client.B().Del().Key(prefix+"{lobby}:s").Build())
	if len(entries) != 2 || entries[0].FieldValues["d"] != `{"text":"one"}` || entries[1].FieldValues["d"] != `{"text":"two"}` {
		t.Errorf("stream %+v; want the two bodies, in order, as field d", entries)
	}

	client.Close()
	if status, _ := post(fasthttp.MethodPost, "/v1/rooms/lobby/danmaku", `{"text":"three"}`); status != fasthttp.StatusServiceUnavailable {
		t.Errorf("POST with Redis closed = %d; want 503", status)
	}
}

func TestRoomOf(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/rooms/lobby/danmaku":       "lobby",
		"/v1/rooms/lobby/danmaku:batch": "lobby",
		"/v1/rooms/lobby":               "lobby",
		"/v1/rooms//danmaku":            "floor",
		"/elsewhere":                    "floor",
	} {
		if got := roomOf([]byte(path)); got != want {
			t.Errorf("roomOf(%q) = %q; want %q", path, got, want)
		}
	}
}
