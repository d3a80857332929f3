package ingest

import (
	"context"
	"errors"
	"testing"
	"time"
)

// closedWithin reports whether done is closed within d.
func closedWithin(done <-chan struct{}, d time.Duration) bool {
	select {
	case <-done:
		return true
	default:
	}
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func TestDeadlineExpires(t *testing.T) {
	for _, waitFirst := range []bool{true, false} {
		ctx := startDeadline(context.Background(), 20*time.Millisecond)
		if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > 20*time.Millisecond {
			t.Errorf("Deadline() = %v, %v; want within 20ms", dl, ok)
		}
		if err := ctx.Err(); err != nil {
			t.Errorf("Err() before the deadline = %v; want nil", err)
		}
		if waitFirst {
			// Done is asked for before the deadline: its timer closes it.
			if !closedWithin(ctx.Done(), 5*time.Second) {
				t.Fatal("Done not closed after the deadline")
			}
		} else {
			// Nobody waits: Err sees the deadline pass, and Done is closed.
			time.Sleep(30 * time.Millisecond)
			if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Err() after the deadline = %v; want DeadlineExceeded", err)
			}
			if !closedWithin(ctx.Done(), 0) {
				t.Error("Done not closed once Err reported the deadline")
			}
		}
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err() after the deadline = %v; want DeadlineExceeded", err)
		}
		ctx.cancel()
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err() after the deadline and cancel = %v; want DeadlineExceeded", err)
		}
	}
}

func TestDeadlineCancel(t *testing.T) {
	for _, waitFirst := range []bool{true, false} {
		ctx := startDeadline(context.Background(), time.Hour)
		var done <-chan struct{}
		if waitFirst {
			done = ctx.Done()
		}
		child, stop := context.WithCancel(ctx) // propagation waits on Done
		defer stop()
		ctx.cancel()
		if done == nil {
			done = ctx.Done()
		}
		if !closedWithin(done, 0) || !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("after cancel: Done closed %v, Err %v; want closed and Canceled", closedWithin(done, 0), ctx.Err())
		}
		if !closedWithin(child.Done(), 5*time.Second) || !errors.Is(child.Err(), context.Canceled) {
			t.Errorf("child after cancel: Err %v; want Canceled", child.Err())
		}
	}
}

// TestWithTimeoutAllocs locks in that a step nobody waits on costs no
// timer: one allocation, the context.
func TestDeadlineAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		ctx := startDeadline(context.Background(), time.Second)
		_ = ctx.Err()
		ctx.cancel()
	})
	if allocs > 1 {
		t.Errorf("startDeadline, Err and cancel allocate %v times; want at most 1", allocs)
	}
}

// BenchmarkTimeout compares startDeadline with context.WithTimeout for a
// step that only checks Err, as the built-in hooks and the embedded
// stream do.
func BenchmarkTimeout(b *testing.B) {
	b.Run("startDeadline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx := startDeadline(context.Background(), time.Second)
			_ = ctx.Err()
			ctx.cancel()
		}
	})
	b.Run("context.WithTimeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = ctx.Err()
			cancel()
		}
	})
}

// BenchmarkTimeoutWaited compares the same for a step whose Done is asked
// for, as rueidis does for every command it waits on.
func BenchmarkTimeoutWaited(b *testing.B) {
	b.Run("startDeadline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx := startDeadline(context.Background(), 2*time.Second)
			_ = ctx.Done()
			ctx.cancel()
		}
	})
	b.Run("context.WithTimeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = ctx.Done()
			cancel()
		}
	})
}
