package edge

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestDrainSpreadsCloses: with a DrainPeriod, shutdown closes the viewers
// with 1001 spread over the period, not all at once, refuses new
// connections meanwhile, and counts every close as a drain.
func TestDrainSpreadsCloses(t *testing.T) {
	t.Parallel()
	const (
		viewers = 40
		period  = time.Second
	)
	env := startEnv(t, envConfig{edge: Config{DrainPeriod: period, DrainTimeout: time.Minute}})
	conns := make([]*websocket.Conn, viewers)
	for i := range conns {
		conns[i] = env.dial(t, "?room=a")
		expectReply(t, conns[i], "joined", "a", "")
	}
	var mu sync.Mutex
	var closedAfter []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range conns {
		wg.Go(func() {
			_, _, err := c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Errorf("viewer %d: read %v; want close 1001", i, err)
			}
			mu.Lock()
			closedAfter = append(closedAfter, time.Since(start))
			mu.Unlock()
		})
	}

	stopped := make(chan error, 1)
	go func() { stopped <- env.stop() }()
	waitFor(t, "the drain to begin", env.srv.Draining)
	if c, err := env.dialErr(""); err == nil {
		_ = c.Close()
		t.Error("a new connection was upgraded during the drain")
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	wg.Wait()

	slices.Sort(closedAfter)
	first, last := closedAfter[0], closedAfter[len(closedAfter)-1]
	early := 0
	for _, d := range closedAfter {
		if d < period/4 {
			early++
		}
	}
	t.Logf("closes from %v to %v after shutdown began; %d of %d in the first quarter of the period", first, last, early, viewers)
	if last-first < period/2 || early > viewers/2 {
		t.Errorf("closes span %v (from %v to %v), %d of %d in the first quarter of %v; want them spread over the period",
			last-first, first, last, early, viewers, period)
	}
	if got := countCloses(env.srv.Stats(), CloseDrain, 1001); got != viewers {
		t.Errorf("closes counted as drain 1001: %d; want %d (all: %+v)", got, viewers, env.srv.Stats().Closes())
	}
}

// countCloses returns the connections s counted as ended for reason with
// code.
func countCloses(s *Stats, reason CloseReason, code int) uint64 {
	for _, c := range s.Closes() {
		if c.Reason == reason && c.Code == code {
			return c.Count
		}
	}
	return 0
}

// TestDrainEndsWhenEmpty: a drain ends as soon as no connection is left,
// long before its period.
func TestDrainEndsWhenEmpty(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{DrainPeriod: time.Hour, DrainTimeout: time.Hour}})
	c := env.dial(t, "?room=a")
	expectReply(t, c, "joined", "a", "")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the viewer to leave", func() bool { return env.srv.Stats().Open.Load() == 0 })
	if err := env.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
