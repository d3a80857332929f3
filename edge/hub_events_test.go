package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/edge"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// TestJoinSinceAheadOfDelivery joins with the ID of an entry the hub has
// read but not flushed yet (as after a reconnect to another node): the
// viewer gets exactly what follows that ID, nothing twice.
func TestJoinSinceAheadOfDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: 300 * time.Millisecond}, newMemory(0), nil, 1)
	keeper := e.viewer(0, e.jsonEnc)
	e.join(0, "room", keeper, nil)
	keeper.waitJoined(t)
	first := e.append("room", 0) // an idle room sends at once
	keeper.waitLast(t, first)
	ids := []string{first}
	for n := 1; n <= 3; n++ { // these wait for the window
		ids = append(ids, e.append("room", n))
	}
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, parseID(t, ids[2]))
	ids = append(ids, e.append("room", 4))
	v.waitLast(t, ids[4])
	var got []int
	for _, b := range v.batches(t) {
		if b.Gap || b.Dropped != 0 {
			t.Errorf("batch %+v reports a loss", b)
		}
		got = append(got, ns(b.Msgs)...)
	}
	if want := []int{3, 4}; !slices.Equal(got, want) {
		t.Errorf("viewer got %v; want %v", got, want)
	}
}

// TestSlowViewerMovesToPriorityTier makes a viewer refuse frames, as a
// connection past SoftOutbound does: it moves to the priority-only tier,
// where it still gets the priority comments, the normal ones counted in
// "dropped"; once it drains it returns to the full stream, its first frame
// preceded by a gap notice. The other viewer sees nothing of it.
func TestSlowViewerMovesToPriorityTier(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, newMemory(0), nil, 1)
	slow, fast := e.viewer(0, e.jsonEnc), e.viewer(0, e.jsonEnc)
	e.join(0, "room", slow, nil)
	e.join(0, "room", fast, nil)
	slow.waitJoined(t)
	fast.waitJoined(t)
	e.loops[0].Do(func() { slow.slow = true })
	// 0 is refused and moves the viewer; 1 has a priority, 2 not; the
	// viewer drains; 3 is sent in the priority tier (it was flushed
	// before the viewer's return), and has nothing of it; 4 is full.
	prio := map[int]bool{1: true}
	var ids []string
	for n := range 5 {
		if n == 3 {
			e.loops[0].Do(func() { slow.slow = false })
		}
		if prio[n] {
			ids = append(ids, e.appendRaw("room", prioData(n)))
		} else {
			ids = append(ids, e.append("room", n))
		}
		fast.waitLast(t, ids[n])
	}
	slow.waitLast(t, ids[4])
	var got []string
	for _, b := range slow.batches(t) {
		switch {
		case b.Gap:
			got = append(got, "gap")
		case b.Dropped > 0:
			got = append(got, fmt.Sprintf("%d/dropped %d", len(b.Msgs), b.Dropped))
		default:
			got = append(got, fmt.Sprintf("%d", len(b.Msgs)))
		}
	}
	// 1 alone, 2 and 3 dropped (batches of their own with nothing else:
	// no frame); then the notice and 4.
	if want := []string{"1", "gap", "1"}; !slices.Equal(got, want) {
		t.Errorf("slow viewer got %v; want %v", got, want)
	}
	if got, want := slow.ids(t), []string{ids[1], ids[4]}; !slices.Equal(got, want) {
		t.Errorf("slow viewer got messages %v; want %v", got, want)
	}
	for _, b := range fast.batches(t) {
		if b.Gap || b.Dropped > 0 {
			t.Errorf("fast viewer got a loss: %+v", b)
		}
	}
	if n := len(fast.ids(t)); n != 5 {
		t.Errorf("fast viewer got %d messages; want 5", n)
	}
}

// fixedCounter reports the same count for every room.
type fixedCounter struct {
	mu    sync.Mutex
	count int
	rooms [][]string
}

func (c *fixedCounter) OnlineMany(_ context.Context, rooms []string) (map[string]int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rooms = append(c.rooms, slices.Sorted(slices.Values(rooms)))
	out := make(map[string]int, len(rooms))
	for _, r := range rooms {
		out[r] = c.count
	}
	return out, nil
}

// TestOnlineCounts sends every room with viewers its count each
// OnlineInterval, once per room whatever the number of viewers.
func TestOnlineCounts(t *testing.T) {
	t.Parallel()
	counter := &fixedCounter{count: 42}
	e := newEnv(t, fanout.Config{OnlineInterval: 20 * time.Millisecond, Counter: counter}, newMemory(0), nil, 2)
	var viewers []*viewer
	for i, room := range []string{"a", "a", "b"} {
		v := e.viewer(i%2, e.jsonEnc)
		e.join(i%2, room, v, nil)
		v.waitJoined(t)
		viewers = append(viewers, v)
	}
	for i, v := range viewers {
		waitFor(t, "an online frame", func() bool { frames, _ := v.state(); return len(frames) > 0 })
		frames, _ := v.state()
		var got struct {
			Type  string `json:"type"`
			Room  string `json:"room"`
			Count int    `json:"count"`
		}
		if err := json.Unmarshal(frames[0], &got); err != nil || got.Type != "online" || got.Count != 42 {
			t.Errorf("viewer %d got %s (%v); want an online count of 42", i, frames[0], err)
		}
	}
	counter.mu.Lock()
	defer counter.mu.Unlock()
	if !slices.Equal(counter.rooms[0], []string{"a", "b"}) {
		t.Errorf("Counter asked for %v; want each room with viewers once", counter.rooms[0])
	}
}

// TestOnlineCountsLocal counts this hub's viewers when no Counter is set.
func TestOnlineCountsLocal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{OnlineInterval: 20 * time.Millisecond}, newMemory(0), nil, 1)
	a, b := e.viewer(0, e.jsonEnc), e.viewer(0, e.jsonEnc)
	e.join(0, "r", a, nil)
	e.join(0, "r", b, nil)
	waitFor(t, "an online frame of 2", func() bool {
		frames, _ := a.state()
		return len(frames) > 0 && string(frames[len(frames)-1]) == `{"type":"online","room":"r","count":2}`
	})
}

// payloads splits what a frame-encoding viewer received into the JSON of
// each WebSocket frame.
func payloads(t *testing.T, v *viewer) []string {
	t.Helper()
	frames, _ := v.state()
	var out []string
	for _, b := range frames {
		for len(b) > 0 {
			h, n, err := codec.ParseHeader(b)
			if err != nil || n == 0 || int64(len(b)-n) < h.Length {
				t.Fatalf("bad frame %q: %v", b, err)
			}
			out = append(out, string(b[n:n+int(h.Length)]))
			b = b[n+int(h.Length):]
		}
	}
	return out
}

func (e *env) appendDelete(room, id string) string {
	e.tb.Helper()
	data, err := codec.EncodeDelete(id)
	if err != nil {
		e.tb.Fatal(err)
	}
	return e.appendRaw(room, data)
}

// TestDeleteReachesViewers turns a delete record in the stream into a
// delete message after the batch, live and in a replay; a replay leaves
// out the deleted message itself.
func TestDeleteReachesViewers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, newMemory(0), nil, 1)
	live := e.viewer(0, e.frameEnc)
	e.join(0, "room", live, nil)
	live.waitJoined(t)
	before := e.append("room", 0)
	first := e.append("room", 1)
	e.appendDelete("room", first)
	last := e.append("room", 2)
	has := func(v *viewer, s string) func() bool {
		return func() bool {
			return slices.ContainsFunc(payloads(t, v), func(p string) bool { return strings.Contains(p, s) })
		}
	}
	want := `{"type":"delete","room":"room","id":"` + first + `"}`
	waitFor(t, "the delete", has(live, want))
	waitFor(t, "the last message", has(live, last))

	late := e.viewer(0, e.frameEnc)
	e.join(0, "room", late, parseID(t, before))
	waitFor(t, "the replay", has(late, last))
	got := payloads(t, late)
	if !slices.Contains(got, want) {
		t.Errorf("replay %q lacks %s", got, want)
	}
	for _, p := range got {
		if strings.Contains(p, `"id":"`+first+`","n"`) {
			t.Errorf("replay carries the deleted message: %s", p)
		}
	}
}

// TestPriorityFirstAndNeverDropped overflows a batch with plain and
// priority messages: the priority ones come first and all survive.
func TestPriorityFirstAndNeverDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: 200 * time.Millisecond, MaxBatch: 3}, newMemory(0), nil, 1)
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, nil)
	v.waitJoined(t)
	v.waitLast(t, e.append("room", 0)) // an idle room sends at once; the rest wait
	var last string
	for n := 1; n <= 8; n++ {
		data := msgData(n)
		if n%4 == 0 {
			data = []byte(`{"prio":5,"n":` + strconv.Itoa(n) + `}`)
		}
		last = e.appendRaw("room", data)
	}
	waitFor(t, "the overflowing batch", func() bool { return len(v.batches(t)) == 2 })
	b := v.batches(t)[1]
	if got := ns(b.Msgs); !slices.Equal(got, []int{4, 8, 7}) || b.Dropped != 5 {
		t.Errorf("batch %v dropped %d; want [4 8 7] with 5 dropped", got, b.Dropped)
	}
	if b.Msgs[1].ID != last || b.Msgs[1].Prio != 5 {
		t.Errorf("second message %+v; want the priority one %s", b.Msgs[1], last)
	}
}

// TestRetriedCopiesDropped stores a message twice under one author's cid,
// as a retried POST can: viewers get it once, live and in a replay. Another
// author's message with the same cid is no copy: viewers get it too.
func TestRetriedCopiesDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, newMemory(0), nil, 1)
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, nil)
	v.waitJoined(t)
	before := e.append("room", 0)
	e.appendRaw("room", []byte(`{"cid":"retry-1","uid":"alice","n":1}`))
	e.appendRaw("room", []byte(`{"cid":"retry-1","uid":"alice","n":1}`))
	e.appendRaw("room", []byte(`{"cid":"retry-1","uid":"bob","n":2}`))
	last := e.append("room", 3)
	v.waitLast(t, last)
	var got []int
	for _, b := range v.batches(t) {
		got = append(got, ns(b.Msgs)...)
	}
	if want := []int{0, 1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("live viewer got %v; want %v", got, want)
	}
	if n := e.hub.Duplicates(); n != 1 {
		t.Errorf("Duplicates() = %d; want 1", n)
	}
	late := e.viewer(0, e.jsonEnc)
	e.join(0, "room", late, parseID(t, before))
	late.waitLast(t, last)
	got = got[:0]
	for _, b := range late.batches(t) {
		got = append(got, ns(b.Msgs)...)
	}
	if want := []int{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("replayed viewer got %v; want %v", got, want)
	}
}

// leaver leaves its room, and another viewer's, from inside Send, as a
// connection whose write fails is closed at once.
type leaver struct {
	shard  *edge.Shard
	sub    *edge.Member
	others []*edge.Member
	sends  int
}

func (l *leaver) Send([]byte, bool) bool {
	l.sends++
	l.shard.Leave(l.sub)
	for _, o := range l.others {
		l.shard.Leave(o)
	}
	return false
}

func (l *leaver) Joined(string) {}

func (l *leaver) Drained() bool { return true }

// TestLeaveDuringDelivery: viewers that leave while a batch is being
// written to the room do not disturb delivery to the others.
func TestLeaveDuringDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, newMemory(0), nil, 1)
	var stay []*viewer
	var leavers []*leaver
	e.loops[0].Do(func() {
		for i := range 20 {
			if i%3 == 0 {
				l := &leaver{shard: e.shards[0]}
				l.sub = e.shards[0].Join("room", l, e.jsonEnc, nil)
				leavers = append(leavers, l)
				continue
			}
			v := e.viewer(0, e.jsonEnc)
			e.shards[0].Join("room", v, e.jsonEnc, nil)
			stay = append(stay, v)
		}
		// The first leaver also takes the second one out mid-walk.
		leavers[0].others = []*edge.Member{leavers[1].sub}
	})
	for _, v := range stay {
		v.waitJoined(t)
	}
	var last string
	for n := range 3 {
		last = e.append("room", n)
	}
	for _, v := range stay {
		v.waitLast(t, last)
		if got := ns(msgsOf(v.batches(t))); !slices.Equal(got, []int{0, 1, 2}) {
			t.Errorf("viewer got %v; want [0 1 2]", got)
		}
	}
	e.loops[0].Do(func() {
		for i, l := range leavers {
			if l.sends > 1 {
				t.Errorf("leaver %d was sent %d frames after leaving", i, l.sends)
			}
		}
	})
	if n := e.online("room"); n != len(stay) {
		t.Errorf("online = %d; want %d", n, len(stay))
	}
}

func msgsOf(batches []batch) []msg {
	var out []msg
	for _, b := range batches {
		out = append(out, b.Msgs...)
	}
	return out
}
