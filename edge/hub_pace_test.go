package edge_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/stream"
)

// countingLog is a Memory log that counts the follower's reads. Not being
// a *stream.Memory, it is followed through Read, with a cursor per room,
// as Redis is (stream.NewFollower).
type countingLog struct {
	*stream.Memory
	reads atomic.Int64
}

func (c *countingLog) Read(ctx context.Context, cursors []stream.Cursor, count int, block time.Duration) ([]stream.Page, error) {
	c.reads.Add(1)
	return c.Memory.Read(ctx, cursors, count, block)
}

// TestFollowerPacesReadsOverManyRooms follows 2 000 rooms and posts to 40
// of them a millisecond apart: every comment reaches its viewer, and the
// follower, whose every read looks at all 2 000 rooms, reads at most once
// per pause of 10 ms (2 000 × 5 µs, capped) instead of once per comment.
func TestFollowerPacesReadsOverManyRooms(t *testing.T) {
	t.Parallel()
	const rooms, posted = 2000, 40
	const pace = 10 * time.Millisecond // min(rooms × 5 µs, 10 ms)
	log := &countingLog{Memory: newMemory(0)}
	e := newEnv(t, fanout.Config{}, log.Memory, log, 1)
	viewers := make([]*viewer, rooms)
	for i := range viewers {
		viewers[i] = e.viewer(0, e.jsonEnc)
		e.join(0, "r"+strconv.Itoa(i), viewers[i], nil)
	}
	for _, v := range viewers {
		v.waitJoined(t)
	}

	before, start := log.reads.Load(), time.Now()
	for n := range posted {
		e.append("r"+strconv.Itoa(n*rooms/posted), n)
		time.Sleep(time.Millisecond)
	}
	for n := range posted {
		ids := viewers[n*rooms/posted].waitIDs(t, 1)
		if want := e.streamIDs("r"+strconv.Itoa(n*rooms/posted), codec.ID{}); len(ids) != 1 || len(want) != 1 || ids[0] != want[0] {
			t.Errorf("room %d: viewer got %v; want %v", n*rooms/posted, ids, want)
		}
	}
	elapsed, reads := time.Since(start), log.reads.Load()-before
	// One read per pause, one more for the read under way at the start
	// and one each for the joins' last wake-ups.
	if most := int64(elapsed/pace) + 3; reads > most {
		t.Errorf("%d reads of %d rooms in %v for %d comments; want at most %d (one per %v)", reads, rooms, elapsed, posted, most, pace)
	}
}
