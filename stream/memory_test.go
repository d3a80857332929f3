package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// memoryAppend appends n entries "<room>/<i>" to room and returns their IDs.
func memoryAppend(t *testing.T, m *Memory, room string, n int) []codec.ID {
	t.Helper()
	ids := make([]codec.ID, n)
	for i := range ids {
		id, err := m.Append(context.Background(), room, []byte(room+"/"+strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("Append(%q) = %v", room, err)
		}
		ids[i] = id
	}
	return ids
}

// memoryFill appends entries with the given IDs to room, bypassing the clock,
// so tests can ask for positions between and around them.
func memoryFill(m *Memory, room string, ids []codec.ID) {
	r := m.roomFor(room, m.clock(time.Now()))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 && !m.reserve() {
		panic("memoryFill: MaxRooms reached")
	}
	for _, id := range ids {
		r.appendLocked(Entry{ID: id, Data: []byte(id.String())}, m.maxLen)
	}
}

// waitReadBlocked waits until n blocked Reads are registered with room.
func waitReadBlocked(t *testing.T, m *Memory, room string, n int) {
	t.Helper()
	for {
		if r := m.lookup(room); r != nil {
			r.mu.Lock()
			live := 0
			for _, g := range r.waiters {
				if !g.finished() {
					live++
				}
			}
			r.mu.Unlock()
			if live >= n {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
}

type memoryReadResult struct {
	pages []Page
	err   error
}

// memoryReadAsync runs Read in a new goroutine and delivers its result.
func memoryReadAsync(ctx context.Context, m *Memory, cursors []Cursor, count int, block time.Duration) <-chan memoryReadResult {
	done := make(chan memoryReadResult, 1)
	go func() {
		pages, err := m.Read(ctx, cursors, count, block)
		done <- memoryReadResult{pages, err}
	}()
	return done
}

func idsOf(entries []Entry) []codec.ID {
	ids := make([]codec.ID, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

func TestNextID(t *testing.T) {
	tests := []struct {
		name string
		last codec.ID
		now  uint64
		want codec.ID
	}{
		{"first entry", codec.ID{}, 1000, codec.ID{MS: 1000}},
		{"clock moved on", codec.ID{MS: 1000, Seq: 4}, 1001, codec.ID{MS: 1001}},
		{"same millisecond", codec.ID{MS: 1000, Seq: 4}, 1000, codec.ID{MS: 1000, Seq: 5}},
		{"clock stepped back", codec.ID{MS: 1000, Seq: 4}, 900, codec.ID{MS: 1000, Seq: 5}},
		{"sequence exhausted", codec.ID{MS: 1000, Seq: math.MaxUint64}, 1000, codec.ID{MS: 1001}},
		{"clock at zero", codec.ID{}, 0, codec.ID{Seq: 1}},
	}
	for _, tt := range tests {
		if got := nextID(tt.last, tt.now); got != tt.want {
			t.Errorf("%s: nextID(%v, %d) = %v; want %v", tt.name, tt.last, tt.now, got, tt.want)
		}
	}
}

func TestMemoryConfigDefault(t *testing.T) {
	for _, zero := range []int{0, -1} {
		m := NewMemory(MemoryConfig{MaxLen: zero, MaxRooms: zero, RoomIdle: time.Duration(zero)})
		if m.maxLen != DefaultMaxLen || m.maxRooms != DefaultMaxRooms || m.roomIdle != int64(DefaultRoomIdle) {
			t.Errorf("NewMemory(%d for each field): maxLen %d, maxRooms %d, roomIdle %v; want %d, %d, %v",
				zero, m.maxLen, m.maxRooms, time.Duration(m.roomIdle), DefaultMaxLen, DefaultMaxRooms, DefaultRoomIdle)
		}
		if m.sweepInterval != int64(maxSweepInterval) {
			t.Errorf("sweep interval %v; want %v", time.Duration(m.sweepInterval), maxSweepInterval)
		}
	}
	if got := NewMemory(MemoryConfig{RoomIdle: time.Minute}).sweepInterval; got != int64(15*time.Second) {
		t.Errorf("sweep interval for a RoomIdle of a minute = %v; want 15s", time.Duration(got))
	}
}

func TestMemoryAppendAssignsIncreasingIDs(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	before := uint64(time.Now().UnixMilli())
	ids := memoryAppend(t, m, "a", 2000)
	after := uint64(time.Now().UnixMilli())
	for i, id := range ids {
		if id.MS < before || id.MS > after {
			t.Fatalf("ID %d = %v; want a millisecond in [%d, %d]", i, id, before, after)
		}
		if i > 0 && !ids[i-1].Less(id) {
			t.Fatalf("ID %d = %v after %v; want increasing", i, id, ids[i-1])
		}
	}
	if last, err := m.Last(context.Background(), "a"); err != nil || last != ids[len(ids)-1] {
		t.Errorf("Last(a) = %v, %v; want %v, nil", last, err, ids[len(ids)-1])
	}
}

func TestMemoryConcurrentAppends(t *testing.T) {
	const writers, rooms, perRoom = 8, 4, 250
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	// got[w][r] are the IDs writer w was given in room r, in call order.
	got := make([][][]codec.ID, writers)
	var wg sync.WaitGroup
	for w := range writers {
		got[w] = make([][]codec.ID, rooms)
		wg.Go(func() {
			for i := range perRoom * rooms {
				r := (w + i) % rooms
				id, err := m.Append(ctx, "room"+strconv.Itoa(r), fmt.Appendf(nil, "room%d|%d|%d", r, w, len(got[w][r])))
				if err != nil {
					t.Errorf("Append = %v", err)
					return
				}
				got[w][r] = append(got[w][r], id)
			}
		})
	}
	wg.Wait()

	for r := range rooms {
		name := "room" + strconv.Itoa(r)
		page, err := m.Range(ctx, Query{Room: name})
		if err != nil {
			t.Fatalf("Range(%s) = %v", name, err)
		}
		if len(page.Entries) != writers*perRoom || page.Gap {
			t.Fatalf("Range(%s) = %d entries, gap %v; want %d, false", name, len(page.Entries), page.Gap, writers*perRoom)
		}
		byID := make(map[codec.ID]string, len(page.Entries))
		for i, e := range page.Entries {
			if i > 0 && !page.Entries[i-1].ID.Less(e.ID) {
				t.Fatalf("%s: entry %d has codec.ID %v after %v; want increasing", name, i, e.ID, page.Entries[i-1].ID)
			}
			byID[e.ID] = string(e.Data)
		}
		for w := range writers {
			for i, id := range got[w][r] {
				want := fmt.Sprintf("%s|%d|%d", name, w, i)
				if byID[id] != want {
					t.Fatalf("%s: entry %v holds %q; want %q", name, id, byID[id], want)
				}
				if i > 0 && !got[w][r][i-1].Less(id) {
					t.Fatalf("%s: writer %d got %v after %v; want increasing", name, w, id, got[w][r][i-1])
				}
			}
		}
		last, _ := m.Last(ctx, name)
		if want := page.Entries[len(page.Entries)-1].ID; last != want {
			t.Errorf("Last(%s) = %v; want %v", name, last, want)
		}
	}
}

func TestMemoryAppendCopiesData(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	buf := []byte("first")
	if _, err := m.Append(ctx, "a", buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "zzzzz")
	if _, err := m.Append(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	page, _ := m.Range(ctx, Query{Room: "a"})
	if len(page.Entries) != 2 || string(page.Entries[0].Data) != "first" || len(page.Entries[1].Data) != 0 {
		t.Errorf("Range(a) = %q; want entries \"first\" and \"\"", page.Entries)
	}
}

func TestMemoryUnknownRoom(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	memoryAppend(t, m, "a", 3)
	if last, err := m.Last(ctx, "b"); err != nil || !last.IsZero() {
		t.Errorf("Last(b) = %v, %v; want 0-0, nil", last, err)
	}
	page, err := m.Range(ctx, Query{Room: "b"})
	if err != nil || page.Room != "b" || page.Entries != nil || page.Gap {
		t.Errorf("Range(b) = %+v, %v; want empty page of b", page, err)
	}
	if m.lookup("b") != nil {
		t.Error("Last and Range created room b")
	}
}

func TestMemoryRetention(t *testing.T) {
	m := NewMemory(MemoryConfig{MaxLen: 5})
	ctx := context.Background()
	a := memoryAppend(t, m, "a", 12)
	b := memoryAppend(t, m, "b", 3)

	tests := []struct {
		room  string
		after codec.ID
		want  []codec.ID
		gap   bool
	}{
		{"a", codec.ID{}, a[7:], true},
		{"a", a[5], a[7:], true},
		{"a", a[6], a[7:], false}, // the greatest trimmed ID: nothing after it is missing
		{"a", a[7], a[8:], false},
		{"a", a[11], nil, false},
		{"b", codec.ID{}, b, false},
	}
	for _, tt := range tests {
		page, err := m.Range(ctx, Query{Room: tt.room, After: tt.after})
		if err != nil || !slices.Equal(idsOf(page.Entries), tt.want) || page.Gap != tt.gap {
			t.Errorf("Range(%s after %v) = %v gap %v, %v; want %v gap %v", tt.room, tt.after, idsOf(page.Entries), page.Gap, err, tt.want, tt.gap)
		}
		pages, err := m.Read(ctx, []Cursor{{Room: tt.room, After: tt.after}}, 0, 0)
		if tt.want == nil {
			if err != nil || pages != nil {
				t.Errorf("Read(%s after %v) = %v, %v; want nil, nil", tt.room, tt.after, pages, err)
			}
			continue
		}
		if err != nil || len(pages) != 1 || !slices.Equal(idsOf(pages[0].Entries), tt.want) || pages[0].Gap != tt.gap {
			t.Errorf("Read(%s after %v) = %+v, %v; want %v gap %v", tt.room, tt.after, pages, err, tt.want, tt.gap)
		}
	}
	for i, e := range memoryRange(t, m, Query{Room: "a"}).Entries {
		if want := "a/" + strconv.Itoa(7+i); string(e.Data) != want {
			t.Errorf("entry %d of a = %q; want %q", i, e.Data, want)
		}
	}
	if last, _ := m.Last(ctx, "a"); last != a[11] {
		t.Errorf("Last(a) = %v; want %v", last, a[11])
	}
}

func memoryRange(t *testing.T, m *Memory, q Query) Page {
	t.Helper()
	page, err := m.Range(context.Background(), q)
	if err != nil {
		t.Fatalf("Range(%+v) = %v", q, err)
	}
	return page
}

func TestMemoryRange(t *testing.T) {
	// Room "r" got entries 100-0, 110-0, ..., 240-0 (15) and keeps the
	// newest 10: 150-0 to 240-0; 140-0 is the greatest trimmed ID.
	m := NewMemory(MemoryConfig{MaxLen: 10})
	var all []codec.ID
	for i := range 15 {
		all = append(all, codec.ID{MS: uint64(100 + 10*i)})
	}
	memoryFill(m, "r", all)
	id := func(ms uint64) codec.ID { return codec.ID{MS: ms} }
	ids := func(from, to uint64) []codec.ID {
		var out []codec.ID
		for ms := from; ms <= to; ms += 10 {
			out = append(out, codec.ID{MS: ms})
		}
		return out
	}

	tests := []struct {
		name string
		q    Query
		want []codec.ID
		gap  bool
	}{
		{"everything", Query{}, ids(150, 240), true},
		{"after the greatest trimmed", Query{After: id(140)}, ids(150, 240), false},
		{"after a trimmed one", Query{After: id(120)}, ids(150, 240), true},
		{"after a retained one", Query{After: id(170)}, ids(180, 240), false},
		{"after a position between entries", Query{After: codec.ID{MS: 175, Seq: 3}}, ids(180, 240), false},
		{"after the newest", Query{After: id(240)}, nil, false},
		{"after the future", Query{After: id(999)}, nil, false},
		{"through", Query{After: id(170), Through: id(200)}, ids(180, 200), false},
		{"through between entries", Query{After: id(170), Through: codec.ID{MS: 205}}, ids(180, 200), false},
		{"through only", Query{Through: id(200)}, ids(150, 200), true},
		{"through the newest", Query{After: id(230), Through: id(240)}, ids(240, 240), false},
		{"through beyond the newest", Query{After: id(230), Through: id(999)}, ids(240, 240), false},
		{"through equal to after", Query{After: id(190), Through: id(190)}, nil, false},
		{"through before after", Query{After: id(200), Through: id(180)}, nil, false},
		{"through before the retained", Query{Through: id(120)}, nil, true},
		{"limit oldest", Query{After: id(170), Limit: 3}, ids(180, 200), false},
		{"limit oldest with gap", Query{Limit: 2}, ids(150, 160), true},
		{"limit newest cuts", Query{After: id(170), Limit: 3, Newest: true}, ids(220, 240), true},
		{"limit newest exact", Query{After: id(170), Limit: 7, Newest: true}, ids(180, 240), false},
		{"limit newest roomy", Query{After: id(170), Limit: 50, Newest: true}, ids(180, 240), false},
		{"limit newest one fewer", Query{After: id(170), Limit: 6, Newest: true}, ids(190, 240), true},
		{"limit newest through", Query{After: id(170), Through: id(220), Limit: 2, Newest: true}, ids(210, 220), true},
		{"limit oldest through", Query{After: id(170), Through: id(220), Limit: 2}, ids(180, 190), false},
		{"newest without limit", Query{After: id(170), Newest: true}, ids(180, 240), false},
		{"negative limit", Query{After: id(170), Limit: -1}, ids(180, 240), false},
		{"limit newest empty", Query{After: id(240), Limit: 3, Newest: true}, nil, false},
	}
	for _, tt := range tests {
		tt.q.Room = "r"
		page := memoryRange(t, m, tt.q)
		if page.Room != "r" || !slices.Equal(idsOf(page.Entries), tt.want) || page.Gap != tt.gap {
			t.Errorf("%s: Range(%+v) = %v gap %v; want %v gap %v", tt.name, tt.q, idsOf(page.Entries), page.Gap, tt.want, tt.gap)
		}
		for _, e := range page.Entries {
			if string(e.Data) != e.ID.String() {
				t.Errorf("%s: entry %v holds %q", tt.name, e.ID, e.Data)
			}
		}
	}
}

// TestMemoryMatchesModel compares random appends and ranges with a plain
// slice of everything appended, across ring growth and wrap-around.
func TestMemoryMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for _, maxLen := range []int{1, 2, 3, 7, 16, 17, 40} {
		m := NewMemory(MemoryConfig{MaxLen: maxLen})
		var all []codec.ID
		for range 400 {
			if rng.IntN(3) > 0 {
				all = append(all, memoryAppend(t, m, "r", 1+rng.IntN(4))...)
			}
			pick := func() codec.ID {
				if len(all) == 0 || rng.IntN(8) == 0 {
					return codec.ID{}
				}
				id := all[rng.IntN(len(all))]
				if rng.IntN(4) == 0 {
					id = id.Next()
				}
				return id
			}
			q := Query{Room: "r", After: pick(), Limit: rng.IntN(6), Newest: rng.IntN(2) == 0}
			if rng.IntN(2) == 0 {
				q.Through = pick()
			}

			kept := all[max(len(all)-maxLen, 0):]
			var trimmed codec.ID
			if len(all) > maxLen {
				trimmed = all[len(all)-maxLen-1]
			}
			var want []codec.ID
			for _, id := range kept {
				if q.After.Less(id) && (q.Through.IsZero() || !q.Through.Less(id)) {
					want = append(want, id)
				}
			}
			gap := q.After.Less(trimmed)
			if q.Limit > 0 && len(want) > q.Limit {
				if q.Newest {
					want, gap = want[len(want)-q.Limit:], true
				} else {
					want = want[:q.Limit]
				}
			}

			page, err := m.Range(ctx, q)
			if err != nil || !slices.Equal(idsOf(page.Entries), want) || page.Gap != gap {
				t.Fatalf("MaxLen %d, %d appended: Range(%+v) = %v gap %v, %v; want %v gap %v",
					maxLen, len(all), q, idsOf(page.Entries), page.Gap, err, want, gap)
			}
		}
	}
}

func TestMemoryReadAvailable(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	a := memoryAppend(t, m, "a", 5)
	b := memoryAppend(t, m, "b", 2)
	c := memoryAppend(t, m, "c", 3)
	cursors := []Cursor{
		{Room: "c", After: c[0]},
		{Room: "b", After: b[1]},       // up to date
		{Room: "nobody"},               // never appended to
		{Room: "a", After: codec.ID{}}, // from the start
		// Ahead of b's log. (a[4] is not: a's appends may fall in an
		// earlier millisecond than b's.)
		{Room: "b", After: codec.ID{MS: b[1].MS + 1000}},
		{Room: "c", After: c[2]}, // up to date
		{Room: "a", After: a[4].Next()},
	}
	tests := []struct {
		count int
		want  map[string][]codec.ID
	}{
		{0, map[string][]codec.ID{"c": c[1:], "a": a}},
		{-1, map[string][]codec.ID{"c": c[1:], "a": a}},
		{2, map[string][]codec.ID{"c": c[1:], "a": a[:2]}},
		{1, map[string][]codec.ID{"c": c[1:2], "a": a[:1]}},
	}
	for _, tt := range tests {
		// A long block: Read must not wait when data is there.
		pages, err := m.Read(ctx, cursors, tt.count, time.Hour)
		if err != nil || len(pages) != 2 || pages[0].Room != "c" || pages[1].Room != "a" {
			t.Fatalf("Read(count %d) = %+v, %v; want pages of c and a", tt.count, pages, err)
		}
		for _, p := range pages {
			if got := idsOf(p.Entries); !slices.Equal(got, tt.want[p.Room]) || p.Gap {
				t.Errorf("Read(count %d) page %s = %v gap %v; want %v gap false", tt.count, p.Room, got, p.Gap, tt.want[p.Room])
			}
			for _, e := range p.Entries {
				if !strings.HasPrefix(string(e.Data), p.Room+"/") {
					t.Errorf("page %s holds %q", p.Room, e.Data)
				}
			}
		}
	}
}

func TestMemoryReadWithoutBlock(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	a := memoryAppend(t, m, "a", 1)
	cursors := []Cursor{{Room: "a", After: a[0]}, {Room: "nobody"}}
	for _, block := range []time.Duration{0, -time.Second} {
		if pages, err := m.Read(context.Background(), cursors, 0, block); pages != nil || err != nil {
			t.Errorf("Read(block %v) = %v, %v; want nil, nil", block, pages, err)
		}
	}
	if m.lookup("nobody") != nil {
		t.Error("a Read without block created a room")
	}
}

func TestMemoryReadTimeout(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	a := memoryAppend(t, m, "a", 1)
	pages, err := m.Read(context.Background(), []Cursor{{Room: "a", After: a[0]}, {Room: "nobody"}}, 0, 20*time.Millisecond)
	if pages != nil || err != nil {
		t.Errorf("Read = %v, %v; want nil, nil", pages, err)
	}
}

func TestMemoryReadBlocksUntilAppend(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	a := memoryAppend(t, m, "a", 2)
	cursors := []Cursor{{Room: "a", After: a[1]}, {Room: "b"}, {Room: "c"}}
	done := memoryReadAsync(ctx, m, cursors, 0, time.Minute)
	waitReadBlocked(t, m, "c", 1)

	memoryAppend(t, m, "elsewhere", 3) // not followed: must not end the Read
	select {
	case res := <-done:
		t.Fatalf("Read returned %+v, %v after an append to another room", res.pages, res.err)
	default:
	}
	b := memoryAppend(t, m, "b", 1)
	res := <-done
	if res.err != nil || len(res.pages) != 1 || res.pages[0].Room != "b" ||
		!slices.Equal(idsOf(res.pages[0].Entries), b) || string(res.pages[0].Entries[0].Data) != "b/0" {
		t.Fatalf("Read = %+v, %v; want b's new entry", res.pages, res.err)
	}
}

func TestMemoryReadIgnoresAppendsNotAfterCursor(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ahead := codec.ID{MS: math.MaxUint64}
	done := memoryReadAsync(ctx, m, []Cursor{{Room: "a", After: ahead}}, 0, time.Minute)
	waitReadBlocked(t, m, "a", 1)
	memoryAppend(t, m, "a", 1)
	// The append woke the Read, which found nothing after its cursor and
	// must wait again.
	waitReadBlocked(t, m, "a", 1)
	cancel()
	if res := <-done; !errors.Is(res.err, context.Canceled) || res.pages != nil {
		t.Fatalf("Read = %+v, %v; want nil, context.Canceled", res.pages, res.err)
	}
}

func TestMemoryReadContext(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	memoryAppend(t, m, "a", 1)

	ctx, cancel := context.WithCancel(context.Background())
	done := memoryReadAsync(ctx, m, []Cursor{{Room: "b"}}, 0, time.Minute)
	waitReadBlocked(t, m, "b", 1)
	cancel()
	if res := <-done; !errors.Is(res.err, context.Canceled) || res.pages != nil {
		t.Errorf("Read canceled while blocked = %+v, %v; want nil, context.Canceled", res.pages, res.err)
	}

	deadline, cancelDeadline := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelDeadline()
	if pages, err := m.Read(deadline, []Cursor{{Room: "b"}}, 0, time.Minute); !errors.Is(err, context.DeadlineExceeded) || pages != nil {
		t.Errorf("Read past deadline = %+v, %v; want nil, context.DeadlineExceeded", pages, err)
	}

	// A context that is already done fails every call, even with data there.
	if pages, err := m.Read(ctx, []Cursor{{Room: "a"}}, 0, 0); !errors.Is(err, context.Canceled) || pages != nil {
		t.Errorf("Read with a canceled context = %+v, %v; want nil, context.Canceled", pages, err)
	}
	if _, err := m.Append(ctx, "a", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context = %v; want context.Canceled", err)
	}
	if _, err := m.Range(ctx, Query{Room: "a"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Range with a canceled context = %v; want context.Canceled", err)
	}
	if _, err := m.Last(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Last with a canceled context = %v; want context.Canceled", err)
	}
	if page := memoryRange(t, m, Query{Room: "a"}); len(page.Entries) != 1 {
		t.Errorf("room a has %d entries; want 1 (the canceled Append must not store)", len(page.Entries))
	}
}

func TestMemoryReadDropsFinishedRegistrations(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	for range 30 {
		if pages, err := m.Read(context.Background(), []Cursor{{Room: "quiet"}}, 0, time.Millisecond); pages != nil || err != nil {
			t.Fatalf("Read = %v, %v; want nil, nil", pages, err)
		}
	}
	r := m.lookup("quiet")
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.waiters) > 1 {
		t.Errorf("room holds %d registrations after 30 finished Reads; want at most 1", len(r.waiters))
	}
}

// TestMemoryFollowers has readers follow overlapping sets of rooms while
// writers append to them; every reader must see every entry of its rooms
// exactly once, in order, and nothing of other rooms.
func TestMemoryFollowers(t *testing.T) {
	const writers, rooms, perWriter = 4, 8, 60
	m := NewMemory(MemoryConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	for r := range 3 {
		var cursors []Cursor
		for room := r; room < rooms; room += r + 1 {
			cursors = append(cursors, Cursor{Room: "room" + strconv.Itoa(room)})
		}
		wg.Go(func() {
			seen := make(map[string]int)
			next := make(map[string][]int) // next sequence expected from each writer
			for _, c := range cursors {
				next[c.Room] = make([]int, writers)
			}
			for total := 0; total < len(cursors)*writers*perWriter; {
				pages, err := m.Read(ctx, cursors, 7, time.Second)
				if err != nil {
					t.Errorf("reader %d: Read = %v", r, err)
					return
				}
				for _, p := range pages {
					i := slices.IndexFunc(cursors, func(c Cursor) bool { return c.Room == p.Room })
					if i < 0 || len(p.Entries) == 0 || len(p.Entries) > 7 || p.Gap {
						t.Errorf("reader %d: unexpected page %+v", r, p)
						return
					}
					for _, e := range p.Entries {
						if !cursors[i].After.Less(e.ID) {
							t.Errorf("reader %d: %s entry %v not after cursor %v", r, p.Room, e.ID, cursors[i].After)
							return
						}
						cursors[i].After = e.ID
						room, w, seq := parseFollowerEntry(e.Data)
						if room != p.Room || seq != next[room][w] {
							t.Errorf("reader %d: page %s holds %q; want sequence %d of writer %d", r, p.Room, e.Data, next[p.Room][w], w)
							return
						}
						next[room][w]++
						seen[room]++
						total++
					}
				}
			}
			for _, c := range cursors {
				if seen[c.Room] != writers*perWriter {
					t.Errorf("reader %d saw %d entries of %s; want %d", r, seen[c.Room], c.Room, writers*perWriter)
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for seq := range perWriter {
				for room := range rooms {
					name := "room" + strconv.Itoa(room)
					if _, err := m.Append(ctx, name, fmt.Appendf(nil, "%s|%d|%d", name, w, seq)); err != nil {
						t.Errorf("Append = %v", err)
						return
					}
				}
				if seq%10 == 0 {
					time.Sleep(time.Millisecond) // let readers catch up and block
				}
			}
		})
	}
	wg.Wait()
}

// parseFollowerEntry splits the "<room>|<writer>|<seq>" data of TestMemoryFollowers.
func parseFollowerEntry(data []byte) (room string, writer, seq int) {
	parts := bytes.Split(data, []byte("|"))
	writer, _ = strconv.Atoi(string(parts[1]))
	seq, _ = strconv.Atoi(string(parts[2]))
	return string(parts[0]), writer, seq
}

func TestMemoryAllocs(t *testing.T) {
	m := NewMemory(MemoryConfig{MaxLen: 64})
	ctx := context.Background()
	data := make([]byte, 100)
	batch := [][]byte{data, data[:10], data[:50]}
	memoryAppend(t, m, "a", 100) // the ring is full: appends only trim now
	b := memoryAppend(t, m, "b", 1)
	cursors := []Cursor{{Room: "b", After: b[0]}, {Room: "nobody"}}
	tests := []struct {
		name string
		want float64
		f    func()
	}{
		{"Append", 1, func() { _, _ = m.Append(ctx, "a", data) }},            // the copy of data
		{"AppendBatch", 3, func() { _, _ = m.AppendBatch(ctx, "a", batch) }}, // one copy of all, the IDs, the errors
		{"Last", 0, func() { _, _ = m.Last(ctx, "a") }},
		{"Range of an unknown room", 0, func() { _, _ = m.Range(ctx, Query{Room: "nobody"}) }},
		{"Read without new entries", 0, func() { _, _ = m.Read(ctx, cursors, 0, 0) }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.f); got != tt.want {
			t.Errorf("%s: %v allocations; want %v", tt.name, got, tt.want)
		}
	}
}

// TestMemoryGapForForeignPosition: a position older than the first entry of
// a log that never trimmed one was never in it (a restarted process): the
// reader is told of a gap. The zero position is the start, no gap.
func TestMemoryGapForForeignPosition(t *testing.T) {
	m := NewMemory(MemoryConfig{MaxLen: 10})
	ctx := context.Background()
	first, err := m.Append(ctx, "r", []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	before := codec.ID{MS: first.MS - 1}
	for _, tt := range []struct {
		after codec.ID
		gap   bool
	}{{before, true}, {codec.ID{}, false}, {first, false}} {
		page, err := m.Range(ctx, Query{Room: "r", After: tt.after})
		if err != nil || page.Gap != tt.gap {
			t.Errorf("Range(after %v) gap = %v, %v; want %v", tt.after, page.Gap, err, tt.gap)
		}
	}
}

// memoryAge makes room look last used d ago.
func memoryAge(m *Memory, room string, d time.Duration) {
	m.lookup(room).usedAt.Add(-int64(d))
}

// memorySweep sweeps at the current time of m's clock.
func memorySweep(m *Memory) { m.sweep(m.clock(time.Now())) }

// TestMemoryEvictsRoomsOnlyFollowed: a blocking Read creates the room it
// waits on, which stays while the Read waits and goes with the first sweep
// after it returned, however recent.
func TestMemoryEvictsRoomsOnlyFollowed(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := memoryReadAsync(ctx, m, []Cursor{{Room: "watched"}}, 0, time.Minute)
	waitReadBlocked(t, m, "watched", 1)
	memoryAge(m, "watched", 2*DefaultRoomIdle)
	memorySweep(m)
	if m.lookup("watched") == nil {
		t.Fatal("a sweep evicted a room a Read waits on")
	}
	cancel()
	<-done
	memorySweep(m)
	if m.lookup("watched") != nil {
		t.Fatal("a room without entries nor Reads waiting survived a sweep")
	}
	if n := m.holding.Load(); n != 0 {
		t.Errorf("%d rooms hold entries; want 0", n)
	}
}

// TestMemoryEvictsIdleRooms: rooms with entries go once neither appended
// to nor followed for RoomIdle; a reader resuming in one is told of the
// gap, and the room's IDs go on increasing.
func TestMemoryEvictsIdleRooms(t *testing.T) {
	m := NewMemory(MemoryConfig{RoomIdle: time.Hour})
	ctx := context.Background()
	idle := memoryAppend(t, m, "idle", 3)
	memoryAppend(t, m, "recent", 1)
	followed := memoryAppend(t, m, "followed", 1)
	watched := memoryAppend(t, m, "watched", 1)
	for _, room := range []string{"idle", "recent", "followed", "watched"} {
		memoryAge(m, room, 2*time.Hour)
	}
	memoryAppend(t, m, "recent", 1)
	if pages, err := m.Read(ctx, []Cursor{{Room: "followed", After: followed[0]}}, 0, 0); pages != nil || err != nil {
		t.Fatalf("Read(followed) = %v, %v; want nil, nil", pages, err)
	}
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := memoryReadAsync(readCtx, m, []Cursor{{Room: "watched", After: watched[0]}}, 0, time.Minute)
	waitReadBlocked(t, m, "watched", 1)
	memoryAge(m, "watched", 2*time.Hour)

	memorySweep(m)
	for room, kept := range map[string]bool{"idle": false, "recent": true, "followed": true, "watched": true} {
		if got := m.lookup(room) != nil; got != kept {
			t.Errorf("room %s kept %v; want %v", room, got, kept)
		}
	}
	if n := m.holding.Load(); n != 3 {
		t.Errorf("%d rooms hold entries; want 3", n)
	}
	if last, _ := m.Last(ctx, "idle"); !last.IsZero() {
		t.Errorf("Last(idle) after eviction = %v; want 0-0", last)
	}
	if page := memoryRange(t, m, Query{Room: "idle"}); len(page.Entries) != 0 || page.Gap {
		t.Errorf("Range(idle) after eviction = %v gap %v; want nothing", idsOf(page.Entries), page.Gap)
	}

	again := memoryAppend(t, m, "idle", 1)
	if !idle[2].Less(again[0]) {
		t.Errorf("Append after eviction = %v; want above %v", again[0], idle[2])
	}
	for _, after := range idle {
		if page := memoryRange(t, m, Query{Room: "idle", After: after}); !page.Gap || !slices.Equal(idsOf(page.Entries), again) {
			t.Errorf("Range(idle after %v) = %v gap %v; want %v with a gap", after, idsOf(page.Entries), page.Gap, again)
		}
		pages, err := m.Read(ctx, []Cursor{{Room: "idle", After: after}}, 0, 0)
		if err != nil || len(pages) != 1 || !pages[0].Gap || !slices.Equal(idsOf(pages[0].Entries), again) {
			t.Errorf("Read(idle after %v) = %+v, %v; want %v with a gap", after, pages, err, again)
		}
	}
	if page := memoryRange(t, m, Query{Room: "idle"}); page.Gap || !slices.Equal(idsOf(page.Entries), again) {
		t.Errorf("Range(idle) from the start = %v gap %v; want %v without a gap", idsOf(page.Entries), page.Gap, again)
	}
	cancel()
	<-done
}

// TestMemoryEvictedRoomIDsIncrease: a room created again after eviction
// assigns IDs above the evicted one's even when those are ahead of the
// clock (the clock stepped back).
func TestMemoryEvictedRoomIDsIncrease(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	ahead := codec.ID{MS: uint64(time.Now().Add(time.Hour).UnixMilli()), Seq: 7}
	memoryFill(m, "back", []codec.ID{ahead})
	memoryAge(m, "back", 2*DefaultRoomIdle)
	memorySweep(m)
	if m.lookup("back") != nil {
		t.Fatal("the idle room was not evicted")
	}
	if got := memoryAppend(t, m, "back", 1)[0]; got != ahead.Next() {
		t.Errorf("Append after eviction = %v; want %v", got, ahead.Next())
	}
	if got := memoryAppend(t, m, "other", 1)[0]; got != ahead.Next() {
		t.Errorf("Append to a new room = %v; want %v, above every evicted ID", got, ahead.Next())
	}
}

// TestMemoryMaxRooms: beyond MaxRooms rooms holding entries, an Append to
// another room fails with ErrTooManyRooms and stores nothing; Reads never
// fail for it, and an evicted room makes room again.
func TestMemoryMaxRooms(t *testing.T) {
	m := NewMemory(MemoryConfig{MaxRooms: 2})
	ctx := context.Background()
	memoryAppend(t, m, "a", 1)
	memoryAppend(t, m, "b", 1)
	m.sweptAt.Store(m.clock(time.Now())) // no sweep on a full log for a second

	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := memoryReadAsync(readCtx, m, []Cursor{{Room: "c"}}, 0, time.Minute)
	waitReadBlocked(t, m, "c", 1)
	_, err := m.Append(ctx, "c", []byte("x"))
	if !errors.Is(err, ErrTooManyRooms) || !strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("Append to a third room = %v; want ErrTooManyRooms naming the room", err)
	}
	memoryAppend(t, m, "b", 1) // rooms holding entries take more
	if page := memoryRange(t, m, Query{Room: "c"}); len(page.Entries) != 0 {
		t.Fatalf("Range(c) = %v; want nothing stored", idsOf(page.Entries))
	}
	if n := m.holding.Load(); n != 2 {
		t.Fatalf("%d rooms hold entries; want 2", n)
	}

	memoryAge(m, "a", 2*DefaultRoomIdle)
	memoryAge(m, "b", 2*DefaultRoomIdle)
	memoryAppend(t, m, "b", 1)
	memorySweep(m)
	c := memoryAppend(t, m, "c", 1)
	res := <-done
	if res.err != nil || len(res.pages) != 1 || res.pages[0].Room != "c" || !slices.Equal(idsOf(res.pages[0].Entries), c) {
		t.Fatalf("Read = %+v, %v; want the entry of c", res.pages, res.err)
	}
	if _, err := m.Append(ctx, "a", []byte("x")); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("Append to evicted a with b and c holding entries = %v; want ErrTooManyRooms", err)
	}
}

// TestMemoryFullLogSweeps: an Append that finds MaxRooms reached sweeps,
// at most once a second, before it fails.
func TestMemoryFullLogSweeps(t *testing.T) {
	m := NewMemory(MemoryConfig{MaxRooms: 1})
	ctx := context.Background()
	memoryAppend(t, m, "a", 1)
	memoryAge(m, "a", 2*DefaultRoomIdle)
	m.sweptAt.Store(m.clock(time.Now()))
	if _, err := m.Append(ctx, "b", nil); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("Append within a second of a sweep = %v; want ErrTooManyRooms", err)
	}
	m.sweptAt.Store(m.clock(time.Now()) - int64(fullSweepInterval))
	if _, err := m.Append(ctx, "b", nil); err != nil {
		t.Fatalf("Append a second after a sweep = %v; want the idle room evicted to make room", err)
	}
	if m.lookup("a") != nil {
		t.Error("room a was not evicted")
	}
}

// TestMemoryEvictionRace runs appends, blocking Reads and sweeps that
// evict every room no Read waits on, all at once: no Append may be stored
// in an evicted room, no Read may wait on one while appends go on, and the
// IDs of each room must keep increasing. (Entries are evicted too, often
// before they are read: readers check only the order of what they get.)
func TestMemoryEvictionRace(t *testing.T) {
	const writers, readers, perWriter = 4, 2, 1500
	rooms := []string{"r0", "r1", "r2", "r3"}
	m := NewMemory(MemoryConfig{RoomIdle: time.Nanosecond})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var writing, sweeping sync.WaitGroup
	stop := make(chan struct{})
	sweeping.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				memorySweep(m)
				runtime.Gosched()
			}
		}
	})
	var lastMu sync.Mutex
	lastID := make(map[string]codec.ID)
	for w := range writers {
		writing.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range perWriter {
				room := rooms[rng.IntN(len(rooms))]
				lastMu.Lock() // one Append per room at a time, to compare IDs in order
				id, err := m.Append(ctx, room, []byte(room))
				if err == nil && !lastID[room].Less(id) {
					t.Errorf("Append(%s) = %v after %v; want increasing", room, id, lastID[room])
				}
				lastID[room] = id
				lastMu.Unlock()
				if err != nil {
					t.Errorf("Append(%s) = %v", room, err)
					return
				}
				// The entry is there, or the room was evicted since and
				// holds newer entries or none.
				page, _ := m.Range(ctx, Query{Room: room})
				if len(page.Entries) > 0 && !slices.Contains(idsOf(page.Entries), id) && !id.Less(page.Entries[0].ID) {
					t.Errorf("entry %v of %s is not in the room, which holds %v..%v", id, room, page.Entries[0].ID, page.Entries[len(page.Entries)-1].ID)
				}
			}
		})
	}
	var reading sync.WaitGroup
	var written atomic.Bool
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	for k := range readers {
		reading.Go(func() {
			// The last reader follows one room: one that other rooms' appends
			// cannot wake.
			var cursors []Cursor
			for _, room := range rooms[k*(len(rooms)-1)/(readers-1):] {
				cursors = append(cursors, Cursor{Room: room})
			}
			for {
				pages, err := m.Read(readCtx, cursors, 0, 5*time.Second)
				if written.Load() {
					return
				}
				if err != nil {
					t.Errorf("Read = %v", err)
					return
				}
				if pages == nil {
					t.Error("a Read timed out while appends went on")
					return
				}
				for _, p := range pages {
					i := slices.IndexFunc(cursors, func(c Cursor) bool { return c.Room == p.Room })
					for _, e := range p.Entries {
						if !cursors[i].After.Less(e.ID) {
							t.Errorf("Read %s: entry %v after cursor %v; want increasing", p.Room, e.ID, cursors[i].After)
							return
						}
						cursors[i].After = e.ID
					}
				}
			}
		})
	}
	writing.Wait()
	written.Store(true)
	stopReading()
	reading.Wait()
	close(stop)
	sweeping.Wait()
	memorySweep(m)
	if n := m.holding.Load(); n != 0 {
		t.Errorf("after a last sweep %d rooms hold entries; want 0", n)
	}
}

// TestMemoryReadRegistersWithLiveRoom: a Read that finds the room it looked
// up evicted when it comes to register registers with the room that
// replaces it, which the next Append wakes.
func TestMemoryReadRegistersWithLiveRoom(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	stale := m.roomFor("x", m.clock(time.Now()))
	memorySweep(m)
	if !stale.dead {
		t.Fatal("the room without entries was not evicted")
	}
	w := &waiter{wake: make(chan struct{}, 1)}
	if pages := m.readOrWait(stale, nil, Cursor{Room: "x"}, 0, w, 0); pages != nil {
		t.Fatalf("readOrWait = %v; want nothing", pages)
	}
	if len(stale.waiters) != 0 {
		t.Fatal("the Read registered with the evicted room")
	}
	memoryAppend(t, m, "x", 1)
	select {
	case <-w.wake:
	default:
		t.Fatal("an Append to the room did not wake the Read")
	}
}
