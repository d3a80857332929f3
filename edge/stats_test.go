package edge

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"
)

// TestCloseReasons: every ended connection is counted once, under the
// reason and close code it ended with.
func TestCloseReasons(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{
		IdleTimeout: 300 * time.Millisecond, PingInterval: time.Hour, SweepInterval: 20 * time.Millisecond,
	}})
	stats := env.srv.Stats()

	peer := env.dial(t, "")
	if err := peer.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")); err != nil {
		t.Fatal(err)
	}
	binary := env.dial(t, "")
	if err := binary.WriteMessage(websocket.BinaryMessage, []byte{1}); err != nil {
		t.Fatal(err)
	}
	notFound := env.rawConn(t)
	notFound.write([]byte(upgradeRequest("/nope")))
	if resp, _ := notFound.readResponse(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("upgrade of /nope: status %d; want 404", resp.StatusCode)
	}
	dropped := env.rawUpgrade(t, "/ws")
	if err := dropped.conn.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	_ = dropped.conn.Close()
	env.dial(t, "") // sends nothing: closed when idle

	want := []struct {
		reason CloseReason
		code   int
	}{
		{ClosePeer, 1000},
		{CloseProtocol, int(ws.StatusUnsupportedData)},
		{CloseHandshake, 0},
		{CloseDropped, 0},
		{CloseIdle, 1001},
	}
	waitFor(t, "five connections to end", func() bool { return stats.Open.Load() == 0 })
	for _, w := range want {
		if got := countCloses(stats, w.reason, w.code); got != 1 {
			t.Errorf("closes counted as %v %d: %d; want 1 (all: %+v)", w.reason, w.code, got, stats.Closes())
		}
	}
	if n := len(stats.Closes()); n != len(want) {
		t.Errorf("Closes() = %+v; want %d counts", stats.Closes(), len(want))
	}
	if s := stats.LoopLag.Snapshot(); s.Count == 0 {
		t.Error("LoopLag recorded no sweep")
	}
}

func TestCloseReasonString(t *testing.T) {
	for r, want := range map[CloseReason]string{
		CloseDropped: "dropped", ClosePeer: "peer", CloseDrain: "drain", CloseIdle: "idle", CloseSlow: "slow",
		ClosePolicy: "policy", CloseProtocol: "protocol", CloseHandshake: "handshake", closeReasons: "unknown",
	} {
		if got := r.String(); got != want {
			t.Errorf("CloseReason(%d).String() = %q; want %q", r, got, want)
		}
	}
}
