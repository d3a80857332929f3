package edge_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// lastID returns the ID of the newest message v has received, or "".
func (v *viewer) lastID(tb testing.TB) string {
	tb.Helper()
	ids := v.ids(tb)
	if len(ids) == 0 {
		return ""
	}
	return ids[len(ids)-1]
}

// waitLast waits until v has received the message with ID id.
func (v *viewer) waitLast(tb testing.TB, id string) {
	tb.Helper()
	waitFor(tb, "message "+id, func() bool { return v.lastID(tb) == id })
}

// TestJoinSince joins a room with history, followed already or not yet,
// with each kind of since: the viewer gets what the stream holds after
// since, then the live messages, each once and in order.
func TestJoinSince(t *testing.T) {
	t.Parallel()
	const history = 10
	sinces := []struct {
		name string
		// since returns the since to join with; ids are the history's.
		since func(ids []string) *codec.ID
		// from is the number of the first message the viewer gets.
		from int
		// gap is whether the first frame reports a gap: a since beyond
		// the log means the log was reset, or the ID is not from it.
		gap bool
	}{
		{"none", func([]string) *codec.ID { return nil }, history, false},
		{"zero", func([]string) *codec.ID { return &codec.ID{} }, 0, false},
		{"middle", func(ids []string) *codec.ID { return parseID(t, ids[3]) }, 4, false},
		{"newest", func(ids []string) *codec.ID { return parseID(t, ids[history-1]) }, history, false},
		{"future", func([]string) *codec.ID { return &codec.ID{MS: 1 << 62} }, history, true},
	}
	for _, followed := range []bool{true, false} {
		for _, tc := range sinces {
			t.Run(fmt.Sprintf("%s/followed=%v", tc.name, followed), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, newMemory(0), nil, 2)
				var keeper *viewer
				if followed {
					keeper = e.viewer(1, e.jsonEnc)
					e.join(1, "room", keeper, nil)
					keeper.waitJoined(t)
				}
				var ids []string
				for n := range history {
					ids = append(ids, e.append("room", n))
				}
				if followed {
					keeper.waitLast(t, ids[history-1])
				}

				v := e.viewer(0, e.frameEnc)
				e.join(0, "room", v, tc.since(ids))
				v.waitJoined(t)
				for n := history; n < history+3; n++ {
					ids = append(ids, e.append("room", n))
				}
				v.waitLast(t, ids[len(ids)-1])

				var got []int
				for i, b := range v.batches(t) {
					if b.Gap != (tc.gap && i == 0) || b.Dropped != 0 {
						t.Errorf("batch %d %+v: gap %v, dropped %d; want gap %v and none dropped", i, b, b.Gap, b.Dropped, tc.gap && i == 0)
					}
					got = append(got, ns(b.Msgs)...)
				}
				var want []int
				for n := tc.from; n < history+3; n++ {
					want = append(want, n)
				}
				if !slices.Equal(got, want) {
					t.Errorf("viewer got %v; want %v", got, want)
				}
				if _, joined := v.state(); len(joined) != 1 {
					t.Errorf("Joined called %d times; want once", len(joined))
				}
			})
		}
	}
}

// TestJoinReplayGap joins with a since the stream no longer holds, or
// further back than ReplayLimit: the first frame says gap, and holds the
// newest entries.
func TestJoinReplayGap(t *testing.T) {
	t.Parallel()
	for _, followed := range []bool{true, false} {
		t.Run(fmt.Sprintf("trimmed/followed=%v", followed), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, newMemory(10), nil, 1)
			var keeper *viewer
			if followed {
				keeper = e.viewer(0, e.jsonEnc)
				e.join(0, "room", keeper, nil)
				keeper.waitJoined(t)
			}
			var ids []string
			for n := range 30 {
				ids = append(ids, e.append("room", n))
			}
			if followed {
				keeper.waitLast(t, ids[29])
			}
			v := e.viewer(0, e.jsonEnc)
			e.join(0, "room", v, parseID(t, ids[0]))
			v.waitJoined(t)
			e.append("room", 30)
			v.waitIDs(t, 11)
			bs := v.batches(t)
			if len(bs) != 2 || !bs[0].Gap || bs[1].Gap {
				t.Fatalf("got batches %+v; want a gap batch, then a live one", bs)
			}
			if got, want := append(ns(bs[0].Msgs), ns(bs[1].Msgs)...), []int{20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30}; !slices.Equal(got, want) {
				t.Errorf("viewer got %v; want %v", got, want)
			}
		})
	}
	t.Run("ReplayLimit", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReplayLimit: 5}, newMemory(0), nil, 1)
		for n := range 10 {
			e.append("room", n)
		}
		v := e.viewer(0, e.jsonEnc)
		e.join(0, "room", v, &codec.ID{})
		v.waitIDs(t, 5)
		bs := v.batches(t)
		if len(bs) != 1 || !bs[0].Gap || !slices.Equal(ns(bs[0].Msgs), []int{5, 6, 7, 8, 9}) {
			t.Errorf("got batches %+v; want one gap batch of messages 5 to 9", bs)
		}
	})
}

// TestJoinReplaySplit checks that a replay longer than MaxBatch comes in
// frames of at most MaxBatch messages, none of them dropped.
func TestJoinReplaySplit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, MaxBatch: 4}, newMemory(0), nil, 1)
	for n := range 10 {
		e.append("room", n)
	}
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, &codec.ID{})
	v.waitIDs(t, 10)
	var got [][]int
	for _, b := range v.batches(t) {
		if b.Gap || b.Dropped != 0 {
			t.Errorf("replay batch %+v reports a loss", b)
		}
		got = append(got, ns(b.Msgs))
	}
	if want := [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("replay came in batches %v; want %v", got, want)
	}
}

// TestJoinWhileRoomStarts joins a second viewer, with since, while the
// room's newest entry is still being looked up for the first one.
func TestJoinWhileRoomStarts(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	faulty.holdLast.Store(true)
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, faulty.Memory, faulty, 2)
	first := e.append("room", 0)
	e.append("room", 1)
	live := e.viewer(0, e.jsonEnc)
	e.join(0, "room", live, nil)
	replayed := e.viewer(1, e.frameEnc)
	e.join(1, "room", replayed, parseID(t, first))
	faulty.release()
	live.waitJoined(t)
	replayed.waitJoined(t)
	e.append("room", 2)
	live.waitIDs(t, 1)
	replayed.waitIDs(t, 2)
	if got := ns(flatten(live.batches(t))); !slices.Equal(got, []int{2}) {
		t.Errorf("viewer without since got %v; want [2]", got)
	}
	if got := ns(flatten(replayed.batches(t))); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("viewer with since got %v; want [1 2]", got)
	}
}

func flatten(bs []batch) []msg {
	var out []msg
	for _, b := range bs {
		out = append(out, b.Msgs...)
	}
	return out
}

// TestLeaveStopsDelivery checks that a viewer who left gets nothing more,
// and that leaving twice is harmless.
func TestLeaveStopsDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, newMemory(0), nil, 1)
	stays, leaves := e.viewer(0, e.jsonEnc), e.viewer(0, e.jsonEnc)
	e.join(0, "room", stays, nil)
	sub := e.join(0, "room", leaves, nil)
	if sub.Room() != "room" {
		t.Errorf("Sub.Room() = %q; want room", sub.Room())
	}
	stays.waitJoined(t)
	leaves.waitJoined(t)
	e.append("room", 0)
	leaves.waitIDs(t, 1)
	e.leave(0, sub)
	e.leave(0, sub)
	e.append("room", 1)
	stays.waitIDs(t, 2)
	if got := ns(flatten(leaves.batches(t))); !slices.Equal(got, []int{0}) {
		t.Errorf("viewer who left got %v; want only [0]", got)
	}
}

// TestLeaveDuringReplay leaves while the replay is being read: the viewer
// is never reported joined and gets nothing, and the others are unharmed.
func TestLeaveDuringReplay(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	// No replays from memory: this one must read the stream.
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReplayCache: -1}, faulty.Memory, faulty, 1)
	keeper := e.viewer(0, e.jsonEnc)
	e.join(0, "room", keeper, nil)
	keeper.waitJoined(t)
	e.append("room", 0)
	keeper.waitIDs(t, 1)

	faulty.holdRange.Store(true)
	v := e.viewer(0, e.jsonEnc)
	sub := e.join(0, "room", v, &codec.ID{})
	<-faulty.rangeEntered
	e.append("room", 1)
	keeper.waitIDs(t, 2)
	e.leave(0, sub)
	faulty.release()
	<-faulty.rangeReturned
	e.append("room", 2)
	keeper.waitIDs(t, 3)
	// The replay's hand-over to the loop is not observable: give it ample
	// time to do wrong.
	time.Sleep(50 * time.Millisecond)
	if frames, joined := v.state(); len(frames) != 0 || len(joined) != 0 {
		t.Errorf("viewer who left during its replay got frames %q and Joined %q; want nothing", frames, joined)
	}
	if got := e.online("room"); got != 1 {
		t.Errorf("Online = %d; want 1", got)
	}
}

// TestLeaveWhileRoomStarts leaves before the room's newest entry is known:
// the viewer gets nothing, and the room serves later viewers.
func TestLeaveWhileRoomStarts(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	faulty.holdLast.Store(true)
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, faulty.Memory, faulty, 1)
	e.append("room", 0)
	left := e.viewer(0, e.jsonEnc)
	e.leave(0, e.join(0, "room", left, &codec.ID{}))
	if got := e.online("room"); got != 0 {
		t.Errorf("Online after leaving = %d; want 0", got)
	}
	faulty.release()
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, nil)
	v.waitJoined(t)
	e.append("room", 1)
	v.waitIDs(t, 1)
	if frames, joined := left.state(); len(frames) != 0 || len(joined) != 0 {
		t.Errorf("viewer who left got frames %q and Joined %q; want nothing", frames, joined)
	}
}

// TestJoinSeamUnderLoad joins viewers at random moments, on random shards
// and with random kinds of since, while messages keep being appended. Each
// viewer must get exactly the stream after its since (a viewer without
// since: a run of it up to its end), with no gap and no duplicate at the
// seam between replay and live.
func TestJoinSeamUnderLoad(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) { seamRound(t, uint64(round)) })
	}
}

func seamRound(t *testing.T, seed uint64) {
	const (
		messages = 600
		joiners  = 40
	)
	cfg := fanout.Config{FlushInterval: 2 * time.Millisecond, MaxBatch: 1 << 20, ReplayLimit: 1 << 20, ReadBlock: 50 * time.Millisecond}
	e := newEnv(t, cfg, newMemory(0), nil, 2)
	rooms := []string{"a", "b"}
	refs := make(map[string]*viewer)
	for i, room := range rooms {
		refs[room] = e.viewer(i, e.jsonEnc)
		e.join(i, room, refs[room], nil)
		refs[room].waitJoined(t)
	}

	var publishers sync.WaitGroup
	for _, room := range rooms {
		publishers.Go(func() {
			for n := range messages {
				e.append(room, n)
				if n%4 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}

	type joiner struct {
		v     *viewer
		room  string
		since *codec.ID
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var joined []joiner
	for i := range joiners {
		time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
		j := joiner{room: rooms[rng.IntN(len(rooms))]}
		switch rng.IntN(4) {
		case 0:
		case 1:
			j.since = &codec.ID{}
		default:
			// A viewer coming back with the last ID it saw: one this
			// hub has delivered.
			if seen := refs[j.room].ids(t); len(seen) > 0 {
				j.since = parseID(t, seen[rng.IntN(len(seen))])
			} else {
				j.since = &codec.ID{}
			}
		}
		shard := rng.IntN(len(e.shards))
		j.v = e.viewer(shard, i%2)
		e.join(shard, j.room, j.v, j.since)
		joined = append(joined, j)
	}
	publishers.Wait()
	final := make(map[string]string)
	for _, room := range rooms {
		final[room] = e.append(room, messages)
	}

	for i, j := range joined {
		j.v.waitLast(t, final[j.room])
		got := j.v.ids(t)
		var want []string
		if j.since != nil {
			want = e.streamIDs(j.room, *j.since)
		} else {
			all := e.streamIDs(j.room, codec.ID{})
			if k := slices.Index(all, got[0]); k >= 0 {
				want = all[k:]
			}
		}
		if d := diffIDs(got, want); d != "" {
			t.Errorf("viewer %d of room %s with since %v: %s", i, j.room, j.since, d)
		}
		for _, b := range j.v.batches(t) {
			if b.Gap || b.Dropped != 0 || b.Room != j.room {
				t.Errorf("viewer %d of room %s got batch of room %s, gap %v, dropped %d", i, j.room, b.Room, b.Gap, b.Dropped)
			}
		}
		if _, calls := j.v.state(); len(calls) != 1 {
			t.Errorf("viewer %d: Joined called %d times; want once", i, len(calls))
		}
	}
}

// TestSlowEncoderKeepsOrder makes one batch's encoding outlast the flush
// window while more messages arrive: the next batch must not overtake it.
func TestSlowEncoderKeepsOrder(t *testing.T) {
	t.Parallel()
	const window = 10 * time.Millisecond
	e := newEnv(t, fanout.Config{FlushInterval: window}, newMemory(0), nil, 1)
	slow := e.hub.RegisterEncoder(encoder{func(dst []byte, b *codec.Batch) []byte {
		if len(b.Items) > 0 && strings.HasSuffix(string(b.Items[0].JSON), ","+string(msgData(1)[1:])) {
			time.Sleep(10 * window)
		}
		return codec.AppendBatchJSON(dst, b)
	}, codec.AppendOnlineJSON})
	v := &viewer{loop: e.loops[0]}
	e.loops[0].Do(func() { e.shards[0].Join("room", v, slow, nil) })
	v.waitJoined(t)
	e.append("room", 0)
	v.waitIDs(t, 1)
	e.append("room", 1)
	time.Sleep(3 * window)
	e.append("room", 2)
	v.waitIDs(t, 3)
	if got := ns(flatten(v.batches(t))); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("viewer got %v; want [0 1 2]", got)
	}
}
