package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/danmu-dev/danmu/auth"
)

// TestViewerTokens runs serve with --viewer-tokens: a viewer without a
// valid token is refused with 401, one with a token watches the room.
func TestViewerTokens(t *testing.T) {
	const secret = "viewer-tokens-test-secret-0123456789"
	n := startNode(t, "serve", "--jwt-secret", secret, "--viewer-tokens")
	token, err := auth.Mint(auth.Config{Secret: []byte(secret)}, auth.Claims{Sub: "v1", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	for _, query := range []string{"?room=a", "?room=a&token=nope"} {
		c, resp, err := d.Dial("ws://"+n.wsAddr+"/ws"+query, nil)
		if err == nil {
			c.Close()
			t.Fatalf("dial %s succeeded; want 401", query)
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("dial %s: %v (%v); want 401", query, err, resp)
		}
	}
	c, _, err := d.Dial("ws://"+n.wsAddr+"/ws?room=a&token="+token, nil)
	if err != nil {
		t.Fatalf("dial with a token: %v", err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m struct{ Type string }
	if err := c.ReadJSON(&m); err != nil || m.Type != "joined" {
		t.Errorf("first message %+v, %v; want joined", m, err)
	}
}
