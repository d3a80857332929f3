package stream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// TestRedisRoundTrips: Ping answers while Redis does and fails with
// ErrUnavailable once it is gone, and every round trip is measured.
func TestRedisRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	r := newTestRedis(t, []string{srv.Addr()}, RedisConfig{Timeout: time.Second})
	ctx := context.Background()
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	logAppend(t, r, "a", 2)
	if _, err := r.Last(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	logRange(t, r, Query{Room: "a"})
	// Ping, two Appends, Last and Range.
	if got := r.Stats().RoundTrip.Snapshot().Count; got != 5 {
		t.Errorf("RoundTrip counted %d calls; want 5", got)
	}

	srv.Kill()
	if err := r.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping with Redis stopped = %v; want ErrUnavailable", err)
	}
	if got := r.Stats().RoundTrip.Snapshot().Count; got != 6 {
		t.Errorf("RoundTrip counted %d calls; want 6, the failed Ping too", got)
	}
}
