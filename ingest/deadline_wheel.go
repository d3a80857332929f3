package ingest

import (
	"sync"
	"time"
)

// deadlineTick is how finely the Done channels of deadlines are timed:
// the deadlines that end within one tick share one runtime timer, which
// closes their channels at the tick's end, at most a tick late. Err is
// exact. A runtime timer of its own per post (time.AfterFunc, then Stop)
// cost more than a post's hooks with Redis, where rueidis waits on Done
// for every command (docs/performance.md, "Deadlines share their timers").
const deadlineTick = 10 * time.Millisecond

// deadlineTimers times the deadlines that something waits on.
var deadlineTimers = newTimerWheel(deadlineTick)

// timerWheel expires deadlines a tick at a time: a slot per tick that has
// deadlines in it, with one runtime timer that fires at the tick's end.
// A deadline leaves its slot when it ends first (remove), so a slot holds
// only the deadlines still running.
type timerWheel struct {
	tick  time.Duration
	epoch time.Time // the origin of the ticks' numbers, on the monotonic clock

	mu    sync.Mutex
	slots map[int64]*wheelEntry // the head of each slot's list, by tick number
}

// wheelEntry is one deadline in a slot, in a list linked through next and
// prev. Its fields are guarded by the wheel's mu; slot is the tick number
// of its slot, and -1 once it left the slot.
type wheelEntry struct {
	c          *deadline
	slot       int64
	prev, next *wheelEntry
}

func newTimerWheel(tick time.Duration) *timerWheel {
	return &timerWheel{tick: tick, epoch: time.Now(), slots: make(map[int64]*wheelEntry)}
}

// add puts c in the slot of the first tick that ends at or after its
// deadline, which c must not have reached, and returns its entry, for
// remove.
func (w *timerWheel) add(c *deadline) *wheelEntry {
	n := int64((c.at.Sub(w.epoch) + w.tick - 1) / w.tick)
	e := &wheelEntry{c: c, slot: n}
	w.mu.Lock()
	head, ok := w.slots[n]
	if !ok {
		time.AfterFunc(time.Until(w.epoch.Add(time.Duration(n)*w.tick)), func() { w.fire(n) })
	}
	if head != nil {
		head.prev = e
	}
	e.next = head
	w.slots[n] = e
	w.mu.Unlock()
	return e
}

// remove takes e out of its slot, unless the slot has fired.
func (w *timerWheel) remove(e *wheelEntry) {
	w.mu.Lock()
	if e.slot >= 0 {
		if e.prev != nil {
			e.prev.next = e.next
		} else {
			w.slots[e.slot] = e.next
		}
		if e.next != nil {
			e.next.prev = e.prev
		}
		e.slot, e.prev, e.next = -1, nil, nil
	}
	w.mu.Unlock()
}

// fire expires the deadlines still in slot n. Once they are out of the
// slot, under mu, nothing else changes their links, and each is expired
// without mu: a deadline's own lock is taken before the wheel's.
func (w *timerWheel) fire(n int64) {
	w.mu.Lock()
	head := w.slots[n]
	delete(w.slots, n)
	for e := head; e != nil; e = e.next {
		e.slot = -1
	}
	w.mu.Unlock()
	for e := head; e != nil; e = e.next {
		e.c.expire()
	}
}
