package edge

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

// TestShutdown: when Serve's context ends, every open connection gets a
// close frame 1001, connections still in their handshake get 503, and
// Serve returns nil. DrainTimeout and HandshakeTimeout are longer than the
// test waits: the drain must end because every connection is closed, not
// by a timeout.
func TestShutdown(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{DrainTimeout: time.Minute, HandshakeTimeout: time.Minute}})
	var viewers []*websocket.Conn
	for i, query := range []string{"", "?room=a", "?room=a", "?room=b"} {
		c := env.dial(t, query)
		if query != "" {
			expectReply(t, c, "joined", query[len("?room="):], "")
		}
		if i == 0 {
			send(t, c, `{"type":"join","room":"c"}`)
			expectReply(t, c, "joined", "c", "")
		}
		viewers = append(viewers, c)
	}
	raw := env.rawUpgrade(t, "/ws?room=a")
	if m := raw.readMessage(); m.Type != "joined" {
		t.Fatalf("got %+v; want joined", m)
	}
	half := env.rawConn(t)
	half.write([]byte("GET /ws HTTP/1.1\r\n"))
	waitFor(t, "every connection to be open", func() bool { return env.srv.Stats().Open.Load() == 6 })

	if err := env.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}

	for i, c := range viewers {
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Errorf("viewer %d: read %v; want close 1001", i, err)
		}
	}
	if code, reason := raw.readClose(); code != ws.StatusGoingAway {
		t.Errorf("raw viewer: close %d %q; want 1001", code, reason)
	}
	if resp, body := half.readResponse(); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("pending handshake: status %d (%q); want 503", resp.StatusCode, body)
	}
	half.expectEOF()
	if got := env.srv.Stats().Open.Load(); got != 0 {
		t.Errorf("Stats().Open = %d after Serve returned; want 0", got)
	}
	if c, err := env.dialErr(""); err == nil {
		_ = c.Close()
		t.Error("dial succeeded after Serve returned")
	}
}

// TestShutdownIdle: Serve returns nil when its context ends right after
// the server is ready.
func TestShutdownIdle(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	if err := env.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
