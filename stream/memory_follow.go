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
// marks it and wakes the follower; so does the follower itself for a room
// it just followed, or whose last page was full. A Read looks only at the
// marked rooms, so it costs in proportion to the rooms with new entries,
// not to the rooms followed. A followed room is never evicted, as a room a
// blocked Read waits on.
type memoryFollower struct {
	m      *Memory
	signal *followSignal
	rooms  map[string]*followed
	spare  []*followed // the list collect swaps for the marked one
	timer  *time.Timer
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
	after codec.ID
	gone  bool // unfollowed; a mark taken later is ignored
	// marked is set by the first mark since the follower took the last
	// one, so that a room is on the marked list once.
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

// mark records that the room is to be read and wakes the follower, once
// until the follower takes the mark: by an Append, with the room's lock
// held, or by the follower itself.
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
		fl.mark()
		return
	}
	r := f.m.lockLive(name, f.m.clock(time.Now()))
	fl := &followed{signal: f.signal, r: r, after: after}
	r.followers = append(r.followers, fl)
	r.mu.Unlock()
	f.rooms[name] = fl
	fl.mark()
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

// collect reads the rooms marked since the last call, and returns a page
// for each that has entries after its position.
func (f *memoryFollower) collect(count int) []Page {
	s := f.signal
	s.mu.Lock()
	look := s.marked
	s.marked = f.spare
	s.mu.Unlock()
	var pages []Page
	for _, fl := range look {
		if fl.gone {
			continue
		}
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
			fl.mark() // there may be more
		}
	}
	clear(look)
	f.spare = look[:0]
	return pages
}
