package fanout

import (
	"slices"

	"github.com/danmu-dev/danmu/codec"
)

// recent holds a room's newest stream entries as read and decoded, so that a viewer
// resuming from a recent position (a reconnect, a rolling deploy) is
// replayed from memory: no stream read, no goroutine. It is guarded by its
// room's mu.
type recent struct {
	// entries are the newest entries read, oldest first; every entry of
	// the stream after from and through the last of them is here.
	entries []codec.Entry
	from    codec.ID
	// capacity is how many entries it keeps (Config.ReplayCache).
	capacity int
}

// reset empties the ring: from now on it holds what follows after.
func (rc *recent) reset(after codec.ID) {
	clear(rc.entries)
	rc.entries = rc.entries[:0]
	rc.from = after
}

// add appends the entries of a page read after the ring's newest entry.
// A page with a gap (trimmed, or the log was reset) breaks the run: the
// ring starts again after the page.
func (rc *recent) add(entries []codec.Entry, gap bool) {
	n := len(entries)
	if n == 0 || rc.capacity <= 0 {
		return
	}
	if gap {
		rc.reset(entries[n-1].ID)
		return
	}
	rc.entries = append(rc.entries, entries...)
	if over := len(rc.entries) - rc.capacity; over > 0 {
		rc.from = rc.entries[over-1].ID
		if len(rc.entries) >= 2*rc.capacity {
			// Move the kept entries to the front so that the array
			// does not grow without bound.
			kept := copy(rc.entries, rc.entries[over:])
			clear(rc.entries[kept:])
			rc.entries = rc.entries[:kept]
		} else {
			rc.entries = rc.entries[over:]
		}
	}
}

// seed adds the entries of a complete page of the run after since through
// through (a replay read with no gap) in front of the ring, when the run
// meets the ring, so that the viewers resuming from since or later after
// it are replayed from memory. A new edge's ring starts at the room's
// newest entry; seeding it from the first replay read means a whole room
// reconnecting after a restart costs about one read, not one per wave of
// viewers.
func (rc *recent) seed(since, through codec.ID, page []codec.Entry) {
	if rc.capacity <= 0 || !since.Less(rc.from) || through.Less(rc.from) {
		return // nothing older to add, or a hole between the run and the ring
	}
	older := 0
	for older < len(page) && !rc.from.Less(page[older].ID) {
		older++
	}
	room := rc.capacity - len(rc.entries)
	if room <= 0 {
		return
	}
	if older > room {
		since = page[older-room-1].ID
		page = page[older-room : older]
	} else {
		page = page[:older]
	}
	rc.entries = append(append(make([]codec.Entry, 0, len(page)+len(rc.entries)), page...), rc.entries...)
	rc.from = since
}

// span returns a copy of the entries after since through through, and
// whether the ring holds all of them. The copy may be used once the room's
// mu is released (the ring moves its entries when it compacts).
func (rc *recent) span(since, through codec.ID) ([]codec.Entry, bool) {
	newest := rc.from
	if n := len(rc.entries); n > 0 {
		newest = rc.entries[n-1].ID
	}
	if rc.capacity <= 0 || since.Less(rc.from) || newest.Less(through) {
		return nil, false
	}
	start := 0
	for start < len(rc.entries) && !since.Less(rc.entries[start].ID) {
		start++
	}
	end := start
	for end < len(rc.entries) && !through.Less(rc.entries[end].ID) {
		end++
	}
	return slices.Clone(rc.entries[start:end]), true
}
