package floor

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestServerAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	client := &fasthttp.Client{}
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{fasthttp.MethodPost, "/v1/rooms/r/danmaku", fasthttp.StatusCreated, CreatedBody},
		{fasthttp.MethodPost, "/anything", fasthttp.StatusCreated, CreatedBody},
		{fasthttp.MethodGet, "/v1/rooms/r/danmaku", fasthttp.StatusMethodNotAllowed, ""},
	} {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.Header.SetMethod(tc.method)
		req.SetRequestURI("http://" + ln.Addr().String() + tc.path)
		req.SetBodyString(`{"text":"hi"}`)
		if err := client.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != tc.status || string(resp.Body()) != tc.body {
			t.Errorf("%s %s = %d %q; want %d %q", tc.method, tc.path, resp.StatusCode(), resp.Body(), tc.status, tc.body)
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
}
