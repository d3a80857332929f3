package ingest

import (
	"maps"
	"net"
	"net/http"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestStatsCountRequests: every answer is counted by status and error
// code, each routed request is timed under its method, answers to
// requests fasthttp could not read are counted too, and a failed append
// is counted.
func TestStatsCountRequests(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), nil, nil)
	for range 2 {
		if r := ts.post(t, "a", `{"text":"hi"}`); r.status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.status, r.body)
		}
	}
	ts.post(t, "a", `not json`)
	ts.get(t, "/nope")
	ts.get(t, "/healthz")
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("BROKEN\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Read(make([]byte, 512)); err != nil {
		t.Fatal(err)
	}

	stats := ts.srv.Stats()
	want := map[RequestKey]uint64{
		{201, ""}:              2,
		{400, CodeInvalidJSON}: 1,
		{404, CodeNotFound}:    1,
		{200, ""}:              1,
		{400, CodeBadRequest}:  1,
	}
	if got := stats.Requests(); !maps.Equal(got, want) {
		t.Errorf("Requests() = %v; want %v", got, want)
	}
	if n := stats.Duration[methodIndex([]byte("POST"))].Snapshot().Count; n != 3 {
		t.Errorf("POST timed %d times; want 3", n)
	}
	if n := stats.Duration[methodIndex([]byte("GET"))].Snapshot().Count; n != 2 {
		t.Errorf("GET timed %d times; want 2", n)
	}

	failing := startServer(t, Config{}, failingLog{newMemory()}, nil, nil)
	failing.post(t, "a", `{"text":"hi"}`)
	if n := failing.srv.Stats().AppendErrors.Load(); n != 1 {
		t.Errorf("AppendErrors = %d after a failed append; want 1", n)
	}
}

// TestStatsCodeDoesNotLinger: an error answer's code is not counted again
// for the next request on the same RequestCtx.
func TestStatsCodeDoesNotLinger(t *testing.T) {
	srv := New(Config{}, newMemory(), fixedPresence{}, nil)
	h := srv.Handler()
	bad := newRequestCtx(fasthttp.MethodGet, "/nope", "", "")
	h(bad)
	bad.Request.SetRequestURI("/healthz")
	bad.Response.Reset()
	h(bad)
	want := map[RequestKey]uint64{{404, CodeNotFound}: 1, {200, ""}: 1}
	if got := srv.Stats().Requests(); !maps.Equal(got, want) {
		t.Errorf("Requests() = %v; want %v", got, want)
	}
}

func TestMethodIndex(t *testing.T) {
	for method, want := range map[string]string{"GET": "GET", "POST": "POST", "DELETE": "DELETE", "PATCH": "other", "": "other"} {
		if got := Methods[methodIndex([]byte(method))]; got != want {
			t.Errorf("methodIndex(%q) names %q; want %q", method, got, want)
		}
	}
}

// TestCountAllocs locks in that counting an answer allocates nothing once
// its status and code were seen.
func TestCountAllocs(t *testing.T) {
	s := newStats()
	s.count(201, "")
	if n := testing.AllocsPerRun(100, func() { s.count(201, "") }); n != 0 {
		t.Errorf("count allocates %v times; want 0", n)
	}
}
