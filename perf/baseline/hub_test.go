package baseline

import (
	"testing"
	"time"
)

func TestBroadcastDropsAViewerWhoseChannelIsFull(t *testing.T) {
	h := newHub()
	slow := &client{room: "r", send: make(chan []byte, 1)}
	fast := &client{room: "r", send: make(chan []byte, 4)}
	h.register(slow, []byte("joined"))
	h.register(fast, []byte("joined"))
	h.broadcast("r", []byte("m1"))
	if got := h.online("r"); got != 1 {
		t.Fatalf("online = %d after the slow viewer's channel filled; want 1", got)
	}
	if msg := <-slow.send; string(msg) != "joined" {
		t.Fatalf("slow viewer's first message = %q; want joined", msg)
	}
	if _, ok := <-slow.send; ok {
		t.Fatal("slow viewer's channel is open; want it closed")
	}
	for _, want := range []string{"joined", "m1"} {
		if msg := <-fast.send; string(msg) != want {
			t.Fatalf("fast viewer got %q; want %q", msg, want)
		}
	}
	h.unregister(slow)
	h.unregister(fast)
	if got := h.online("r"); got != 0 {
		t.Fatalf("online = %d after both left; want 0", got)
	}
	if _, ok := <-fast.send; ok {
		t.Fatal("unregistered viewer's channel is open; want it closed")
	}
}

func TestIDsAreUniqueWithinAMillisecond(t *testing.T) {
	var g idGen
	now := time.UnixMilli(1700000000123)
	tests := []struct {
		at     time.Time
		want   string
		wantMS int64
	}{
		{now, "1700000000123-0", 1700000000123},
		{now, "1700000000123-1", 1700000000123},
		{now.Add(-time.Millisecond), "1700000000123-2", 1700000000123},
		{now.Add(time.Millisecond), "1700000000124-0", 1700000000124},
	}
	for _, tt := range tests {
		if id, ms := g.next(tt.at); id != tt.want || ms != tt.wantMS {
			t.Errorf("next(%d) = %q, %d; want %q, %d", tt.at.UnixMilli(), id, ms, tt.want, tt.wantMS)
		}
	}
}
