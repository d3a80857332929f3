package ingest

import (
	"net/http"
	"testing"
	"time"
)

func TestOnline(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), mapPresence{"busy": 7, "a.b:c_d-e": 1}, nil)
	tests := []struct{ room, want string }{
		{"busy", `{"room":"busy","online":7}`},
		{"a.b:c_d-e", `{"room":"a.b:c_d-e","online":1}`},
		{"empty", `{"room":"empty","online":0}`},
	}
	for _, tt := range tests {
		r := ts.get(t, "/v1/rooms/"+tt.room)
		if r.status != http.StatusOK || string(r.body) != tt.want {
			t.Errorf("GET room %s = %d %s; want 200 %s", tt.room, r.status, r.body, tt.want)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET room %s: Content-Type %q", tt.room, ct)
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("GET room %s: Access-Control-Allow-Origin %q; want *", tt.room, got)
		}
	}
}

func TestOnlineUnavailable(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), fixedPresence{err: errBroken}, nil)
	checkError(t, "failing presence", ts.get(t, "/v1/rooms/r"), http.StatusServiceUnavailable, CodeUnavailable)

	ts = startServer(t, Config{QueryTimeout: 50 * time.Millisecond}, newMemory(), hangingPresence{}, nil)
	checkError(t, "hanging presence", ts.get(t, "/v1/rooms/r"), http.StatusServiceUnavailable, CodeUnavailable)
}
