package stream

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// memoryFollower is the Follower of a Memory log. Each followed room holds
// its registration for as long as it is followed, and every Append to it
// marks it and wakes the follower. A Read looks only at the rooms marked
// since the last one (and those just followed, or whose last page was
// full), so it costs in proportion to the rooms with new entries, not to
// the rooms followed. A followed room is never evicted, as a room a
// blocked Read waits on.
type memoryFollower struct {
	m      *Memory
	signal *followSignal
	rooms  map[string]*followed
	// due are the rooms the next Read looks at whatever the marks: just
	// followed, or with a full last page.
	due   []*followed
	look  []*followed // collect's scratch
	timer *time.Timer
	// pass numbers the calls of collect, so that a room both due and
	// marked is read once per Read.
	pass uint64
}

// followSignal is how the rooms' Appends tell a memoryFollower which of
// its rooms have new entries.
type followSignal struct {
	wake chan struct{} // capacity 1: one pending wake-up covers many marks
	mu   sync.Mutex
	// marked are the rooms appended to since the follower last took them.
	marked []*followed
}

// followed is a room a memoryFollower follows.
type followed struct {
	signal *followSignal
	r      *room
	// Owned by the follower's goroutine.
	after  codec.ID
	gone   bool   // unfollowed; a mark taken later is ignored
	looked uint64 // the pass of collect that last read the room
	// marked is set by the first Append since the follower took the mark.
	marked atomic.Bool
}

// follower returns a new Follower of m (see NewFollower).
func (m *Memory) follower() *memoryFollower {
	return &memoryFollower{
		m:      m,
		signal: &followSignal{wake: make(chan struct{}, 1)},
		rooms:  make(map[string]*followed),
	}
}

// mark records that the room has new entries and wakes the follower, once
// until the follower takes the mark. Called with the room's lock held.
func (f *followed) mark() {
	if !f.marked.CompareAndSwap(false, true) {
		return
	}
	s := f.signal
	s.mu.Lock()
	s.marked = append(s.marked, f)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (f *memoryFollower) Follow(name string, after codec.ID) {
	if fl := f.rooms[name]; fl != nil {
		fl.after = after
		f.due = append(f.due, fl)
		return
	}
	fl := &followed{signal: f.signal, after: after}
	for {
		r := f.m.roomFor(name, f.m.clock(time.Now()))
		r.mu.Lock()
		if !r.dead {
			r.followers = append(r.followers, fl)
			fl.r = r
			r.mu.Unlock()
			break
		}
		r.mu.Unlock() // evicted meanwhile: look it up again
	}
	f.rooms[name] = fl
	f.due = append(f.due, fl)
}

func (f *memoryFollower) Unfollow(name string) {
	fl := f.rooms[name]
	if fl == nil {
		return
	}
	delete(f.rooms, name)
	fl.gone = true
	r := fl.r
	r.mu.Lock()
	r.followers = slices.DeleteFunc(r.followers, func(o *followed) bool { return o == fl })
	r.mu.Unlock()
}

func (f *memoryFollower) Close() {
	for name := range f.rooms {
		f.Unfollow(name)
	}
}

func (f *memoryFollower) Read(ctx context.Context, count int, block time.Duration) ([]Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if block > 0 {
		f.m.maybeSweep(f.m.clock(time.Now()), f.m.sweepInterval)
	}
	pages := f.collect(count)
	if len(pages) > 0 || block <= 0 {
		return pages, nil
	}
	if f.timer == nil {
		f.timer = time.NewTimer(block)
	} else {
		f.timer.Reset(block)
	}
	defer f.timer.Stop()
	for len(pages) == 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.timer.C:
			return nil, nil
		case <-f.signal.wake:
		}
		pages = f.collect(count)
	}
	return pages, nil
}

// collect reads the rooms marked since the last call and the due ones, and
// returns a page for each that has entries after its position.
func (f *memoryFollower) collect(count int) []Page {
	s := f.signal
	s.mu.Lock()
	look := append(append(f.look[:0], f.due...), s.marked...)
	clear(s.marked)
	s.marked = s.marked[:0]
	s.mu.Unlock()
	clear(f.due)
	f.due = f.due[:0]
	f.pass++
	var pages []Page
	for _, fl := range look {
		if fl.gone || fl.looked == f.pass {
			continue
		}
		fl.looked = f.pass
		// Cleared before the room is read: an Append after this point
		// marks the room again, so none is missed.
		fl.marked.Store(false)
		r := fl.r
		r.mu.Lock()
		entries, gap := r.rangeLocked(fl.after, codec.ID{}, count, false)
		r.mu.Unlock()
		if len(entries) == 0 {
			continue
		}
		fl.after = entries[len(entries)-1].ID
		pages = append(pages, Page{Room: r.name, Entries: entries, Gap: gap})
		if count > 0 && len(entries) == count {
			f.due = append(f.due, fl) // there may be more
		}
	}
	clear(look)
	f.look = look[:0]
	return pages
}
