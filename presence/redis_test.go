package presence

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/rdb"
)

// newTestRedis returns a presence on the Redis of make test (127.0.0.1:6379)
// with a key prefix of its own, on a client of its own, as a node has.
func newTestRedis(t *testing.T, prefix, node string, ttl time.Duration) *Redis {
	t.Helper()
	client, err := rdb.New(rdb.Config{Addrs: []string{"127.0.0.1:6379"}, KeyPrefix: prefix})
	if err != nil {
		t.Fatalf("rdb.New: %v (make test starts Redis on 127.0.0.1:6379)", err)
	}
	t.Cleanup(client.Close)
	return NewRedis(client, Config{Node: node, TTL: ttl})
}

func testPrefix(t *testing.T) string {
	return fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
}

func TestOnlineSumsNodes(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix(t)
	a := newTestRedis(t, prefix, "a", time.Minute)
	b := newTestRedis(t, prefix, "b", time.Minute)
	if err := a.Publish(ctx, map[string]int{"r1": 3, "r2": 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, map[string]int{"r1": 4, "r3": 0}); err != nil {
		t.Fatal(err)
	}
	got, err := a.OnlineMany(ctx, []string{"r1", "r2", "r3", "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"r1": 7, "r2": 1}
	for _, room := range []string{"r1", "r2", "r3", "nobody"} {
		if got[room] != want[room] {
			t.Errorf("OnlineMany()[%q] = %d; want %d", room, got[room], want[room])
		}
	}
	// b's room r1 empties: only a's count stays.
	if err := b.Publish(ctx, map[string]int{}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Online(ctx, "r1"); err != nil || n != 3 {
		t.Errorf("Online(r1) after b left = %d, %v; want 3", n, err)
	}
}

func TestCrashedNodeExpires(t *testing.T) {
	ctx := context.Background()
	prefix := testPrefix(t)
	ttl := 300 * time.Millisecond
	alive := newTestRedis(t, prefix, "alive", ttl)
	crashed := newTestRedis(t, prefix, "crashed", ttl)
	if err := crashed.Publish(ctx, map[string]int{"room": 5}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- alive.Run(runCtx, func() map[string]int { return map[string]int{"room": 2} }, nil) }()

	waitFor(t, func() bool { n, _ := alive.Online(ctx, "room"); return n == 7 }, "both nodes counted")
	// crashed never refreshes: within one TTL only alive is counted.
	waitFor(t, func() bool { n, _ := alive.Online(ctx, "room"); return n == 2 }, "crashed node expired")
	// Stopping Run withdraws alive's count at once.
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if n, err := alive.Online(ctx, "room"); err != nil || n != 0 {
		t.Errorf("Online after Run stopped = %d, %v; want 0", n, err)
	}
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		in     string
		count  int
		expiry int64
		ok     bool
	}{
		{"3:1700000000000", 3, 1700000000000, true},
		{"0:5", 0, 5, true},
		{"3", 0, 0, false},
		{"x:5", 0, 5, false},
		{"3:y", 3, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		count, expiry, ok := parseValue(tt.in)
		if ok != tt.ok || (ok && (count != tt.count || expiry != tt.expiry)) {
			t.Errorf("parseValue(%q) = %d, %d, %v; want %d, %d, %v", tt.in, count, expiry, ok, tt.count, tt.expiry, tt.ok)
		}
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
