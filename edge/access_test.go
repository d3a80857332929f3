package edge

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/auth"
)

// withHeaders returns an upgrade request for target with extra header lines.
func withHeaders(target string, lines ...string) string {
	req := upgradeRequest(target)
	return strings.TrimSuffix(req, "\r\n") + strings.Join(lines, "") + "\r\n"
}

func TestOriginAllowList(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{AllowedOrigins: []string{"https://good.example"}}})
	tests := []struct {
		name   string
		header string
		status int
	}{
		{"allowed origin", "Origin: https://good.example\r\n", http.StatusSwitchingProtocols},
		{"other origin", "Origin: https://evil.example\r\n", http.StatusForbidden},
		{"origin differing by port", "Origin: https://good.example:444\r\n", http.StatusForbidden},
		{"no origin (not a browser)", "", http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		rc := env.rawConn(t)
		rc.write([]byte(withHeaders("/ws?room=a", tt.header)))
		if resp, body := rc.readResponse(); resp.StatusCode != tt.status {
			t.Errorf("%s: status %d (%q); want %d", tt.name, resp.StatusCode, body, tt.status)
		}
	}
}

func TestViewerTokens(t *testing.T) {
	t.Parallel()
	cfg := auth.Config{Secret: []byte("edge-test-secret-of-enough-length")}
	verifier, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(ttl time.Duration) string {
		tok, err := auth.Mint(cfg, auth.Claims{Sub: "v1", Role: auth.RoleViewer, Expires: time.Now().Add(ttl)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	env := startEnv(t, envConfig{edge: Config{Tokens: verifier, SweepInterval: 20 * time.Millisecond}})
	valid := mint(time.Hour)
	other, _ := auth.Mint(auth.Config{Secret: []byte("another-secret-of-enough-length!!")}, auth.Claims{Sub: "v1", Expires: time.Now().Add(time.Hour)})
	tests := []struct {
		name    string
		request string
		status  int
	}{
		{"token in query", upgradeRequest("/ws?room=a&token=" + valid), http.StatusSwitchingProtocols},
		{"bearer header", withHeaders("/ws?room=a", "Authorization: Bearer "+valid+"\r\n"), http.StatusSwitchingProtocols},
		{"no token", upgradeRequest("/ws?room=a"), http.StatusUnauthorized},
		{"garbage token", upgradeRequest("/ws?room=a&token=abc.def.ghi"), http.StatusUnauthorized},
		{"wrong secret", upgradeRequest("/ws?room=a&token=" + other), http.StatusUnauthorized},
		{"expired", upgradeRequest("/ws?room=a&token=" + mint(-time.Minute)), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		rc := env.rawConn(t)
		rc.write([]byte(tt.request))
		if resp, body := rc.readResponse(); resp.StatusCode != tt.status {
			t.Errorf("%s: status %d (%q); want %d", tt.name, resp.StatusCode, body, tt.status)
		}
	}

	// A viewer whose token expires while connected is closed with 1008.
	rc := env.rawConn(t)
	rc.write([]byte(upgradeRequest("/ws?room=a&token=" + mint(1500*time.Millisecond))))
	rc.expectUpgraded()
	if m := rc.readMessage(); m.Type != "joined" {
		t.Fatalf("got %+v; want joined", m)
	}
	if code, reason := rc.readClose(); code != ws.StatusPolicyViolation || reason != "token expired" {
		t.Errorf("close %d %q; want 1008 token expired", code, reason)
	}
}
