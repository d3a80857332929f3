package stream

import (
	"context"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// Follower reads what is appended to a set of rooms, each from its own
// position, and keeps the set and the positions between reads: after a
// Read, each room's position is the last entry of its page (whatever its
// ID, see Page.Gap). A Follower is used by one goroutine at a time.
type Follower interface {
	// Follow follows room from after, or moves the position of a room
	// followed already to after. The next Read looks at the room.
	Follow(room string, after codec.ID)
	// Unfollow stops following room.
	Unfollow(room string)
	// Read is Log.Read over the followed rooms from their positions, in
	// no particular order, and moves the positions past what it returns.
	Read(ctx context.Context, count int, block time.Duration) ([]Page, error)
	// Close unfollows every room.
	Close()
}

// NewFollower returns a Follower of log. The embedded Memory log is
// followed by wake-ups from the rooms appended to, so a Read costs in
// proportion to the rooms with new entries (Memory.follower). Any other
// Log, Redis included, is followed through Log.Read with a cursor per
// followed room (cursorFollower).
func NewFollower(log Log) Follower {
	if m, ok := log.(*Memory); ok {
		return m.follower()
	}
	return &cursorFollower{log: log, index: make(map[string]int)}
}

// cursorFollower follows rooms through Log.Read, which looks at every
// followed room: on Redis an XREAD of all their keys. So that the looking
// stays a small share of a core however many rooms there are, after a
// Read that returned entries it waits before the next one (readPause),
// unless a page came back full or a room was followed meanwhile.
type cursorFollower struct {
	log     Log
	cursors []Cursor
	index   map[string]int // room → its cursor in cursors
	// next is when the next Read may look at the rooms.
	next time.Time
}

func (f *cursorFollower) Follow(room string, after codec.ID) {
	f.next = time.Time{} // a room to follow is read at once
	if i, ok := f.index[room]; ok {
		f.cursors[i].After = after
		return
	}
	f.index[room] = len(f.cursors)
	f.cursors = append(f.cursors, Cursor{Room: room, After: after})
}

func (f *cursorFollower) Unfollow(room string) {
	i, ok := f.index[room]
	if !ok {
		return
	}
	last := len(f.cursors) - 1
	f.cursors[i] = f.cursors[last]
	f.index[f.cursors[i].Room] = i
	f.cursors = f.cursors[:last]
	delete(f.index, room)
}

func (f *cursorFollower) Close() {
	clear(f.index)
	f.cursors = f.cursors[:0]
}

func (f *cursorFollower) Read(ctx context.Context, count int, block time.Duration) ([]Page, error) {
	if wait := time.Until(f.next); wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
	pages, err := f.log.Read(ctx, f.cursors, count, block)
	if err != nil {
		return nil, err
	}
	for i := range pages {
		if n := len(pages[i].Entries); n > 0 {
			f.cursors[f.index[pages[i].Room]].After = pages[i].Entries[n-1].ID
		}
	}
	f.next = time.Now().Add(readPause(len(f.cursors), pages, count))
	return pages, nil
}

// readPacePerRoom is how long a cursorFollower waits, per room it follows,
// after a Read that returned entries and before the next one (at most
// maxReadPace). With 1 000 rooms of 10 viewers at a comment a second each,
// reading after every comment made the follower half of a node's CPU
// (docs/performance.md, "Many small rooms"). The wait delays a comment by
// at most maxReadPace, a fifth of fan-out's default flush interval, and
// only a room's first comment after a quiet spell feels it: the others
// wait for their flush window anyway.
const (
	readPacePerRoom = 5 * time.Microsecond
	maxReadPace     = 10 * time.Millisecond
)

// readPause returns how long to wait before reading again, after a Read of
// rooms rooms that returned pages, of count entries at most each (zero or
// less: no cap). A Read that filled a page is followed at once: there is
// more to read.
func readPause(rooms int, pages []Page, count int) time.Duration {
	if len(pages) == 0 {
		return 0
	}
	for i := range pages {
		if count > 0 && len(pages[i].Entries) >= count {
			return 0
		}
	}
	return min(time.Duration(rooms)*readPacePerRoom, maxReadPace)
}
