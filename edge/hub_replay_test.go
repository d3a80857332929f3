package edge_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/stream"
)

// followed makes room followed, with a viewer that stays, and appends n
// messages to it, returning their IDs once the viewer has them.
func (e *env) followed(t *testing.T, room string, n int) []string {
	t.Helper()
	keeper := e.viewer(0, e.jsonEnc)
	e.join(0, room, keeper, nil)
	keeper.waitJoined(t)
	var ids []string
	for i := range n {
		ids = append(ids, e.append(room, i))
	}
	keeper.waitIDs(t, n)
	return ids
}

// TestReplayFromMemory: a viewer resuming from a position the room's recent
// entries cover is replayed with no stream read; one resuming from further
// back than ReplayCache is read from the stream. Both get exactly what
// followed their position.
func TestReplayFromMemory(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReplayCache: 4}, faulty.Memory, faulty, 1)
	ids := e.followed(t, "room", 10)

	recent := e.viewer(0, e.jsonEnc)
	e.join(0, "room", recent, parseID(t, ids[7]))
	if got := recent.waitIDs(t, 2); !slices.Equal(got, ids[8:]) {
		t.Errorf("replay from memory: %s", diffIDs(got, ids[8:]))
	}
	st := e.hub.Stats()
	if st.ReplaysFromMemory.Load() != 1 || st.ReplayReads.Load() != 0 {
		t.Errorf("from memory %d, reads %d; want 1 and 0", st.ReplaysFromMemory.Load(), st.ReplayReads.Load())
	}

	old := e.viewer(0, e.jsonEnc)
	e.join(0, "room", old, parseID(t, ids[2]))
	if got := old.waitIDs(t, 7); !slices.Equal(got, ids[3:]) {
		t.Errorf("replay from the stream: %s", diffIDs(got, ids[3:]))
	}
	if st.ReplayReads.Load() != 1 {
		t.Errorf("reads %d; want 1 for a position older than the cache", st.ReplayReads.Load())
	}
}

// TestReplaysShareOneRead: viewers of a room resuming from the same
// position while a read is in flight wait for the room's next read and all
// share it: a room has one read in flight at a time, and 20 viewers cost
// two reads, not 20.
func TestReplaysShareOneRead(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReplayCache: -1}, faulty.Memory, faulty, 2)
	ids := e.followed(t, "room", 5)

	faulty.holdRange.Store(true)
	first := e.viewer(0, e.jsonEnc)
	e.join(0, "room", first, &codec.ID{})
	<-faulty.rangeEntered
	var viewers []*viewer
	for i := range 20 {
		v := e.viewer(i%2, e.jsonEnc)
		e.join(i%2, "room", v, &codec.ID{})
		viewers = append(viewers, v)
	}
	select {
	case <-faulty.rangeEntered:
		t.Fatal("a second read of the room began while the first was in flight")
	case <-time.After(20 * time.Millisecond):
	}
	faulty.release()
	for i, v := range append(viewers, first) {
		if got := v.waitIDs(t, 5); !slices.Equal(got, ids) {
			t.Errorf("viewer %d: %s", i, diffIDs(got, ids))
		}
	}
	if got := e.hub.Stats().ReplayReads.Load(); got != 2 {
		t.Errorf("ReplayReads = %d; want 2 (the first viewer's, then one for the 20)", got)
	}
}

// TestReplayReadsBounded: replays of many rooms at once never have more
// than ReplayReads stream reads in flight; the rest wait in the queue and
// are all served.
func TestReplayReadsBounded(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReplayCache: -1, ReplayReads: 2}, faulty.Memory, faulty, 1)
	const rooms = 6
	for i := range rooms {
		e.followed(t, "r"+strconv.Itoa(i), 1)
	}
	faulty.holdRange.Store(true)
	var viewers []*viewer
	for i := range rooms {
		v := e.viewer(0, e.jsonEnc)
		e.join(0, "r"+strconv.Itoa(i), v, &codec.ID{})
		viewers = append(viewers, v)
	}
	<-faulty.rangeEntered
	<-faulty.rangeEntered
	select {
	case <-faulty.rangeEntered:
		t.Fatal("a third read began with ReplayReads 2")
	case <-time.After(20 * time.Millisecond):
	}
	faulty.release()
	for _, v := range viewers {
		v.waitIDs(t, 1)
	}
}

// TestLeavingCancelsTheRead: when every viewer waiting for a read leaves,
// the read is cancelled and nobody is sent anything.
func TestLeavingCancelsTheRead(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReplayCache: -1}, faulty.Memory, faulty, 1)
	e.followed(t, "room", 1)

	faulty.holdRange.Store(true)
	v := e.viewer(0, e.jsonEnc)
	e.leave(0, e.join(0, "room", v, &codec.ID{}))
	select {
	case <-faulty.rangeEntered:
		// The read began before the leave: the leave must cancel it.
		select {
		case <-faulty.rangeReturned:
		case <-time.After(waitTimeout):
			t.Fatal("the read of a replay nobody waits for was not cancelled")
		}
	case <-time.After(20 * time.Millisecond):
		// The group was dropped before its read began.
	}
	if frames, joined := v.state(); len(frames) != 0 || len(joined) != 0 {
		t.Errorf("a viewer that left got frames %q and Joined %q", frames, joined)
	}
}

// TestReplayReadSeedsMemory: on a new edge the room's recent entries start
// at its newest entry, so the first viewer resuming from before it needs a
// stream read; that read fills the recent entries back to its position,
// and the viewers resuming from there or later are replayed from memory.
func TestReplayReadSeedsMemory(t *testing.T) {
	t.Parallel()
	mem := newMemory(0)
	var ids []string
	for i := range 5 {
		ids = append(ids, must(t, mem, "room", i))
	}
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, mem, nil, 1)
	ids = append(ids, e.followed(t, "room", 3)...)

	first := e.viewer(0, e.jsonEnc)
	e.join(0, "room", first, parseID(t, ids[1]))
	if got := first.waitIDs(t, 6); !slices.Equal(got, ids[2:]) {
		t.Fatalf("first viewer: %s", diffIDs(got, ids[2:]))
	}
	for _, since := range []int{1, 3} {
		v := e.viewer(0, e.jsonEnc)
		e.join(0, "room", v, parseID(t, ids[since]))
		if got := v.waitIDs(t, len(ids)-since-1); !slices.Equal(got, ids[since+1:]) {
			t.Errorf("viewer from %d: %s", since, diffIDs(got, ids[since+1:]))
		}
	}
	st := e.hub.Stats()
	if st.ReplayReads.Load() != 1 || st.ReplaysFromMemory.Load() != 2 {
		t.Errorf("reads %d, from memory %d; want 1 and 2", st.ReplayReads.Load(), st.ReplaysFromMemory.Load())
	}
}

// must appends message n to room of mem before any hub follows it.
func must(t *testing.T, mem *stream.Memory, room string, n int) string {
	t.Helper()
	id, err := mem.Append(context.Background(), room, msgData(n))
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}
