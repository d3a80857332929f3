package fanout

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// countingLoop counts the online counts delivered to it, by room.
type countingLoop struct {
	mu     sync.Mutex
	counts map[string]int
}

func (l *countingLoop) Deliver(f *Frames) {
	l.mu.Lock()
	if f.Kind == KindEvent {
		l.counts[f.Room]++
	}
	l.mu.Unlock()
	f.Release()
}

func (l *countingLoop) Replay(f *Frames, _ []*Subscription) { f.Release() }

// askedCounter answers every room 7 and records the rooms of each call.
type askedCounter struct{ calls [][]string }

func (c *askedCounter) OnlineMany(_ context.Context, rooms []string) (map[string]int, error) {
	c.calls = append(c.calls, slices.Sorted(slices.Values(rooms)))
	out := make(map[string]int, len(rooms))
	for _, r := range rooms {
		out[r] = 7
	}
	return out, nil
}

// TestOnlineSpread: one turn of every part sends each room with viewers
// exactly one count, and each turn asks for the rooms of its part only.
func TestOnlineSpread(t *testing.T) {
	const rooms, parts = 40, 5
	counter := &askedCounter{}
	h := New(Config{Counter: counter}, stream.NewMemory(stream.MemoryConfig{}), nil)
	h.RegisterEncoder(codec.NativeEncoder{})
	loop := &countingLoop{counts: map[string]int{}}
	h.Attach(loop)
	var want []string
	for i := range rooms {
		name := "room-" + strconv.Itoa(i)
		h.Subscribe(name, 0, 0, TierFull, nil)
		want = append(want, name)
	}
	for part := range parts {
		h.sendOnline(context.Background(), part, parts)
	}
	var asked []string
	for _, call := range counter.calls {
		if len(call) == rooms {
			t.Errorf("one turn asked for all %d rooms", rooms)
		}
		for _, name := range call {
			if p := onlinePart(name, parts); p != onlinePart(call[0], parts) {
				t.Errorf("one turn asked for %s (part %d) and %s (part %d)", call[0], onlinePart(call[0], parts), name, p)
			}
		}
		asked = append(asked, call...)
	}
	slices.Sort(asked)
	slices.Sort(want)
	if !slices.Equal(asked, want) {
		t.Errorf("the turns asked for %v; want each room once: %v", asked, want)
	}
	loop.mu.Lock()
	defer loop.mu.Unlock()
	for _, name := range want {
		if loop.counts[name] != 1 {
			t.Errorf("room %s got %d counts; want 1", name, loop.counts[name])
		}
	}
}

func TestOnlinePart(t *testing.T) {
	if got := onlinePart("anything", 1); got != 0 {
		t.Errorf("onlinePart of one part = %d; want 0", got)
	}
	seen := map[int]int{}
	for i := range 1000 {
		room := "room-" + strconv.Itoa(i)
		p := onlinePart(room, 50)
		if p < 0 || p >= 50 || onlinePart(room, 50) != p {
			t.Fatalf("onlinePart(%q, 50) = %d, then %d; want the same part in [0, 50)", room, p, onlinePart(room, 50))
		}
		seen[p]++
	}
	for p := range 50 {
		if seen[p] < 5 || seen[p] > 40 {
			t.Errorf("part %d holds %d of 1 000 rooms; want about 20", p, seen[p])
		}
	}
}
