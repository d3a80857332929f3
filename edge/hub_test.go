package edge_test

import (
	"bytes"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/edge"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/fanout"
)

// TestDeliveryManyViewers has viewers of two encodings in several rooms
// over three shards, and rooms published to concurrently: every viewer gets
// every message of its room once, in order, and nothing else; each batch is
// encoded once per encoding its viewers use, whatever their number; viewers
// of one encoding get byte-identical frames.
func TestDeliveryManyViewers(t *testing.T) {
	t.Parallel()
	const (
		shards   = 3
		perRoom  = 30
		messages = 150
	)
	e := newEnv(t, fanout.Config{FlushInterval: 3 * time.Millisecond, MaxBatch: 1 << 20, ReadBlock: 100 * time.Millisecond}, newMemory(0), nil, shards)
	rooms := []string{"r0", "r1", "r2", "json-only"}
	viewers := make(map[string][]*viewer)
	for _, room := range rooms {
		for i := range perRoom {
			enc := e.jsonEnc
			if i%2 == 1 && room != "json-only" {
				enc = e.frameEnc
			}
			v := e.viewer(i%shards, enc)
			e.join(i%shards, room, v, nil)
			viewers[room] = append(viewers[room], v)
		}
	}
	for _, room := range rooms {
		for _, v := range viewers[room] {
			v.waitJoined(t)
		}
		if got := e.online(room); got != perRoom {
			t.Errorf("Online(%q) = %d; want %d", room, got, perRoom)
		}
	}

	// Message numbers tell the rooms apart: room r sends r*1000 onwards.
	var wg sync.WaitGroup
	for r, room := range rooms {
		wg.Go(func() {
			for n := range messages {
				e.append(room, r*1000+n)
				if n%10 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()

	for r, room := range rooms {
		want := e.streamIDs(room, codec.ID{})
		// first[enc] is the frames of the room's first viewer of enc.
		var first [2][][]byte
		for i, v := range viewers[room] {
			got := v.waitIDs(t, messages)
			if d := diffIDs(got, want); d != "" {
				t.Fatalf("room %s viewer %d: %s", room, i, d)
			}
			frames, joined := v.state()
			if !slices.Equal(joined, []string{room}) {
				t.Errorf("room %s viewer %d: Joined calls %q; want [%q]", room, i, joined, room)
			}
			for _, b := range v.batches(t) {
				if b.Room != room || b.Gap || b.Dropped != 0 {
					t.Errorf("room %s viewer %d got batch of room %q, gap %v, dropped %d", room, i, b.Room, b.Gap, b.Dropped)
				}
				for j, m := range b.Msgs {
					if m.N/1000 != r || j > 0 && m.N != b.Msgs[j-1].N+1 {
						t.Errorf("room %s viewer %d got msgs %v; want consecutive numbers from %d on", room, i, ns(b.Msgs), r*1000)
						break
					}
				}
			}
			enc := 0
			if v.frame {
				enc = 1
			}
			if first[enc] == nil {
				first[enc] = frames
				continue
			}
			if !slices.EqualFunc(frames, first[enc], bytes.Equal) {
				t.Errorf("room %s viewer %d got frames different from the first viewer of its encoding", room, i)
			}
		}
		for enc, frames := range first {
			if got := e.counts[enc].calls(room); got != len(frames) {
				t.Errorf("room %s: encoder %d ran %d times for %d batches; want once per batch", room, enc, got, len(frames))
			}
		}
		if room == "json-only" {
			continue
		}
		if len(first[0]) != len(first[1]) {
			t.Fatalf("room %s: %d JSON frames, %d WebSocket frames; want the same batches", room, len(first[0]), len(first[1]))
		}
		for i := range first[0] {
			if p := payload(t, first[1][i], true); !bytes.Equal(p, first[0][i]) {
				t.Errorf("room %s batch %d: WebSocket payload %q; want the JSON frame %q", room, i, p, first[0][i])
			}
		}
	}
	if got := e.counts[e.frameEnc].calls("json-only"); got != 0 {
		t.Errorf("frame encoder ran %d times for a room with only JSON viewers; want 0", got)
	}
}

// TestFirstMessageAtOnceThenWindow checks the flush window: the first
// message to an idle room goes out at once, the next ones gather into one
// batch until FlushInterval has passed since the last frame, and a room
// that has been quiet for a window again sends at once.
func TestFirstMessageAtOnceThenWindow(t *testing.T) {
	t.Parallel()
	const window = time.Second
	e := newEnv(t, fanout.Config{FlushInterval: window}, newMemory(0), nil, 1)
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, nil)
	v.waitJoined(t)

	start := time.Now()
	e.append("room", 1)
	v.waitIDs(t, 1)
	if d := time.Since(start); d > window/2 {
		t.Fatalf("first message took %v; want it at once (window %v)", d, window)
	}
	for n := 2; n <= 6; n++ {
		e.append("room", n)
	}
	v.waitIDs(t, 6)
	if d := time.Since(start); d < window {
		t.Errorf("second batch came %v after the first message; want no sooner than the window %v", d, window)
	}
	bs := v.batches(t)
	if len(bs) != 2 || !slices.Equal(ns(bs[0].Msgs), []int{1}) || !slices.Equal(ns(bs[1].Msgs), []int{2, 3, 4, 5, 6}) {
		t.Fatalf("got batches %+v; want [1] then [2 3 4 5 6]", bs)
	}

	time.Sleep(window + window/10)
	quiet := time.Now()
	e.append("room", 7)
	v.waitIDs(t, 7)
	if d := time.Since(quiet); d > window/2 {
		t.Errorf("message to a quiet room took %v; want it at once (window %v)", d, window)
	}
}

// TestMaxBatchKeepsNewest checks that a window holding more than MaxBatch
// messages sends the newest and counts the others as dropped.
func TestMaxBatchKeepsNewest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: 500 * time.Millisecond, MaxBatch: 5}, newMemory(0), nil, 1)
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, nil)
	v.waitJoined(t)
	e.append("room", 0)
	v.waitIDs(t, 1)
	for n := 1; n <= 12; n++ {
		e.append("room", n)
	}
	v.waitIDs(t, 6)
	bs := v.batches(t)
	if len(bs) != 2 {
		t.Fatalf("got %d batches %+v; want 2", len(bs), bs)
	}
	if got := ns(bs[1].Msgs); !slices.Equal(got, []int{8, 9, 10, 11, 12}) || bs[1].Dropped != 7 || bs[1].Gap {
		t.Errorf("overflowing batch has msgs %v, dropped %d, gap %v; want [8 9 10 11 12], dropped 7, no gap", got, bs[1].Dropped, bs[1].Gap)
	}
	if bs[0].Dropped != 0 {
		t.Errorf("first batch has dropped %d; want 0", bs[0].Dropped)
	}
}

// TestOnline checks the viewer counts (Online and Counts) across shards
// and encodings, joins still waiting for their room, leaves and unknown
// rooms.
func TestOnline(t *testing.T) {
	t.Parallel()
	gate := newFaultyLog(newMemory(0))
	gate.holdLast.Store(true)
	e := newEnv(t, fanout.Config{}, gate.Memory, gate, 2)

	if got := e.online("nobody"); got != 0 {
		t.Errorf("Online(unknown room) = %d; want 0", got)
	}
	var subs []*edge.Member
	for i := range 5 {
		subs = append(subs, e.join(i%2, "a", e.viewer(i%2, i%2), nil))
	}
	if got := e.online("a"); got != 5 {
		t.Errorf("Online(a) while its stream is being looked up = %d; want 5", got)
	}
	gate.release()
	e.join(1, "b", e.viewer(1, e.jsonEnc), nil)
	if got, want := [2]int{e.online("a"), e.online("b")}, [2]int{5, 1}; got != want {
		t.Errorf("Online(a), Online(b) = %v; want %v", got, want)
	}
	if got, want := e.hub.Counts(), map[string]int{"a": 5, "b": 1}; !maps.Equal(got, want) {
		t.Errorf("Counts() = %v; want %v", got, want)
	}
	e.leave(0, subs[0])
	e.leave(0, subs[0])
	e.leave(1, subs[1])
	if got := e.online("a"); got != 3 {
		t.Errorf("Online(a) after two leaves (one repeated) = %d; want 3", got)
	}
	for i, sub := range subs[2:] {
		e.leave((i+2)%2, sub)
	}
	if got := e.online("a"); got != 0 {
		t.Errorf("Online(a) after every leave = %d; want 0", got)
	}
	if got, want := e.hub.Counts(), map[string]int{"b": 1}; !maps.Equal(got, want) {
		t.Errorf("Counts() after a's viewers left = %v; want %v", got, want)
	}
}

// TestMalformedEntriesSkipped appends entries that are not a stored message
// straight to the log: they are counted and never sent, live or replayed,
// and every frame stays valid JSON.
func TestMalformedEntriesSkipped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReadBlock: 100 * time.Millisecond}, newMemory(0), nil, 1)
	live := e.viewer(0, e.jsonEnc)
	e.join(0, "room", live, nil)
	live.waitJoined(t)

	malformed := [][]byte{
		nil,
		[]byte(`not json`),
		[]byte(`[1,2]`),
		[]byte(`"text"`),
		[]byte(`{"n":1`),
		[]byte(`{"n":1}` + "\n"),
		[]byte("{\"text\":\"\xff\xfe\"}"),
		[]byte(`{oops}`),
		[]byte(`{"a":1}{"b":2}`),
		[]byte(`{"a":"}`),
	}
	var want []int
	for i, data := range malformed {
		e.append("room", i)
		want = append(want, i)
		e.appendRaw("room", data)
	}
	e.append("room", len(malformed))
	want = append(want, len(malformed))

	check := func(v *viewer, what string) {
		t.Helper()
		v.waitIDs(t, len(want))
		var got []int
		for _, b := range v.batches(t) {
			got = append(got, ns(b.Msgs)...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s viewer got %v; want %v", what, got, want)
		}
	}
	check(live, "live")
	waitFor(t, "the live skips to be counted", func() bool { return e.hub.Skipped() == uint64(len(malformed)) })

	replayed := e.viewer(0, e.frameEnc)
	e.join(0, "room", replayed, &codec.ID{})
	check(replayed, "replayed")
	waitFor(t, "the replay skips to be counted", func() bool { return e.hub.Skipped() == uint64(2*len(malformed)) })
}

// TestRoomLingerDropAndRejoin checks that a room without viewers is no
// longer followed after RoomLinger, that a room with viewers is kept, and
// that joining the dropped room again works, with and without since.
func TestRoomLingerDropAndRejoin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReadBlock: 20 * time.Millisecond, RoomLinger: 60 * time.Millisecond}, newMemory(0), nil, 2)
	keep := e.viewer(1, e.jsonEnc)
	e.join(1, "kept", keep, nil)
	v := e.viewer(0, e.jsonEnc)
	sub := e.join(0, "room", v, nil)
	v.waitJoined(t)
	keep.waitJoined(t)
	first := e.append("room", 1)
	v.waitIDs(t, 1)
	e.leave(0, sub)

	waitFor(t, "the idle room to be dropped", func() bool { return !slices.Contains(e.hub.Followed(), "room") })
	if !slices.Contains(e.hub.Followed(), "kept") {
		t.Fatal("a room with a viewer was dropped")
	}
	if got := e.online("room"); got != 0 {
		t.Errorf("Online(dropped room) = %d; want 0", got)
	}
	e.append("room", 2)
	e.append("room", 3)

	back := e.viewer(0, e.jsonEnc)
	e.join(0, "room", back, parseID(t, first))
	fresh := e.viewer(1, e.frameEnc)
	e.join(1, "room", fresh, nil)
	fresh.waitJoined(t)
	back.waitJoined(t)
	e.append("room", 4)
	e.append("kept", 5)

	if got, want := back.waitIDs(t, 3), e.streamIDs("room", *parseID(t, first)); !slices.Equal(got, want) {
		t.Errorf("viewer back with since got %v; want %v", got, want)
	}
	last := e.streamIDs("room", codec.ID{})[3:]
	if got := fresh.waitIDs(t, 1); !slices.Equal(got, last) {
		t.Errorf("viewer back without since got %v; want %v", got, last)
	}
	if got := keep.waitIDs(t, 1); len(got) != 1 {
		t.Errorf("viewer of the kept room got %v; want one message", got)
	}
	if got := v.ids(t); len(got) != 1 {
		t.Errorf("viewer who left got %v; want only its first message", got)
	}
	if got := e.online("room"); got != 2 {
		t.Errorf("Online(rejoined room) = %d; want 2", got)
	}
}
