package fanout

import (
	"testing"
	"time"
)

// TestAdaptBudget checks the budget's steps: halved after the second
// period in a row in which a batch waited longer than MaxFlushInterval
// (one late period alone changes nothing), down to
// FrameBudget/minBudgetShare; held while the longest wait is between half
// of it and it; grown back by a twentieth of FrameBudget per calm period,
// up to FrameBudget.
func TestAdaptBudget(t *testing.T) {
	h := New(Config{FrameBudget: 64000, FlushInterval: 50 * time.Millisecond, MaxFlushInterval: 250 * time.Millisecond}, nil, nil)
	steps := []struct {
		waited time.Duration
		want   int
	}{
		{0, 64000},
		{250 * time.Millisecond, 64000},
		{251 * time.Millisecond, 64000},
		{200 * time.Millisecond, 64000},
		{time.Second, 64000},
		{251 * time.Millisecond, 32000},
		{time.Second, 16000},
		{time.Second, 8000},
		{time.Second, 4000},
		{time.Minute, 4000},
		{125 * time.Millisecond, 4000},
		{124 * time.Millisecond, 7200},
		{0, 10400},
		{time.Second, 10400},
		{time.Second, 5200},
	}
	for i, s := range steps {
		h.adaptBudget(s.waited)
		if got := h.FrameBudget(); got != s.want {
			t.Fatalf("step %d: after a longest wait of %v the budget is %d; want %d", i, s.waited, got, s.want)
		}
	}
	for range 40 {
		h.adaptBudget(0)
	}
	if got := h.FrameBudget(); got != 64000 {
		t.Fatalf("after 40 calm periods the budget is %d; want FrameBudget, 64000", got)
	}
}

// TestWindowFollowsBudget checks that a room's window is its share of the
// budget as it is now, within the window bounds.
func TestWindowFollowsBudget(t *testing.T) {
	h := New(Config{FrameBudget: 64000, FlushInterval: 50 * time.Millisecond, MaxFlushInterval: 250 * time.Millisecond}, nil, nil)
	h.active.Store(4)
	r := &room{hub: h}
	r.mu.viewers = 1000
	h.adaptBudget(time.Second)
	for _, want := range []time.Duration{62500 * time.Microsecond, 125 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond} {
		if got := r.windowLocked(); got != want {
			t.Fatalf("window of 1000 viewers among 4 active rooms at a budget of %d = %v; want %v", h.FrameBudget(), got, want)
		}
		h.adaptBudget(time.Second)
	}
}

// TestLongestWait checks that the stats keep the longest wait from flush
// to writing, which the budget follows.
func TestLongestWait(t *testing.T) {
	s := newStats()
	now := time.Now().UnixNano()
	for _, ago := range []time.Duration{10 * time.Millisecond, 300 * time.Millisecond, 20 * time.Millisecond} {
		s.countDelivery(1, 1, batchInfo{messages: 1, flushed: now - int64(ago)})
	}
	if got := time.Duration(s.longestWait.Swap(0)); got < 300*time.Millisecond || got > 10*time.Second {
		t.Fatalf("longest wait = %v; want about 300ms", got)
	}
	if got := s.longestWait.Load(); got != 0 {
		t.Fatalf("longest wait after the swap = %d; want 0", got)
	}
}
