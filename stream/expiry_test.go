package stream

import (
	"fmt"
	"hash/maphash"
	"testing"
	"time"
)

func TestExpiries(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		ttl, every time.Duration
	}{{time.Second, 10 * time.Millisecond}, {time.Hour, 36 * time.Second}, {DefaultStreamTTL, maxRefreshEvery}} {
		e := newExpiries(tc.ttl)
		if e.fresh("a", now) {
			t.Errorf("TTL %v: a room never refreshed is fresh", tc.ttl)
		}
		e.refreshed("a", now)
		for _, c := range []struct {
			room  string
			after time.Duration
			want  bool
		}{{"a", 0, true}, {"a", tc.every - 1, true}, {"a", tc.every, false}, {"b", 0, false}} {
			if got := e.fresh(c.room, now.Add(c.after)); got != c.want {
				t.Errorf("TTL %v: fresh(%q) %v after a refresh of %q = %v; want %v", tc.ttl, c.room, c.after, "a", got, c.want)
			}
		}
	}
}

// TestExpiriesSharedSlot checks that a room whose slot another room took
// is no longer fresh: the table forgets, and the room is refreshed again.
func TestExpiriesSharedSlot(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	e := newExpiries(time.Hour)
	slot := maphash.String(e.seed, "a") % expirySlots
	other := ""
	for i := 0; other == ""; i++ {
		if room := fmt.Sprint("r", i); maphash.String(e.seed, room)%expirySlots == slot {
			other = room
		}
	}
	e.refreshed("a", now)
	e.refreshed(other, now)
	if e.fresh("a", now) {
		t.Errorf("room a is fresh after %q took its slot", other)
	}
	if !e.fresh(other, now) {
		t.Errorf("room %q is not fresh after its refresh", other)
	}
}
