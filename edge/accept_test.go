package edge

import (
	"net/http"
	"testing"
)

// TestMaxConnsPerIP: past MaxConnsPerIP connections from one address, a new
// one is answered 503 before its request and counted; once one closes,
// another is let in.
func TestMaxConnsPerIP(t *testing.T) {
	env := startEnv(t, envConfig{edge: Config{MaxConnsPerIP: 3}})
	var held []*rawClient
	for range 3 {
		held = append(held, env.rawUpgrade(t, "/ws"))
	}
	refused := env.rawConn(t)
	if resp, body := refused.readResponse(); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a fourth connection got %s %q; want 503", resp.Status, body)
	}
	refused.expectEOF()
	if got := env.srv.Stats().Refused(RefusedMaxConnsPerIP); got != 1 {
		t.Errorf("Refused(RefusedMaxConnsPerIP) = %d; want 1", got)
	}
	_ = held[0].conn.Close()
	waitFor(t, "the closed connection to be let go", func() bool { return env.srv.Stats().Open.Load() == 2 })
	env.rawUpgrade(t, "/ws")
}
