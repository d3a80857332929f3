package policy

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// storeTests run against every Store: the same semantics are the point.
var storeTests = []struct {
	name string
	run  func(t *testing.T, s Store)
}{
	{"Take", testTake},
	{"TakeSeveral", testTakeSeveral},
	{"Claim", testClaim},
	{"Marked", testMarked},
	{"SlowMode", testSlowMode},
	{"Ban", testBan},
}

func runStoreTests(t *testing.T, newStore func(t *testing.T) Store) {
	for _, tt := range storeTests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

func TestMemory(t *testing.T) {
	runStoreTests(t, func(t *testing.T) Store { return NewMemory() })
}

func take(t *testing.T, s Store, buckets ...Bucket) time.Duration {
	t.Helper()
	wait, err := s.Take(context.Background(), buckets)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	return wait
}

func testTake(t *testing.T, s Store) {
	limit := Limit{Rate: 10, Burst: 3} // one token per 100ms
	user := Bucket{Key{Name: "user:u1"}, limit}
	for i := range 3 {
		if wait := take(t, s, user); wait != 0 {
			t.Fatalf("take %d of a burst of 3: wait %v", i+1, wait)
		}
	}
	wait := take(t, s, user)
	if wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("4th take: wait %v; want within (0, 100ms]", wait)
	}
	// A refused take costs nothing: the wait only shrinks.
	if again := take(t, s, user); again <= 0 || again > wait {
		t.Fatalf("5th take: wait %v; want within (0, %v]", again, wait)
	}
	if w := take(t, s, Bucket{Key{Name: "user:u2"}, limit}); w != 0 {
		t.Errorf("another user's bucket: wait %v", w)
	}
	if w := take(t, s, Bucket{Key{Room: "r1", Name: "user:u1"}, limit}); w != 0 {
		t.Errorf("same name in a room: wait %v", w)
	}
	refused := time.Now()
	time.Sleep(wait + 5*time.Millisecond)
	if w := take(t, s, user); w != 0 {
		t.Errorf("take after waiting %v: wait %v", wait, w)
	}
	// One token came back, and went: the next take waits, unless the
	// sleep overran by a whole interval on a loaded machine and a second
	// token came back meanwhile, which the clock then shows.
	if w := take(t, s, user); w <= 0 && time.Since(refused) < wait+100*time.Millisecond {
		t.Errorf("take right after the refill: wait %v; want > 0", w)
	}
	off := Bucket{Key{Name: "user:u3"}, Limit{}}
	for range 100 {
		if w := take(t, s, off); w != 0 {
			t.Fatalf("disabled limit: wait %v", w)
		}
	}
	if w := take(t, s); w != 0 {
		t.Errorf("no buckets: wait %v", w)
	}
}

func testTakeSeveral(t *testing.T, s Store) {
	user := Bucket{Key{Name: "user:u1"}, Limit{Rate: 1, Burst: 2}}
	room := Bucket{Key{Room: "r1", Name: "rate"}, Limit{Rate: 1, Burst: 1}}
	if w := take(t, s, user, room); w != 0 {
		t.Fatalf("first take of both: wait %v", w)
	}
	for i := range 3 {
		if w := take(t, s, user, room); w <= 900*time.Millisecond || w > time.Second {
			t.Fatalf("take %d of both: wait %v; want the room's, about 1s", i+2, w)
		}
	}
	// The refused takes charged neither bucket: the user's second token
	// is still there.
	if w := take(t, s, user); w != 0 {
		t.Errorf("user bucket alone: wait %v; want its second token", w)
	}
	if w := take(t, s, user); w <= 0 {
		t.Errorf("user bucket after its burst: wait %v; want > 0", w)
	}
}

func testClaim(t *testing.T, s Store) {
	ctx := context.Background()
	key := Key{Room: "r1", Name: "spam:u1:abc"}
	claim := func(k Key, ttl time.Duration) time.Duration {
		t.Helper()
		left, err := s.Claim(ctx, k, ttl)
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		return left
	}
	if left := claim(key, 100*time.Millisecond); left != 0 {
		t.Fatalf("first claim: left %v", left)
	}
	left := claim(key, 100*time.Millisecond)
	if left <= 0 || left > 100*time.Millisecond {
		t.Fatalf("second claim: left %v; want within (0, 100ms]", left)
	}
	if l := claim(Key{Room: "r2", Name: key.Name}, time.Second); l != 0 {
		t.Errorf("same name in another room: left %v", l)
	}
	time.Sleep(left + 5*time.Millisecond)
	if l := claim(key, time.Second); l != 0 {
		t.Errorf("claim after the mark expired: left %v", l)
	}
}

// testMarked: Marked tells a claimed key's time left and marks nothing.
func testMarked(t *testing.T, s Store) {
	ctx := context.Background()
	key := Key{Room: "r1", Name: "spam-cid:c1:u1"}
	marked := func(k Key) time.Duration {
		t.Helper()
		left, err := s.Marked(ctx, k)
		if err != nil {
			t.Fatalf("Marked: %v", err)
		}
		return left
	}
	if left := marked(key); left != 0 {
		t.Fatalf("Marked before any claim: left %v", left)
	}
	if left, err := s.Claim(ctx, key, 100*time.Millisecond); err != nil || left != 0 {
		t.Fatalf("Claim after Marked = %v, %v; want 0: Marked marked the key", left, err)
	}
	left := marked(key)
	if left <= 0 || left > 100*time.Millisecond {
		t.Fatalf("Marked after a claim: left %v; want within (0, 100ms]", left)
	}
	if l := marked(Key{Room: "r2", Name: key.Name}); l != 0 {
		t.Errorf("same name in another room: left %v", l)
	}
	time.Sleep(left + 5*time.Millisecond)
	if l := marked(key); l != 0 {
		t.Errorf("Marked after the mark expired: left %v", l)
	}
}

func testSlowMode(t *testing.T, s Store) {
	ctx := context.Background()
	pace := func(room, uid string) time.Duration {
		t.Helper()
		left, err := s.Pace(ctx, room, uid)
		if err != nil {
			t.Fatalf("Pace: %v", err)
		}
		return left
	}
	setSlow := func(d time.Duration) {
		t.Helper()
		if err := s.SetSlowMode(ctx, "r1", d); err != nil {
			t.Fatalf("SetSlowMode(%v): %v", d, err)
		}
	}
	for range 3 {
		if l := pace("r1", "u1"); l != 0 {
			t.Fatalf("no slow mode: left %v", l)
		}
	}
	setSlow(time.Hour)
	if l := pace("r1", "u1"); l != 0 {
		t.Fatalf("first comment under slow mode: left %v", l)
	}
	if l := pace("r1", "u1"); l <= 59*time.Minute || l > time.Hour {
		t.Fatalf("second comment: left %v; want about 1h", l)
	}
	if l := pace("r1", "u2"); l != 0 {
		t.Errorf("another user: left %v", l)
	}
	if l := pace("r2", "u1"); l != 0 {
		t.Errorf("another room: left %v", l)
	}
	// Lowering the interval applies at once.
	setSlow(100 * time.Millisecond)
	l := pace("r1", "u1")
	if l > 100*time.Millisecond {
		t.Fatalf("after lowering to 100ms: left %v", l)
	}
	time.Sleep(l + 5*time.Millisecond)
	if l := pace("r1", "u1"); l != 0 {
		t.Fatalf("after waiting: left %v", l)
	}
	setSlow(0)
	for range 3 {
		if l := pace("r1", "u1"); l != 0 {
			t.Fatalf("slow mode off: left %v", l)
		}
	}
}

func testBan(t *testing.T, s Store) {
	ctx := context.Background()
	banned := func(room, uid string) time.Duration {
		t.Helper()
		left, err := s.Banned(ctx, room, uid)
		if err != nil {
			t.Fatalf("Banned: %v", err)
		}
		return left
	}
	if l := banned("r1", "u1"); l != 0 {
		t.Fatalf("before any ban: %v", l)
	}
	if err := s.Ban(ctx, "r1", "u1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if l := banned("r1", "u1"); l <= 59*time.Minute || l > time.Hour {
		t.Errorf("banned for 1h: left %v", l)
	}
	if l := banned("r2", "u1"); l != 0 {
		t.Errorf("another room: %v", l)
	}
	if l := banned("r1", "u2"); l != 0 {
		t.Errorf("another user: %v", l)
	}
	if err := s.Unban(ctx, "r1", "u1"); err != nil {
		t.Fatal(err)
	}
	if l := banned("r1", "u1"); l != 0 {
		t.Errorf("after Unban: %v", l)
	}
	if err := s.Unban(ctx, "r1", "u1"); err != nil {
		t.Errorf("Unban without a ban: %v", err)
	}
	if err := s.Ban(ctx, "r1", "u1", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if l := banned("r1", "u1"); l <= 0 {
		t.Fatalf("banned for 50ms: left %v", l)
	}
	time.Sleep(60 * time.Millisecond)
	if l := banned("r1", "u1"); l != 0 {
		t.Errorf("50ms ban after 60ms: left %v", l)
	}
}

func TestLimit(t *testing.T) {
	tests := []struct {
		l        Limit
		enabled  bool
		interval time.Duration
		burst    int64
	}{
		{Limit{}, false, 0, 1},
		{Limit{Rate: -1, Burst: 5}, false, 0, 5},
		{Limit{Rate: 2, Burst: 0}, true, 500 * time.Millisecond, 1},
		{Limit{Rate: 0.5, Burst: 10}, true, 2 * time.Second, 10},
	}
	for _, tt := range tests {
		if got := tt.l.Enabled(); got != tt.enabled {
			t.Errorf("%+v.Enabled() = %v", tt.l, got)
		}
		if tt.enabled && tt.l.interval() != tt.interval {
			t.Errorf("%+v.interval() = %v; want %v", tt.l, tt.l.interval(), tt.interval)
		}
		if got := tt.l.burst(); got != tt.burst {
			t.Errorf("%+v.burst() = %d; want %d", tt.l, got, tt.burst)
		}
	}
}

// TestMemorySweeps checks expired entries do not pile up.
func TestMemorySweeps(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	for i := range 3 * minSweep {
		if _, err := m.Claim(ctx, Key{Name: "k" + strconv.Itoa(i)}, time.Nanosecond); err != nil {
			t.Fatal(err)
		}
	}
	m.mu.Lock()
	n := len(m.mu.entries)
	m.mu.Unlock()
	if n > minSweep {
		t.Errorf("%d entries held after %d expired claims; want at most %d", n, 3*minSweep, minSweep)
	}
	if _, err := m.Claim(ctx, Key{Name: "live"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if left, _ := m.Claim(ctx, Key{Name: "live"}, time.Hour); left == 0 {
		t.Error("a live claim was swept")
	}
}
