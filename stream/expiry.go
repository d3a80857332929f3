package stream

import (
	"hash/maphash"
	"sync/atomic"
	"time"
)

// maxRefreshEvery bounds how long a node goes without refreshing the
// expiry of a room's stream it appends to: streams expire between TTL
// minus this and TTL after their last comment.
const maxRefreshEvery = time.Minute

// expirySlots is the size of the table of recent refreshes: rooms posted
// to at once beyond it share slots, and refresh more often than needed,
// never less.
const expirySlots = 4096

// refresh is the last expiry refresh a node sent for a room's stream.
type refresh struct {
	room  string
	until int64 // Unix nanoseconds after which the next Append refreshes again
}

// expiries remembers, for the rooms recently appended to, until when their
// stream's expiry needs no refresh: a PEXPIRE per comment costs Redis a
// second command and the node a pipelined command's work, for an expiry
// that moves by a few milliseconds. The table is bounded: a room whose slot
// another took is simply refreshed again. Safe for concurrent use.
type expiries struct {
	every int64 // nanoseconds a refresh lasts; immutable
	seed  maphash.Seed
	slots [expirySlots]atomic.Pointer[refresh]
}

// newExpiries returns the table for streams that expire ttl after their
// last comment: a refresh lasts a hundredth of ttl, at most a minute.
func newExpiries(ttl time.Duration) *expiries {
	return &expiries{every: int64(min(ttl/100, maxRefreshEvery)), seed: maphash.MakeSeed()}
}

// fresh reports whether room's stream had its expiry refreshed by this node
// recently enough, at now, to skip refreshing it.
func (e *expiries) fresh(room string, now time.Time) bool {
	r := e.slots[maphash.String(e.seed, room)%expirySlots].Load()
	return r != nil && r.room == room && now.UnixNano() < r.until
}

// refreshed records that room's stream had its expiry refreshed by a
// command sent at sent.
func (e *expiries) refreshed(room string, sent time.Time) {
	e.slots[maphash.String(e.seed, room)%expirySlots].Store(&refresh{room: room, until: sent.UnixNano() + e.every})
}
