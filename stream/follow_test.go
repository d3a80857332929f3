package stream

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/redistest"
)

// readThrough hides a Log's type, so that NewFollower follows it through
// Log.Read as it does any Log but Memory.
type readThrough struct{ Log }

// testFollowerBehaviour runs the behaviour every Follower must have,
// whichever log it follows and however.
func testFollowerBehaviour(t *testing.T, newLog logBackend) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Log)
	}{
		{"ReadsFromPositions", testFollowerReadsFromPositions},
		{"Count", testFollowerCount},
		{"WakesOnAppend", testFollowerWakesOnAppend},
		{"Unfollow", testFollowerUnfollow},
		{"FollowMoves", testFollowerFollowMoves},
		{"Context", testFollowerContext},
		{"ManyRooms", testFollowerManyRooms},
		{"ConcurrentAppends", testFollowerConcurrentAppends},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newLog(t, 0)) })
	}
}

func TestMemoryFollowerBehaviour(t *testing.T) {
	testFollowerBehaviour(t, func(t *testing.T, maxLen int) Log {
		return NewMemory(MemoryConfig{MaxLen: maxLen})
	})
}

func TestCursorFollowerOnMemoryBehaviour(t *testing.T) {
	testFollowerBehaviour(t, func(t *testing.T, maxLen int) Log {
		return readThrough{NewMemory(MemoryConfig{MaxLen: maxLen})}
	})
}

func TestCursorFollowerOnRedisBehaviour(t *testing.T) {
	srv := redistest.Start(t)
	testFollowerBehaviour(t, func(t *testing.T, maxLen int) Log {
		return newTestRedis(t, []string{srv.Addr()}, RedisConfig{MaxLen: int64(maxLen)})
	})
}

func TestNewFollowerKinds(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	if _, ok := NewFollower(m).(*memoryFollower); !ok {
		t.Errorf("NewFollower(*Memory) is not a memoryFollower")
	}
	if _, ok := NewFollower(readThrough{m}).(*cursorFollower); !ok {
		t.Errorf("NewFollower(another Log) is not a cursorFollower")
	}
}

// followRead reads f and returns its pages by room, failing on an error or
// on two pages of one room.
func followRead(t *testing.T, f Follower, count int, block time.Duration) map[string]Page {
	t.Helper()
	pages, err := f.Read(context.Background(), count, block)
	if err != nil {
		t.Fatalf("Read(%d, %v) = %v", count, block, err)
	}
	byRoom := make(map[string]Page, len(pages))
	for _, p := range pages {
		if _, ok := byRoom[p.Room]; ok || len(p.Entries) == 0 {
			t.Fatalf("Read = %s; want one page with entries per room", describePages(pages))
		}
		byRoom[p.Room] = p
	}
	return byRoom
}

func testFollowerReadsFromPositions(t *testing.T, l Log) {
	a := logAppend(t, l, "a", 3)
	c := logAppend(t, l, "c", 2)
	f := NewFollower(l)
	defer f.Close()
	f.Follow("a", codec.ID{})
	f.Follow("b", codec.ID{})
	f.Follow("c", c[0])
	got := followRead(t, f, 10, 0)
	if len(got) != 2 || !slices.Equal(pageIDs(got["a"].Entries), a) || !slices.Equal(pageIDs(got["c"].Entries), c[1:]) {
		t.Fatalf("Read = %v; want a:3 and c after its first", got)
	}
	if got := followRead(t, f, 10, 0); len(got) != 0 {
		t.Fatalf("second Read = %v; want nothing: the positions moved", got)
	}
	b := logAppend(t, l, "b", 1)
	a2 := logAppend(t, l, "a", 1)
	got = followRead(t, f, 10, time.Second)
	if len(got) != 2 || !slices.Equal(pageIDs(got["a"].Entries), a2) || !slices.Equal(pageIDs(got["b"].Entries), b) {
		t.Fatalf("Read after appends = %v; want a:1 b:1", got)
	}
}

func testFollowerCount(t *testing.T, l Log) {
	ids := logAppend(t, l, "many", 5)
	f := NewFollower(l)
	defer f.Close()
	f.Follow("many", codec.ID{})
	for _, want := range [][]codec.ID{ids[:2], ids[2:4], ids[4:]} {
		got := followRead(t, f, 2, 0)
		if !slices.Equal(pageIDs(got["many"].Entries), want) {
			t.Fatalf("Read(count 2) = %v; want %v", pageIDs(got["many"].Entries), want)
		}
	}
	if got := followRead(t, f, 2, 0); len(got) != 0 {
		t.Fatalf("Read past the end = %v; want nothing", got)
	}
}

func testFollowerWakesOnAppend(t *testing.T, l Log) {
	f := NewFollower(l)
	defer f.Close()
	f.Follow("a", codec.ID{})
	f.Follow("b", codec.ID{})
	if got := followRead(t, f, 10, 0); len(got) != 0 {
		t.Fatalf("Read of empty rooms = %v; want nothing", got)
	}
	type result struct {
		pages []Page
		err   error
	}
	done := make(chan result, 1)
	go func() {
		pages, err := f.Read(context.Background(), 10, 10*time.Second)
		done <- result{pages, err}
	}()
	time.Sleep(50 * time.Millisecond)
	logAppend(t, l, "elsewhere", 1) // not followed: wakes nobody
	b := logAppend(t, l, "b", 1)
	res := <-done
	if res.err != nil || len(res.pages) != 1 || res.pages[0].Room != "b" || !slices.Equal(pageIDs(res.pages[0].Entries), b) {
		t.Fatalf("Read = %s, %v; want b:1", describePages(res.pages), res.err)
	}
	const block = 150 * time.Millisecond
	start := time.Now()
	if got := followRead(t, f, 10, block); len(got) != 0 || time.Since(start) < block-10*time.Millisecond {
		t.Fatalf("Read with nothing new = %v after %v; want nothing after %v", got, time.Since(start), block)
	}
}

func testFollowerUnfollow(t *testing.T, l Log) {
	f := NewFollower(l)
	defer f.Close()
	f.Follow("a", codec.ID{})
	f.Follow("b", codec.ID{})
	f.Unfollow("a")
	f.Unfollow("never followed")
	logAppend(t, l, "a", 2)
	b := logAppend(t, l, "b", 1)
	got := followRead(t, f, 10, time.Second)
	if len(got) != 1 || !slices.Equal(pageIDs(got["b"].Entries), b) {
		t.Fatalf("Read = %v; want b:1 only", got)
	}
	f.Unfollow("b")
	logAppend(t, l, "b", 1)
	if got := followRead(t, f, 10, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("Read of no rooms = %v; want nothing", got)
	}
}

func testFollowerFollowMoves(t *testing.T, l Log) {
	ids := logAppend(t, l, "a", 3)
	f := NewFollower(l)
	defer f.Close()
	f.Follow("a", ids[2])
	if got := followRead(t, f, 10, 0); len(got) != 0 {
		t.Fatalf("Read at the end = %v; want nothing", got)
	}
	f.Follow("a", ids[0]) // back
	got := followRead(t, f, 10, 0)
	if !slices.Equal(pageIDs(got["a"].Entries), ids[1:]) {
		t.Fatalf("Read after moving back = %v; want %v", pageIDs(got["a"].Entries), ids[1:])
	}
}

func testFollowerContext(t *testing.T, l Log) {
	f := NewFollower(l)
	defer f.Close()
	f.Follow("idle", codec.ID{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if pages, err := f.Read(ctx, 10, time.Second); !errors.Is(err, context.Canceled) || pages != nil {
		t.Fatalf("Read(canceled ctx) = %s, %v; want context.Canceled", describePages(pages), err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if pages, err := f.Read(ctx, 10, 30*time.Second); !errors.Is(err, context.Canceled) || pages != nil || time.Since(start) > 10*time.Second {
		t.Fatalf("Read canceled while blocked = %s, %v after %v; want context.Canceled at once", describePages(pages), err, time.Since(start))
	}
	ids := logAppend(t, l, "idle", 1)
	if got := followRead(t, f, 10, time.Second); !slices.Equal(pageIDs(got["idle"].Entries), ids) {
		t.Fatalf("Read after cancellations = %v; want idle:1", got)
	}
}

func testFollowerManyRooms(t *testing.T, l Log) {
	f := NewFollower(l)
	defer f.Close()
	const rooms = 64
	for i := range rooms {
		f.Follow("room-"+strconv.Itoa(i), codec.ID{})
	}
	if got := followRead(t, f, 10, 0); len(got) != 0 {
		t.Fatalf("Read of empty rooms = %v; want nothing", got)
	}
	for _, i := range []int{3, 17, 40, 63} {
		logAppend(t, l, "room-"+strconv.Itoa(i), i%3+1)
	}
	got := map[string]Page{}
	for deadline := time.Now().Add(5 * time.Second); len(got) < 4 && time.Now().Before(deadline); {
		for room, p := range followRead(t, f, 10, time.Second) {
			got[room] = p
		}
	}
	var names []string
	for room, p := range got {
		names = append(names, room+":"+strconv.Itoa(len(p.Entries)))
	}
	slices.Sort(names)
	if want := "room-17:3 room-3:1 room-40:2 room-63:1"; strings.Join(names, " ") != want {
		t.Fatalf("Read = %v; want %s", names, want)
	}
}

// testFollowerConcurrentAppends appends to many rooms from many
// goroutines while one follower reads: it gets every entry once, in order.
func testFollowerConcurrentAppends(t *testing.T, l Log) {
	const rooms, writers, each = 20, 4, 50
	f := NewFollower(l)
	defer f.Close()
	for i := range rooms {
		f.Follow("c"+strconv.Itoa(i), codec.ID{})
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for n := range each * rooms {
				room := "c" + strconv.Itoa((n+w)%rooms)
				if _, err := l.Append(context.Background(), room, []byte("x")); err != nil {
					t.Errorf("Append(%s) = %v", room, err)
					return
				}
			}
		})
	}
	last := map[string]codec.ID{}
	got := 0
	for deadline := time.Now().Add(20 * time.Second); got < writers*each*rooms && time.Now().Before(deadline); {
		for room, p := range followRead(t, f, 7, 100*time.Millisecond) {
			for _, e := range p.Entries {
				if !last[room].Less(e.ID) {
					t.Fatalf("room %s: %v after %v", room, e.ID, last[room])
				}
				last[room] = e.ID
			}
			got += len(p.Entries)
		}
	}
	wg.Wait()
	if got != writers*each*rooms {
		t.Fatalf("read %d entries; want %d", got, writers*each*rooms)
	}
}

// TestMemoryFollowedRoomStays: a room a Follower follows is not evicted
// however idle, and is evictable again once unfollowed.
func TestMemoryFollowedRoomStays(t *testing.T) {
	m := NewMemory(MemoryConfig{RoomIdle: time.Millisecond})
	logAppend(t, m, "kept", 1)
	f := NewFollower(m)
	f.Follow("kept", codec.ID{})
	f.Follow("empty", codec.ID{})
	later := m.clock(time.Now()) + int64(time.Hour)
	m.sweep(later)
	if m.lookup("kept") == nil || m.lookup("empty") == nil {
		t.Fatalf("a followed room was evicted")
	}
	f.Close()
	m.sweep(later)
	if m.lookup("kept") != nil || m.lookup("empty") != nil {
		t.Fatalf("a room no longer followed was kept")
	}
}

// TestMemoryFollowerLooksAtMarkedRooms: a Read after an Append to one of
// 1 000 followed rooms looks at that room only.
func TestMemoryFollowerLooksAtMarkedRooms(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	f := m.follower()
	defer f.Close()
	for i := range 1000 {
		f.Follow("r"+strconv.Itoa(i), codec.ID{})
	}
	if pages, err := f.Read(context.Background(), 10, 0); err != nil || pages != nil {
		t.Fatalf("first Read = %s, %v", describePages(pages), err)
	}
	logAppend(t, m, "r500", 2)
	f.signal.mu.Lock()
	marked := len(f.signal.marked)
	f.signal.mu.Unlock()
	if marked != 1 {
		t.Fatalf("%d rooms to look at after two appends to one room; want 1", marked)
	}
	got := followRead(t, f, 10, time.Second)
	if len(got) != 1 || len(got["r500"].Entries) != 2 {
		t.Fatalf("Read = %v; want r500:2", got)
	}
}

// TestMemoryFollowerGap: a position older than what retention kept gives
// a page with Gap set, as Read does.
func TestMemoryFollowerGap(t *testing.T) {
	m := NewMemory(MemoryConfig{MaxLen: 3})
	ids := logAppend(t, m, "a", 6)
	f := NewFollower(m)
	defer f.Close()
	f.Follow("a", ids[0])
	got := followRead(t, f, 10, 0)
	if p := got["a"]; !p.Gap || !slices.Equal(pageIDs(p.Entries), ids[3:]) {
		t.Fatalf("Read = %v gap %v; want the last three with a gap", pageIDs(p.Entries), p.Gap)
	}
}

func TestReadPause(t *testing.T) {
	partial := []Page{{Room: "a", Entries: make([]Entry, 3)}, {Room: "b", Entries: make([]Entry, 1)}}
	full := []Page{{Room: "a", Entries: make([]Entry, 1)}, {Room: "b", Entries: make([]Entry, 4)}}
	for _, tc := range []struct {
		name  string
		rooms int
		pages []Page
		count int
		want  time.Duration
	}{
		{"nothing read", 1000, nil, 4, 0},
		{"one room", 1, partial, 4, readPacePerRoom},
		{"a thousand rooms", 1000, partial, 4, 1000 * readPacePerRoom},
		{"capped", 100_000, partial, 4, maxReadPace},
		{"a full page: more to read", 1000, full, 4, 0},
		{"no cap: never full", 1000, full, 0, 1000 * readPacePerRoom},
	} {
		if got := readPause(tc.rooms, tc.pages, tc.count); got != tc.want {
			t.Errorf("%s: readPause(%d rooms) = %v; want %v", tc.name, tc.rooms, got, tc.want)
		}
	}
}

// TestCursorFollowerPaces: after a Read that returned entries, the next
// one waits the pause, unless a room is followed meanwhile.
func TestCursorFollowerPaces(t *testing.T) {
	m := NewMemory(MemoryConfig{})
	f := NewFollower(readThrough{m}).(*cursorFollower)
	for i := range 2000 {
		f.Follow("r"+strconv.Itoa(i), codec.ID{})
	}
	logAppend(t, m, "r1", 1)
	before := time.Now()
	followRead(t, f, 10, time.Second)
	if pause := f.next.Sub(before); pause < maxReadPace {
		t.Fatalf("next read %v after the last began; want at least %v", pause, maxReadPace)
	}
	logAppend(t, m, "r2", 1)
	start, due := time.Now(), f.next
	followRead(t, f, 10, time.Second)
	if time.Now().Before(due) {
		t.Fatalf("Read returned %v after it began; want it to wait the pause until %v", time.Since(start), due.Sub(start))
	}
	logAppend(t, m, "r3", 1)
	f.Follow("new", codec.ID{})
	if !f.next.IsZero() {
		t.Fatalf("a room followed did not end the pause")
	}
}
