package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/internal/redistest"
	"github.com/danmu-dev/danmu/rdb"
)

// logBackend returns a fresh Log for one test, keeping maxLen entries per
// room (zero means the default).
type logBackend func(t *testing.T, maxLen int) Log

// nodeSlack is how many entries beyond MaxLen a Redis stream may keep: MAXLEN
// ~ trims whole nodes of stream-node-max-entries (100) entries.
const nodeSlack = 100

// testLogBehaviour runs the behaviour every Log must have, whichever the
// backend, so that ingest and fan-out work unchanged on Memory and Redis.
func testLogBehaviour(t *testing.T, newLog logBackend) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, logBackend)
	}{
		{"AppendIDsIncrease", testLogAppendIDsIncrease},
		{"ConcurrentAppends", testLogConcurrentAppends},
		{"Data", testLogData},
		{"Range", testLogRange},
		{"Retention", testLogRetention},
		{"ReadAvailable", testLogReadAvailable},
		{"ReadNoCap", testLogReadNoCap},
		{"ReadTimeout", testLogReadTimeout},
		{"ReadWakesOnAppend", testLogReadWakesOnAppend},
		{"ReadContext", testLogReadContext},
		{"ReadNoCursors", testLogReadNoCursors},
		{"ReadManyRooms", testLogReadManyRooms},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newLog) })
	}
}

func TestMemoryLogBehaviour(t *testing.T) {
	testLogBehaviour(t, func(t *testing.T, maxLen int) Log {
		return NewMemory(MemoryConfig{MaxLen: maxLen})
	})
}

func TestRedisLogBehaviour(t *testing.T) {
	srv := redistest.Start(t)
	testLogBehaviour(t, func(t *testing.T, maxLen int) Log {
		return newTestRedis(t, []string{srv.Addr()}, RedisConfig{MaxLen: int64(maxLen)})
	})
}

// logAppend appends n entries "<room>/<i>" to room and returns their IDs.
func logAppend(t *testing.T, l Log, room string, n int) []codec.ID {
	t.Helper()
	ids := make([]codec.ID, n)
	for i := range ids {
		id, err := l.Append(context.Background(), room, []byte(room+"/"+strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("Append(%q) = %v", room, err)
		}
		ids[i] = id
	}
	return ids
}

func logRange(t *testing.T, l Log, q Query) Page {
	t.Helper()
	page, err := l.Range(context.Background(), q)
	if err != nil {
		t.Fatalf("Range(%+v) = %v", q, err)
	}
	if page.Room != q.Room {
		t.Fatalf("Range(%+v).Room = %q", q, page.Room)
	}
	return page
}

func logRead(t *testing.T, l Log, cursors []Cursor, count int, block time.Duration) []Page {
	t.Helper()
	pages, err := l.Read(context.Background(), cursors, count, block)
	if err != nil {
		t.Fatalf("Read(%v, %d, %v) = %v", cursors, count, block, err)
	}
	return pages
}

func pageIDs(entries []Entry) []codec.ID {
	ids := make([]codec.ID, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

// describePages renders pages as "room:n[gap]" for failure messages.
func describePages(pages []Page) string {
	var b strings.Builder
	for _, p := range pages {
		fmt.Fprintf(&b, "%s:%d", p.Room, len(p.Entries))
		if p.Gap {
			b.WriteString("[gap]")
		}
		b.WriteByte(' ')
	}
	return b.String()
}

func testLogAppendIDsIncrease(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	ctx := context.Background()
	if last, err := l.Last(ctx, "ids"); err != nil || !last.IsZero() {
		t.Fatalf("Last(unknown room) = %v, %v; want 0-0", last, err)
	}
	ids := logAppend(t, l, "ids", 200)
	for i := 1; i < len(ids); i++ {
		if !ids[i-1].Less(ids[i]) {
			t.Fatalf("Append IDs not increasing: %v then %v", ids[i-1], ids[i])
		}
	}
	if last, err := l.Last(ctx, "ids"); err != nil || last != ids[len(ids)-1] {
		t.Fatalf("Last = %v, %v; want %v", last, err, ids[len(ids)-1])
	}
	if other := logAppend(t, l, "other", 1); other[0].IsZero() {
		t.Fatalf("Append to another room = %v", other[0])
	}
	if last, err := l.Last(ctx, "ids"); err != nil || last != ids[len(ids)-1] {
		t.Fatalf("Last after another room's Append = %v, %v; want %v", last, err, ids[len(ids)-1])
	}
}

func testLogConcurrentAppends(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	const writers, each = 8, 50
	var mu sync.Mutex
	data := make(map[codec.ID]string)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				payload := fmt.Sprintf("w%d/%d", w, i)
				id, err := l.Append(context.Background(), "busy", []byte(payload))
				if err != nil {
					t.Errorf("Append = %v", err)
					return
				}
				mu.Lock()
				if prev, dup := data[id]; dup {
					t.Errorf("ID %v given to %q and %q", id, prev, payload)
				}
				data[id] = payload
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	page := logRange(t, l, Query{Room: "busy"})
	if len(page.Entries) != writers*each || page.Gap {
		t.Fatalf("Range = %d entries, gap %v; want %d, no gap", len(page.Entries), page.Gap, writers*each)
	}
	for i, e := range page.Entries {
		if i > 0 && !page.Entries[i-1].ID.Less(e.ID) {
			t.Fatalf("entries not in codec.ID order at %d: %v then %v", i, page.Entries[i-1].ID, e.ID)
		}
		if want, ok := data[e.ID]; !ok || string(e.Data) != want {
			t.Fatalf("entry %v = %q; Append stored %q", e.ID, e.Data, want)
		}
	}
}

func testLogData(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	payloads := [][]byte{
		nil,
		[]byte("plain"),
		{0, 1, 0xfe, 0xff, '\r', '\n'},
		[]byte(`{"text":"弹幕 ✓","color":"#fff"}`),
		bytes.Repeat([]byte("x"), 64<<10),
	}
	for _, p := range payloads {
		buf := bytes.Clone(p)
		if _, err := l.Append(context.Background(), "data", buf); err != nil {
			t.Fatalf("Append(%d bytes) = %v", len(p), err)
		}
		for i := range buf {
			buf[i] = '!' // the log must not keep the caller's buffer
		}
	}
	page := logRange(t, l, Query{Room: "data"})
	if len(page.Entries) != len(payloads) {
		t.Fatalf("Range = %d entries; want %d", len(page.Entries), len(payloads))
	}
	for i, e := range page.Entries {
		if !bytes.Equal(e.Data, payloads[i]) {
			t.Errorf("entry %d = %q; want %q", i, e.Data, payloads[i])
		}
	}
	pages := logRead(t, l, []Cursor{{Room: "data"}}, 0, 0)
	if len(pages) != 1 || len(pages[0].Entries) != len(payloads) || !bytes.Equal(pages[0].Entries[1].Data, payloads[1]) {
		t.Fatalf("Read = %s; want the %d entries", describePages(pages), len(payloads))
	}
}

func testLogRange(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	ids := logAppend(t, l, "r", 10)
	span := func(from, to int) []codec.ID { return ids[from:to] }
	for _, tc := range []struct {
		name string
		q    Query
		want []codec.ID
		gap  bool
	}{
		{"all", Query{}, ids, false},
		{"after", Query{After: ids[2]}, span(3, 10), false},
		{"after last", Query{After: ids[9]}, nil, false},
		{"through", Query{Through: ids[5]}, span(0, 6), false},
		{"after and through", Query{After: ids[2], Through: ids[5]}, span(3, 6), false},
		{"through equals after", Query{After: ids[4], Through: ids[4]}, nil, false},
		{"through before after", Query{After: ids[6], Through: ids[3]}, nil, false},
		{"limit", Query{Limit: 3}, span(0, 3), false},
		{"limit after", Query{After: ids[2], Limit: 3}, span(3, 6), false},
		{"limit beyond", Query{Limit: 20}, ids, false},
		{"newest without limit", Query{Newest: true}, ids, false},
		{"newest cut", Query{Limit: 3, Newest: true}, span(7, 10), true},
		{"newest exact", Query{Limit: 10, Newest: true}, ids, false},
		{"newest beyond", Query{Limit: 20, Newest: true}, ids, false},
		{"newest after", Query{After: ids[6], Limit: 5, Newest: true}, span(7, 10), false},
		{"newest window cut", Query{After: ids[2], Through: ids[5], Limit: 2, Newest: true}, span(4, 6), true},
		{"newest window exact", Query{After: ids[2], Through: ids[5], Limit: 3, Newest: true}, span(3, 6), false},
	} {
		tc.q.Room = "r"
		page := logRange(t, l, tc.q)
		if got := pageIDs(page.Entries); !slices.Equal(got, tc.want) || page.Gap != tc.gap {
			t.Errorf("%s: Range(%+v) = %v gap %v; want %v gap %v", tc.name, tc.q, got, page.Gap, tc.want, tc.gap)
		}
	}
	for i, e := range logRange(t, l, Query{Room: "r", After: ids[6]}).Entries {
		if want := "r/" + strconv.Itoa(7+i); string(e.Data) != want {
			t.Errorf("entry %v = %q; want %q", e.ID, e.Data, want)
		}
	}
	if page := logRange(t, l, Query{Room: "nobody"}); len(page.Entries) != 0 || page.Gap {
		t.Errorf("Range(unknown room) = %d entries gap %v; want none", len(page.Entries), page.Gap)
	}
}

func testLogRetention(t *testing.T, newLog logBackend) {
	const maxLen, appended = 20, 300
	l := newLog(t, maxLen)
	ids := logAppend(t, l, "old", appended)

	page := logRange(t, l, Query{Room: "old"})
	kept := len(page.Entries)
	if kept < maxLen || kept > maxLen+nodeSlack || !page.Gap {
		t.Fatalf("Range after %d appends = %d entries, gap %v; want %d..%d and a gap", appended, kept, page.Gap, maxLen, maxLen+nodeSlack)
	}
	first := appended - kept
	if got := pageIDs(page.Entries); !slices.Equal(got, ids[first:]) {
		t.Fatalf("retained %v; want the newest %d appended", got, kept)
	}
	if last, err := l.Last(context.Background(), "old"); err != nil || last != ids[appended-1] {
		t.Fatalf("Last = %v, %v; want %v", last, err, ids[appended-1])
	}

	for _, tc := range []struct {
		name string
		q    Query
		want []codec.ID
		gap  bool
	}{
		{"trimmed position", Query{After: ids[0]}, ids[first:], true},
		{"trimmed position, limit", Query{After: ids[0], Limit: 5}, ids[first : first+5], true},
		{"trimmed position, newest", Query{After: ids[0], Limit: 5, Newest: true}, ids[appended-5:], true},
		{"trimmed window", Query{After: ids[0], Through: ids[1]}, nil, true},
		{"oldest retained", Query{After: ids[first]}, ids[first+1:], false},
		{"recent", Query{After: ids[appended-3]}, ids[appended-2:], false},
	} {
		tc.q.Room = "old"
		page := logRange(t, l, tc.q)
		if got := pageIDs(page.Entries); !slices.Equal(got, tc.want) || page.Gap != tc.gap {
			t.Errorf("%s: Range(%+v) = %v gap %v; want %v gap %v", tc.name, tc.q, got, page.Gap, tc.want, tc.gap)
		}
	}

	for _, tc := range []struct {
		name  string
		after codec.ID
		count int
		want  []codec.ID
		gap   bool
	}{
		{"from zero", codec.ID{}, 10, ids[first : first+10], true},
		{"from trimmed", ids[0], 10, ids[first : first+10], true},
		{"from oldest retained", ids[first], 0, ids[first+1:], false},
		{"recent", ids[appended-11], 10, ids[appended-10:], false},
		{"from zero again", codec.ID{}, 10, ids[first : first+10], true},
		{"from trimmed again", ids[0], 10, ids[first : first+10], true},
	} {
		pages := logRead(t, l, []Cursor{{Room: "old", After: tc.after}}, tc.count, 0)
		if len(pages) != 1 {
			t.Errorf("%s: Read = %s; want one page", tc.name, describePages(pages))
			continue
		}
		if got := pageIDs(pages[0].Entries); !slices.Equal(got, tc.want) || pages[0].Gap != tc.gap {
			t.Errorf("%s: Read from %v = %v gap %v; want %v gap %v", tc.name, tc.after, got, pages[0].Gap, tc.want, tc.gap)
		}
	}
}

func testLogReadAvailable(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	a := logAppend(t, l, "a", 3)
	c := logAppend(t, l, "c", 2)
	cursors := []Cursor{{Room: "a"}, {Room: "b"}, {Room: "c"}}
	pages := logRead(t, l, cursors, 0, time.Second)
	if len(pages) != 2 || pages[0].Room != "a" || pages[1].Room != "c" ||
		!slices.Equal(pageIDs(pages[0].Entries), a) || !slices.Equal(pageIDs(pages[1].Entries), c) ||
		pages[0].Gap || pages[1].Gap {
		t.Fatalf("Read = %s; want a:3 c:2", describePages(pages))
	}
	pages = logRead(t, l, []Cursor{{Room: "c"}, {Room: "a"}}, 2, 0)
	if len(pages) != 2 || pages[0].Room != "c" || pages[1].Room != "a" || !slices.Equal(pageIDs(pages[1].Entries), a[:2]) {
		t.Fatalf("Read(c, a; count 2) = %s; want c:2 a:2 in cursor order", describePages(pages))
	}
	pages = logRead(t, l, []Cursor{{Room: "a", After: a[0]}, {Room: "c", After: c[1]}}, 0, 0)
	if len(pages) != 1 || pages[0].Room != "a" || !slices.Equal(pageIDs(pages[0].Entries), a[1:]) {
		t.Fatalf("Read(a after first, c at last) = %s; want a:2", describePages(pages))
	}
	if pages := logRead(t, l, []Cursor{{Room: "a", After: a[2]}, {Room: "b"}}, 0, 0); pages != nil {
		t.Fatalf("Read with nothing new = %s; want nil", describePages(pages))
	}
}

func testLogReadNoCap(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	ids := logAppend(t, l, "many", 150)
	for _, count := range []int{0, -1} {
		pages := logRead(t, l, []Cursor{{Room: "many"}}, count, 0)
		if len(pages) != 1 || !slices.Equal(pageIDs(pages[0].Entries), ids) || pages[0].Gap {
			t.Fatalf("Read(count %d) = %s; want all 150", count, describePages(pages))
		}
	}
}

func testLogReadTimeout(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	ids := logAppend(t, l, "quiet", 1)
	const block = 150 * time.Millisecond
	start := time.Now()
	pages := logRead(t, l, []Cursor{{Room: "quiet", After: ids[0]}, {Room: "empty"}}, 10, block)
	if elapsed := time.Since(start); pages != nil || elapsed < block-10*time.Millisecond {
		t.Fatalf("Read = %s after %v; want nil after %v", describePages(pages), elapsed, block)
	}
}

func testLogReadWakesOnAppend(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	a := logAppend(t, l, "a", 1)
	type result struct {
		pages []Page
		err   error
	}
	done := make(chan result, 1)
	go func() {
		pages, err := l.Read(context.Background(), []Cursor{{Room: "a", After: a[0]}, {Room: "b"}}, 10, 10*time.Second)
		done <- result{pages, err}
	}()
	time.Sleep(50 * time.Millisecond)
	b := logAppend(t, l, "b", 1)
	res := <-done
	if res.err != nil || len(res.pages) != 1 || res.pages[0].Room != "b" || !slices.Equal(pageIDs(res.pages[0].Entries), b) {
		t.Fatalf("Read = %s, %v; want b:1", describePages(res.pages), res.err)
	}
}

func testLogReadContext(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	cursors := []Cursor{{Room: "idle"}}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if pages, err := l.Read(ctx, cursors, 10, time.Second); !errors.Is(err, context.Canceled) || pages != nil {
		t.Fatalf("Read(canceled ctx) = %s, %v; want context.Canceled", describePages(pages), err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	pages, err := l.Read(ctx, cursors, 10, 30*time.Second)
	if !errors.Is(err, context.Canceled) || pages != nil || time.Since(start) > 10*time.Second {
		t.Fatalf("Read canceled while blocked = %s, %v after %v; want context.Canceled at once", describePages(pages), err, time.Since(start))
	}

	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	pages, err = l.Read(ctx, cursors, 10, 30*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) || pages != nil || time.Since(start) > 10*time.Second {
		t.Fatalf("Read past its deadline = %s, %v; want context.DeadlineExceeded", describePages(pages), err)
	}

	// The log still works after canceled reads.
	ids := logAppend(t, l, "idle", 1)
	if pages := logRead(t, l, cursors, 10, time.Second); len(pages) != 1 || pages[0].Entries[0].ID != ids[0] {
		t.Fatalf("Read after cancellations = %s; want idle:1", describePages(pages))
	}
}

func testLogReadNoCursors(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	if pages := logRead(t, l, nil, 10, 0); pages != nil {
		t.Fatalf("Read(no cursors, no block) = %s; want nil", describePages(pages))
	}
	start := time.Now()
	if pages := logRead(t, l, nil, 10, 100*time.Millisecond); pages != nil || time.Since(start) < 90*time.Millisecond {
		t.Fatalf("Read(no cursors) = %s after %v; want nil after the block", describePages(pages), time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := l.Read(ctx, nil, 10, 30*time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read(no cursors, canceled) = %v; want context.Canceled", err)
	}
}

func testLogReadManyRooms(t *testing.T, newLog logBackend) {
	l := newLog(t, 0)
	const rooms = 64
	cursors := make([]Cursor, rooms)
	for i := range cursors {
		cursors[i] = Cursor{Room: "room-" + strconv.Itoa(i)}
	}
	want := []int{3, 17, 40, 63}
	for _, i := range want {
		logAppend(t, l, cursors[i].Room, i%3+1)
	}
	check := func(pages []Page, want []int) {
		t.Helper()
		if len(pages) != len(want) {
			t.Fatalf("Read = %s; want pages for rooms %v", describePages(pages), want)
		}
		for k, i := range want {
			if pages[k].Room != cursors[i].Room || len(pages[k].Entries) == 0 || pages[k].Gap {
				t.Fatalf("Read = %s; want pages for rooms %v in cursor order", describePages(pages), want)
			}
			cursors[i].After = pages[k].Entries[len(pages[k].Entries)-1].ID
		}
	}
	check(logRead(t, l, cursors, 10, 0), want)
	if pages := logRead(t, l, cursors, 10, 0); pages != nil {
		t.Fatalf("Read at the end of every room = %s; want nil", describePages(pages))
	}

	done := make(chan []Page, 1)
	go func() {
		pages, err := l.Read(context.Background(), cursors, 10, 10*time.Second)
		if err != nil {
			t.Errorf("blocking Read = %v", err)
		}
		done <- pages
	}()
	time.Sleep(50 * time.Millisecond)
	logAppend(t, l, cursors[50].Room, 1)
	check(<-done, []int{50})

	later := []int{0, 9, 21, 50, 62}
	for _, i := range later {
		logAppend(t, l, cursors[i].Room, 2)
	}
	check(logRead(t, l, cursors, 10, time.Second), later)
}

// redisTarget is a single Redis or a cluster that Redis-only tests use.
type redisTarget struct {
	addrs    []string
	flushAll func()
}

// testRedisResets runs the reset tests on target. They flush it: run them
// last on a shared server.
func testRedisResets(t *testing.T, target redisTarget) {
	t.Run("Deleted", func(t *testing.T) { testRedisResetDeleted(t, target) })
	t.Run("LowerIDs", func(t *testing.T) { testRedisResetLowerIDs(t, target) })
}

func TestRedisReset(t *testing.T) {
	srv := redistest.Start(t)
	testRedisResets(t, redisTarget{addrs: []string{srv.Addr()}, flushAll: func() { srv.MustDo("FLUSHALL") }})
}

// testRedisResetDeleted flushes a room's stream under a reader: the reader
// gets one Gap page without entries, then the new entries without a gap.
func testRedisResetDeleted(t *testing.T, target redisTarget) {
	r := newTestRedis(t, target.addrs, RedisConfig{})
	ids := logAppend(t, r, "gone", 2)
	cursors := []Cursor{{Room: "gone", After: ids[1]}}
	target.flushAll()

	pages := logRead(t, r, cursors, 10, 100*time.Millisecond)
	if len(pages) != 1 || pages[0].Room != "gone" || !pages[0].Gap || len(pages[0].Entries) != 0 {
		t.Fatalf("Read after the stream was deleted = %s; want one empty Gap page", describePages(pages))
	}
	time.Sleep(checkInterval)
	if pages := logRead(t, r, cursors, 10, 100*time.Millisecond); pages != nil {
		t.Fatalf("Read at the same cursor a second later = %s; want the reset reported once", describePages(pages))
	}
	id := logAppend(t, r, "gone", 1)
	pages = logRead(t, r, cursors, 10, time.Second)
	if len(pages) != 1 || pages[0].Gap || !slices.Equal(pageIDs(pages[0].Entries), id) {
		t.Fatalf("Read after a new Append = %s; want the new entry without another gap", describePages(pages))
	}
	if page := logRange(t, r, Query{Room: "gone", After: ids[1]}); !page.Gap || !slices.Equal(pageIDs(page.Entries), id) {
		t.Fatalf("Range from before the reset = %v gap %v; want %v with a gap", pageIDs(page.Entries), page.Gap, id)
	}
}

// testRedisResetLowerIDs makes a room's IDs go back below a reader's
// cursor, as after a reset on a server whose clock is behind: the reader
// gets the new entries from the beginning with a gap instead of waiting
// for the clock to catch up.
func testRedisResetLowerIDs(t *testing.T, target redisTarget) {
	r := newTestRedis(t, target.addrs, RedisConfig{})
	ctx := context.Background()
	future := codec.ID{MS: uint64(time.Now().Add(time.Hour).UnixMilli())}
	if err := r.client.Do(ctx, r.client.B().Xadd().Key(r.key("back")).Id(future.String()).
		FieldValue().FieldValue(dataField, "from the future").Build()).Error(); err != nil {
		t.Fatalf("XADD with codec.ID %v: %v", future, err)
	}
	target.flushAll()
	ids := logAppend(t, r, "back", 3)
	if !ids[2].Less(future) {
		t.Fatalf("Append after the reset = %v; want below %v", ids[2], future)
	}
	pages := logRead(t, r, []Cursor{{Room: "back", After: future}}, 2, 100*time.Millisecond)
	if len(pages) != 1 || !pages[0].Gap || !slices.Equal(pageIDs(pages[0].Entries), ids[:2]) {
		t.Fatalf("Read from %v = %s; want the first 2 of %v with a gap", future, describePages(pages), ids)
	}
	for _, q := range []Query{
		{Room: "back", After: future},
		{Room: "back", After: future, Limit: 3, Newest: true},
	} {
		if page := logRange(t, r, q); !page.Gap || !slices.Equal(pageIDs(page.Entries), ids) {
			t.Errorf("Range(%+v) = %v gap %v; want %v with a gap", q, pageIDs(page.Entries), page.Gap, ids)
		}
	}
}

// TestRedisResetRestart restarts Redis without persistence under a reader:
// the new stream's entries come with a gap.
func TestRedisResetRestart(t *testing.T) {
	srv := redistest.Start(t)
	r := newTestRedis(t, []string{srv.Addr()}, RedisConfig{})
	ids := logAppend(t, r, "restart", 2)
	cursors := []Cursor{{Room: "restart", After: ids[1]}}
	if pages := logRead(t, r, cursors, 10, 0); pages != nil {
		t.Fatalf("Read at the end = %s; want nil", describePages(pages))
	}
	srv.Restart()
	time.Sleep(checkInterval)

	// Writes are not retried: the first one may meet the broken connection.
	var id codec.ID
	var err error
	for range 50 {
		if id, err = r.Append(context.Background(), "restart", []byte("after")); err == nil {
			break
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Append after restart = %v; want ErrUnavailable or success", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Append after restart = %v", err)
	}
	pages := logRead(t, r, cursors, 10, time.Second)
	if len(pages) != 1 || !pages[0].Gap || !slices.Equal(pageIDs(pages[0].Entries), []codec.ID{id}) {
		t.Fatalf("Read after restart = %s; want [%v] with a gap", describePages(pages), id)
	}
}

func TestRedisMalformedEntries(t *testing.T) {
	srv := redistest.Start(t)
	r := newTestRedis(t, []string{srv.Addr()}, RedisConfig{})
	ctx := context.Background()
	key := r.key("odd")
	for _, args := range [][]string{
		{"XADD", key, "*", "x", "1"},
		{"XADD", key, "*", "e", "2", dataField, "hello", dataField, "again"},
	} {
		if err := r.client.Do(ctx, r.client.B().Arbitrary(args...).Build()).Error(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	page := logRange(t, r, Query{Room: "odd"})
	if len(page.Entries) != 2 || len(page.Entries[0].Data) != 0 || string(page.Entries[1].Data) != "hello" {
		t.Fatalf("Range = %d entries %q; want one empty, then \"hello\"", len(page.Entries), page.Entries)
	}
	pages := logRead(t, r, []Cursor{{Room: "odd"}}, 1, 0)
	if len(pages) != 1 || len(pages[0].Entries) != 1 || pages[0].Entries[0].ID != page.Entries[0].ID {
		t.Fatalf("Read = %s; want the entry without data, so the cursor moves past it", describePages(pages))
	}
	srv.MustDo("SET", r.key("string"), "x")
	if _, err := r.Range(ctx, Query{Room: "string"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Range of a key of another type = %v; want ErrUnavailable", err)
	}
}

func TestRedisConfig(t *testing.T) {
	srv := redistest.Start(t)
	r := NewRedis(newTestClient(t, rdb.Config{Addrs: []string{srv.Addr()}}), RedisConfig{})
	if r.maxLenEntries != DefaultMaxLen || r.timeout != DefaultRedisTimeout || r.cluster ||
		r.maxBlockingReads != DefaultMaxBlockingReads || r.pollInterval != DefaultPollInterval {
		t.Fatalf("defaults: maxLen %d timeout %v cluster %v maxBlockingReads %d pollInterval %v",
			r.maxLenEntries, r.timeout, r.cluster, r.maxBlockingReads, r.pollInterval)
	}
	logAppend(t, r, "lobby", 1)
	if typ := srv.MustDo("TYPE", "danmu:{lobby}:s"); typ.String() == "" || !strings.Contains(typ.String(), "stream") {
		t.Fatalf("TYPE danmu:{lobby}:s = %v; want stream", typ.String())
	}
}

// testRedisTTL checks that Append sets the stream's expiry (PTTL on the
// real server) and refreshes it once the last refresh is a hundredth of
// the TTL old, not on every comment; that a stream deleted meanwhile is
// made again with its expiry; that a negative TTL sets none; and that a
// reader of a stream that expired gets a gap.
func testRedisTTL(t *testing.T, addrs []string) {
	ctx := context.Background()
	pttl := func(r *Redis, room string) time.Duration {
		t.Helper()
		ms, err := r.client.Do(ctx, r.client.B().Pttl().Key(r.key(room)).Build()).AsInt64()
		if err != nil {
			t.Fatalf("PTTL %s: %v", r.key(room), err)
		}
		return time.Duration(ms) * time.Millisecond
	}
	expire := func(r *Redis, room string, ttl time.Duration) {
		t.Helper()
		if err := r.client.Do(ctx, r.client.B().Pexpire().Key(r.key(room)).Milliseconds(ttl.Milliseconds()).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ttl, want time.Duration
	}{{0, DefaultStreamTTL}, {time.Hour, time.Hour}, {-1, 0}} {
		r := newTestRedis(t, addrs, RedisConfig{TTL: tc.ttl})
		logAppend(t, r, "ttl", 1)
		if tc.want == 0 {
			if got := pttl(r, "ttl"); got != -time.Millisecond {
				t.Errorf("TTL %v: PTTL = %v; want -1 ms (no expiry)", tc.ttl, got)
			}
			continue
		}
		if got := pttl(r, "ttl"); got <= tc.want-time.Minute || got > tc.want {
			t.Errorf("TTL %v: PTTL after Append = %v; want about %v", tc.ttl, got, tc.want)
		}
		expire(r, "ttl", time.Minute)
		logAppend(t, r, "ttl", 1)
		if got := pttl(r, "ttl"); got > time.Minute {
			t.Errorf("TTL %v: PTTL after another Append at once = %v; want it left at most 1m (refreshed a moment ago)", tc.ttl, got)
		}
		if err := r.client.Do(ctx, r.client.B().Del().Key(r.key("ttl")).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		ids := logAppend(t, r, "ttl", 1)
		if got := pttl(r, "ttl"); got <= tc.want-time.Minute || got > tc.want {
			t.Errorf("TTL %v: PTTL after an Append to the deleted stream = %v; want it made again with about %v", tc.ttl, got, tc.want)
		}
		if page := logRange(t, r, Query{Room: "ttl", Limit: 10}); len(page.Entries) != 1 || page.Entries[0].ID != ids[0] {
			t.Errorf("TTL %v: the stream made again holds %v; want the one entry %v", tc.ttl, pageIDs(page.Entries), ids[0])
		}
	}

	// A TTL of 2 s is refreshed once 20 ms have passed.
	r := newTestRedis(t, addrs, RedisConfig{TTL: 2 * time.Second})
	logAppend(t, r, "refresh", 1)
	expire(r, "refresh", time.Second)
	time.Sleep(30 * time.Millisecond)
	logAppend(t, r, "refresh", 1)
	if got := pttl(r, "refresh"); got <= time.Second {
		t.Errorf("PTTL after an Append 30 ms after the last refresh = %v; want it refreshed to about 2s", got)
	}

	r = newTestRedis(t, addrs, RedisConfig{TTL: 100 * time.Millisecond})
	ids := logAppend(t, r, "brief", 2)
	cursors := []Cursor{{Room: "brief", After: ids[1]}}
	if pages := logRead(t, r, cursors, 10, 0); pages != nil {
		t.Fatalf("Read at the end = %s; want nil", describePages(pages))
	}
	time.Sleep(max(checkInterval, 200*time.Millisecond))
	if got := pttl(r, "brief"); got != -2*time.Millisecond {
		t.Fatalf("PTTL of the stream after its TTL = %v; want -2 ms (gone)", got)
	}
	pages := logRead(t, r, cursors, 10, 100*time.Millisecond)
	if len(pages) != 1 || !pages[0].Gap || len(pages[0].Entries) != 0 {
		t.Fatalf("Read after the stream expired = %s; want one empty Gap page", describePages(pages))
	}
	if page := logRange(t, r, Query{Room: "brief", After: ids[0]}); !page.Gap || len(page.Entries) != 0 {
		t.Fatalf("Range after the stream expired = %v gap %v; want a gap", pageIDs(page.Entries), page.Gap)
	}
}

func TestRedisTTL(t *testing.T) {
	srv := redistest.Start(t)
	testRedisTTL(t, []string{srv.Addr()})
}

func TestRedisAuth(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "secret")
	r := NewRedis(newTestClient(t, rdb.Config{Addrs: []string{srv.Addr()}, Password: "secret"}), RedisConfig{})
	logAppend(t, r, "auth", 1)
}

// TestRedisUnavailable kills Redis: every call fails with ErrUnavailable
// within its bound instead of hanging.
func TestRedisUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	r := newTestRedis(t, []string{srv.Addr()}, RedisConfig{Timeout: 300 * time.Millisecond})
	logAppend(t, r, "down", 1)
	srv.Kill()
	ctx := context.Background()
	if _, err := r.Append(ctx, "down", []byte("x")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Append = %v; want ErrUnavailable", err)
	}
	if _, err := r.Range(ctx, Query{Room: "down"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Range = %v; want ErrUnavailable", err)
	}
	if _, err := r.Last(ctx, "down"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Last = %v; want ErrUnavailable", err)
	}
	if _, err := r.Read(ctx, []Cursor{{Room: "down"}}, 10, 100*time.Millisecond); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Read = %v; want ErrUnavailable", err)
	}
	r.client.Close()
	if _, err := r.Append(ctx, "down", []byte("x")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Append after Close = %v; want ErrUnavailable", err)
	}
}

// TestRedisCancelKeepsConnection cancels blocked Reads, as fan-out does
// whenever it starts following a room: CLIENT UNBLOCK ends each XREAD and
// its connection is reused instead of being closed and dialed again.
func TestRedisCancelKeepsConnection(t *testing.T) {
	srv := redistest.Start(t)
	r := newTestRedis(t, []string{srv.Addr()}, RedisConfig{})
	logRead(t, r, []Cursor{{Room: "idle"}}, 10, 10*time.Millisecond)
	before, _ := strconv.Atoi(srv.Info("total_connections_received"))
	const reads = 20
	for range reads {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(10*time.Millisecond, cancel)
		if _, err := r.Read(ctx, []Cursor{{Room: "idle"}}, 10, 30*time.Second); !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled Read = %v", err)
		}
	}
	after, _ := strconv.Atoi(srv.Info("total_connections_received"))
	// The INFO calls dial a connection each.
	if opened := after - before; opened > reads/2 {
		t.Fatalf("%d canceled Reads opened %d connections; want them reused", reads, opened)
	}
}

func TestStreamInfoClassify(t *testing.T) {
	id := func(ms, seq uint64) codec.ID { return codec.ID{MS: ms, Seq: seq} }
	fresh := streamInfo{exists: true, length: 3, entriesAdded: 3, lastGenerated: id(30, 0), first: id(10, 0)}
	trimmedInfo := streamInfo{exists: true, length: 3, entriesAdded: 9, lastGenerated: id(90, 0), first: id(70, 0)}
	empty := streamInfo{exists: true, length: 0, entriesAdded: 4, lastGenerated: id(40, 0)}
	for _, tc := range []struct {
		name  string
		info  streamInfo
		after codec.ID
		want  verdict
	}{
		{"missing, zero", streamInfo{}, codec.ID{}, intact},
		{"missing, cursor", streamInfo{}, id(5, 0), reset},
		{"fresh, zero", fresh, codec.ID{}, intact},
		{"fresh, first", fresh, id(10, 0), intact},
		{"fresh, last", fresh, id(30, 0), intact},
		{"fresh, beyond last", fresh, id(30, 1), reset},
		{"fresh, before first", fresh, id(9, 7), reset},
		{"trimmed, zero", trimmedInfo, codec.ID{}, trimmed},
		{"trimmed, before first", trimmedInfo, id(60, 0), trimmed},
		{"trimmed, first", trimmedInfo, id(70, 0), intact},
		{"trimmed, last", trimmedInfo, id(90, 0), intact},
		{"trimmed, beyond last", trimmedInfo, id(91, 0), reset},
		{"emptied, zero", empty, codec.ID{}, trimmed},
		{"emptied, before last", empty, id(39, 0), trimmed},
		{"emptied, last", empty, id(40, 0), intact},
		{"emptied, beyond last", empty, id(41, 0), reset},
	} {
		if got := tc.info.classify(tc.after); got != tc.want {
			t.Errorf("%s: classify(%v) = %d; want %d", tc.name, tc.after, got, tc.want)
		}
	}
}

func TestRoomChecks(t *testing.T) {
	var c roomChecks
	start := time.Now()
	due := func(room string, now time.Time) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.pruneLocked(now)
		return c.dueLocked(room, now)
	}
	for _, tc := range []struct {
		room  string
		after time.Duration
		want  bool
	}{
		{"a", 0, true},
		{"a", checkInterval / 2, false},
		{"b", checkInterval / 2, true},
		{"a", checkInterval, true},
		{"a", checkInterval + checkInterval/2, false},
		{"a", 2 * checkInterval, true},
	} {
		if got := due(tc.room, start.Add(tc.after)); got != tc.want {
			t.Errorf("due(%q) at +%v = %v; want %v", tc.room, tc.after, got, tc.want)
		}
	}

	if c.alreadyReported("a", codec.ID{MS: 5}) {
		t.Error("alreadyReported before any report")
	}
	c.reported("a", codec.ID{MS: 5}, start)
	c.reported("new", codec.ID{MS: 1}, start)
	if !c.alreadyReported("a", codec.ID{MS: 5}) || c.alreadyReported("a", codec.ID{MS: 6}) || !c.alreadyReported("new", codec.ID{MS: 1}) {
		t.Error("alreadyReported does not match the reports")
	}

	later := start.Add(forgetAfter + 2*checkInterval)
	due("a", later)
	c.mu.Lock()
	_, keptA := c.mu.rooms["a"]
	_, keptB := c.mu.rooms["b"]
	c.mu.Unlock()
	if !keptA || keptB || c.alreadyReported("new", codec.ID{MS: 1}) {
		t.Errorf("after %v: room a kept %v, b kept %v; want only a, checked meanwhile", forgetAfter, keptA, keptB)
	}
}
