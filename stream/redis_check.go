package stream

import (
	"sync"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// verdict tells whether the entries of a stream after a position are all
// still there.
type verdict int

const (
	// intact: every entry ever added after the position is in the stream.
	intact verdict = iota
	// trimmed: retention removed entries after the position; the stream
	// holds the newest ones.
	trimmed
	// reset: the position is not from this stream's history. The stream
	// was deleted (a Redis restarted without its data, or was flushed)
	// and maybe created again, possibly with lower IDs.
	reset
)

// classify tells what became of the entries after after, assuming after is
// zero or an ID the stream once generated (the positions readers hold).
//
// Redis 7 does not record the last ID that MAXLEN trimming removed (XINFO
// STREAM's max-deleted-entry-id only follows XDEL), so trimming is inferred
// from a position older than the oldest retained entry in a stream that
// has lost entries (entries-added > length). That is conservative: a
// position equal to the very last trimmed entry counts as trimmed although
// nothing after it is missing. Memory, which knows that ID, is exact.
func (info streamInfo) classify(after codec.ID) verdict {
	switch {
	case !info.exists:
		if after.IsZero() {
			return intact
		}
		return reset
	case info.lastGenerated.Less(after):
		return reset
	case info.length == 0:
		if after.Less(info.lastGenerated) {
			return trimmed
		}
		return intact
	case !after.Less(info.first):
		return intact
	case info.entriesAdded > info.length:
		return trimmed
	case after.IsZero():
		return intact
	default:
		return reset
	}
}

// checkInterval is how often Read verifies each room it follows from a
// non-zero cursor with XINFO STREAM, to detect resets that XREAD alone
// cannot see.
const checkInterval = time.Second

// forgetAfter is how long roomChecks remembers a room it no longer checks.
const forgetAfter = time.Minute

// roomChecks remembers, for each room Read follows, when it was last
// verified and the last cursor a gap was reported at, so that a room costs
// at most one XINFO STREAM per checkInterval and a lasting condition (a
// deleted stream) is reported once, not every second.
type roomChecks struct {
	mu struct {
		sync.Mutex
		rooms    map[string]roomCheck
		prunedAt time.Time
	}
}

type roomCheck struct {
	checkedAt  time.Time
	reported   bool
	reportedAt codec.ID // the cursor a gap was last reported at
}

// dueLocked reports whether room, followed from a non-zero cursor, should
// be verified at now, and if so records now as its check time.
func (c *roomChecks) dueLocked(room string, now time.Time) bool {
	if c.mu.rooms == nil {
		c.mu.rooms = make(map[string]roomCheck)
	}
	rc := c.mu.rooms[room]
	if now.Sub(rc.checkedAt) < checkInterval {
		return false
	}
	rc.checkedAt = now
	c.mu.rooms[room] = rc
	return true
}

// undo makes the rooms of cursors[i], for each i of checked, due again:
// their checks were recorded but failed.
func (c *roomChecks) undo(cursors []Cursor, checked []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range checked {
		room := cursors[i].Room
		if rc, ok := c.mu.rooms[room]; ok {
			rc.checkedAt = time.Time{}
			c.mu.rooms[room] = rc
		}
	}
}

// pruneLocked forgets, at most once per forgetAfter, the rooms not
// verified for forgetAfter.
func (c *roomChecks) pruneLocked(now time.Time) {
	if now.Sub(c.mu.prunedAt) < forgetAfter {
		return
	}
	c.mu.prunedAt = now
	for room, rc := range c.mu.rooms {
		if now.Sub(rc.checkedAt) >= forgetAfter {
			delete(c.mu.rooms, room)
		}
	}
}

// alreadyReported reports whether a gap was reported for room at cursor
// after.
func (c *roomChecks) alreadyReported(room string, after codec.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	rc, ok := c.mu.rooms[room]
	return ok && rc.reported && rc.reportedAt == after
}

// reported records that a gap was returned for room at cursor after.
func (c *roomChecks) reported(room string, after codec.ID, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.rooms == nil {
		c.mu.rooms = make(map[string]roomCheck)
	}
	rc := c.mu.rooms[room]
	if rc.checkedAt.IsZero() {
		rc.checkedAt = now
	}
	rc.reported, rc.reportedAt = true, after
	c.mu.rooms[room] = rc
}
