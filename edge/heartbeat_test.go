package edge

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

const (
	testPingInterval = 100 * time.Millisecond
	testIdleTimeout  = 400 * time.Millisecond
)

func heartbeatEnv(t *testing.T) *testEnv {
	return startEnv(t, envConfig{edge: Config{
		PingInterval:  testPingInterval,
		IdleTimeout:   testIdleTimeout,
		SweepInterval: 20 * time.Millisecond,
		// Some tests ping many times a second, past the default rate.
		MessageRate: 1000,
	}})
}

// TestSilentClientIsPingedThenClosed: a client that answers nothing gets
// pings once it has been silent for its share of PingInterval (at least
// half of it), then a close 1001 once silent for IdleTimeout.
func TestSilentClientIsPingedThenClosed(t *testing.T) {
	env := heartbeatEnv(t)
	// The server counts silence from the last bytes it received, which
	// it cannot have received before the request was sent.
	sent := time.Now()
	rc := env.rawUpgrade(t, "/ws")

	h, payload := rc.readFrame()
	if h.OpCode != ws.OpPing {
		t.Fatalf("got %v %q; want a ping", h.OpCode, payload)
	}
	if elapsed := time.Since(sent); elapsed < testPingInterval/2 {
		t.Errorf("pinged after %v of silence; want at least half of PingInterval %v", elapsed, testPingInterval)
	}
	code, reason := rc.readClose()
	if code != ws.StatusGoingAway {
		t.Errorf("close %d %q; want 1001", code, reason)
	}
	if elapsed := time.Since(sent); elapsed < testIdleTimeout {
		t.Errorf("closed after %v of silence; want at least IdleTimeout %v", elapsed, testIdleTimeout)
	}
	waitFor(t, "the connection to be forgotten", func() bool { return env.srv.Stats().Open.Load() == 0 })
}

// TestPongKeepsClientAlive: a client whose library answers pings, and that
// sends nothing else, stays connected well past IdleTimeout.
func TestPongKeepsClientAlive(t *testing.T) {
	env := heartbeatEnv(t)
	c := env.dial(t, "")
	var pings atomic.Int32
	answer := c.PingHandler()
	c.SetPingHandler(func(data string) error {
		pings.Add(1)
		return answer(data)
	})
	messages := make(chan serverMessage, 16)
	readErr := make(chan error, 1)
	go func() {
		for {
			m, err := readMessageErr(c)
			if err != nil {
				readErr <- err
				return
			}
			messages <- m
		}
	}()

	select {
	case err := <-readErr:
		t.Fatalf("connection ended: %v", err)
	case m := <-messages:
		t.Fatalf("got %+v; want nothing", m)
	case <-time.After(4 * testIdleTimeout):
	}
	if pings.Load() < 2 {
		t.Errorf("got %d pings in %v; want several", pings.Load(), 4*testIdleTimeout)
	}
	send(t, c, `{"type":"join","room":"awake"}`)
	select {
	case err := <-readErr:
		t.Fatalf("connection ended: %v", err)
	case m := <-messages:
		if m.Type != "joined" || m.Room != "awake" {
			t.Fatalf("got %+v; want joined awake", m)
		}
	case <-time.After(waitTimeout):
		t.Fatal("no answer to a join")
	}
	if got := env.srv.Stats().Open.Load(); got != 1 {
		t.Errorf("Stats().Open = %d; want 1", got)
	}
}

// TestTalkingClientIsNotPinged: any frame from the client counts as a sign
// of life, so a client that keeps sending is never pinged. The client
// sends four times per ping interval; on a loaded machine its own sleep may
// overrun an interval, and then a ping is the server's due: only a ping
// after a silence well under the interval fails the test.
func TestTalkingClientIsNotPinged(t *testing.T) {
	env := heartbeatEnv(t)
	rc := env.rawUpgrade(t, "/ws")
	deadline := time.Now().Add(3 * testIdleTimeout)
	previous := time.Now()
	for i := 0; time.Now().Before(deadline); i++ {
		payload := []byte{byte(i)}
		silence := time.Since(previous)
		previous = time.Now()
		rc.write(clientFrame(true, ws.OpPing, payload))
		h, got := rc.readFrame()
		if h.OpCode == ws.OpPing && silence > testPingInterval/2 {
			t.Logf("pinged after the client was silent %v (its sleep overran)", silence)
			h, got = rc.readFrame()
		}
		if h.OpCode != ws.OpPong || string(got) != string(payload) {
			t.Fatalf("got %v %q after %v of silence; want pong %q (no ping from the server)", h.OpCode, got, silence, payload)
		}
		time.Sleep(testPingInterval / 4)
	}
}

// TestPingAfterSpreads: each connection's ping comes after a silence of
// its own in the upper half of PingInterval, so that connections opened
// together are not pinged in one sweep.
func TestPingAfterSpreads(t *testing.T) {
	const interval = 25 * time.Second
	const buckets = 12 // of about a second each: the default sweep
	seen := make(map[int64]int)
	for range 10000 {
		after := pingAfter(interval)
		if after < int64(interval/2) || after > int64(interval) {
			t.Fatalf("pingAfter(%v) = %v; want within [%v, %v]", interval, time.Duration(after), interval/2, interval)
		}
		seen[(after-int64(interval/2))*buckets/int64(interval/2+1)]++
	}
	for b := range int64(buckets) {
		if n := seen[b]; n < 10000/buckets/2 {
			t.Errorf("%d of 10 000 connections in the %d-th twelfth of the range; want about %d", n, b, 10000/buckets)
		}
	}
	if got := pingAfter(0); got != 0 {
		t.Errorf("pingAfter(0) = %d; want 0", got)
	}
}
