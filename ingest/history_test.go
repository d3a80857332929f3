package ingest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// history is the body of a 200 history answer.
type history struct {
	Room string          `json:"room"`
	Msgs []codec.Message `json:"msgs"`
	Gap  bool            `json:"gap"`
	Next string          `json:"next"`
}

func (ts *testServer) history(t *testing.T, room, query string) history {
	t.Helper()
	r := ts.get(t, "/v1/rooms/"+room+"/danmaku"+query)
	if r.status != http.StatusOK {
		t.Fatalf("history %s%s: status %d (body %s)", room, query, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("history: Content-Type %q", ct)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("history: Access-Control-Allow-Origin %q; want *", got)
	}
	var h history
	decodeStrict(t, r.body, &h)
	if h.Room != room {
		t.Errorf("history room %q; want %q", h.Room, room)
	}
	return h
}

// postN posts n comments "0".."n-1" to room and returns their IDs.
func postN(t *testing.T, ts *testServer, room string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		r := ts.post(t, room, `{"text":"`+strconv.Itoa(i)+`","uid":"u`+strconv.Itoa(i)+`","color":"#00ff00","mode":"top"}`)
		if r.status != http.StatusCreated {
			t.Fatalf("post %d: status %d (body %s)", i, r.status, r.body)
		}
		var res postResult
		decodeStrict(t, r.body, &res)
		ids[i] = res.ID
	}
	return ids
}

// checkMsgs checks that h holds the comments posted as ids[from:to], in
// order.
func checkMsgs(t *testing.T, what string, h history, ids []string, from, to int, gap bool) {
	t.Helper()
	if len(h.Msgs) != to-from || h.Gap != gap {
		t.Fatalf("%s: %d msgs, gap %v; want %d, gap %v", what, len(h.Msgs), h.Gap, to-from, gap)
	}
	for i, m := range h.Msgs {
		n := from + i
		want := codec.Message{ID: ids[n], UID: "u" + strconv.Itoa(n), Name: "guest", Text: strconv.Itoa(n), Color: "#00ff00", Mode: "top", TS: m.TS}
		if m != want || m.TS == 0 {
			t.Errorf("%s: msg %d = %+v; want %+v", what, i, m, want)
		}
	}
}

func TestHistory(t *testing.T) {
	ts := startServer(t, Config{}, newMemory(), nil, nil)
	ids := postN(t, ts, "hist", 6)
	for i := 1; i < len(ids); i++ {
		prev, _ := codec.ParseID(ids[i-1])
		cur, _ := codec.ParseID(ids[i])
		if !prev.Less(cur) {
			t.Fatalf("ids not increasing: %s then %s", ids[i-1], ids[i])
		}
	}
	checkMsgs(t, "all", ts.history(t, "hist", ""), ids, 0, 6, false)
	checkMsgs(t, "since first", ts.history(t, "hist", "?since="+ids[0]), ids, 1, 6, false)
	checkMsgs(t, "since third", ts.history(t, "hist", "?since="+ids[2]), ids, 3, 6, false)
	checkMsgs(t, "since last", ts.history(t, "hist", "?since="+ids[5]), ids, 0, 0, false)
	checkMsgs(t, "since zero", ts.history(t, "hist", "?since=0"), ids, 0, 6, false)
	checkMsgs(t, "since zero, limit 2", ts.history(t, "hist", "?since=0-0&limit=2"), ids, 0, 2, false)
	checkMsgs(t, "since first, limit 2", ts.history(t, "hist", "?limit=2&since="+ids[0]), ids, 1, 3, false)
	// Without since, the newest limit entries; the older ones were left
	// out, which is a gap.
	checkMsgs(t, "newest 2", ts.history(t, "hist", "?limit=2"), ids, 4, 6, true)
	checkMsgs(t, "newest 6", ts.history(t, "hist", "?limit=6"), ids, 0, 6, false)
	checkMsgs(t, "newest max", ts.history(t, "hist", "?limit=1000"), ids, 0, 6, false)
	checkMsgs(t, "other room", ts.history(t, "empty", ""), ids, 0, 0, false)
}

func TestHistoryExactBody(t *testing.T) {
	mem := newMemory()
	ts := startServer(t, Config{}, mem, nil, nil)
	id, err := mem.Append(context.Background(), "r", []byte(`{"uid":"u","name":"n","text":"t","color":"#ffffff","mode":"scroll","ts":5}`))
	if err != nil {
		t.Fatal(err)
	}
	r := ts.get(t, "/v1/rooms/r/danmaku")
	want := `{"room":"r","msgs":[{"id":"` + id.String() + `","uid":"u","name":"n","text":"t","color":"#ffffff","mode":"scroll","ts":5}],"gap":false,"next":"` + id.String() + `"}`
	if string(r.body) != want {
		t.Errorf("history = %s; want %s", r.body, want)
	}
}

// TestHistorySkipsForeignEntries checks that an entry which is not a JSON
// object (written to a shared log by something else) is left out rather
// than breaking the answer.
func TestHistorySkipsForeignEntries(t *testing.T) {
	mem := newMemory()
	ts := startServer(t, Config{}, mem, nil, nil)
	ctx := context.Background()
	for _, data := range []string{"", "x", `[1]`, `{oops}`, `{"a":1}{"b":2}`} {
		if _, err := mem.Append(ctx, "r", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	id, err := mem.Append(ctx, "r", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	r := ts.get(t, "/v1/rooms/r/danmaku")
	if want := `{"room":"r","msgs":[{"id":"` + id.String() + `"}],"gap":false,"next":"` + id.String() + `"}`; string(r.body) != want {
		t.Errorf("history = %s; want %s", r.body, want)
	}
}

// TestHistoryLeavesOutDeleted checks that delete records are not listed,
// nor the messages they delete, nor a retried POST's second copy.
func TestHistoryLeavesOutDeleted(t *testing.T) {
	mem := newMemory()
	ts := startServer(t, Config{}, mem, nil, nil)
	ctx := context.Background()
	var ids []codec.ID
	for _, text := range []string{"a", "b", "c"} {
		id, err := mem.Append(ctx, "r", []byte(`{"text":"`+text+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for range 2 { // a retried POST stored twice is listed once
		if _, err := mem.Append(ctx, "r", []byte(`{"cid":"x","uid":"u1","text":"d"}`)); err != nil {
			t.Fatal(err)
		}
	}
	del, err := codec.EncodeDelete(ids[1].String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Append(ctx, "r", del); err != nil {
		t.Fatal(err)
	}
	r := ts.get(t, "/v1/rooms/r/danmaku")
	want := `{"room":"r","msgs":[{"id":"` + ids[0].String() + `","text":"a"},{"id":"` + ids[2].String() + `","text":"c"},{"id":"`
	if !strings.HasPrefix(string(r.body), want) || strings.Count(string(r.body), `"cid":"x"`) != 1 {
		t.Errorf("history = %s; want %s", r.body, want)
	}
}

// TestHistoryNextPagesPastLeftOut pages with next through a room whose
// first page lists nothing (a message and its delete record).
func TestHistoryNextPagesPastLeftOut(t *testing.T) {
	mem := newMemory()
	ts := startServer(t, Config{}, mem, nil, nil)
	ctx := context.Background()
	a, err := mem.Append(ctx, "r", []byte(`{"text":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	del, _ := codec.EncodeDelete(a.String())
	if _, err := mem.Append(ctx, "r", del); err != nil {
		t.Fatal(err)
	}
	b, err := mem.Append(ctx, "r", []byte(`{"text":"b"}`))
	if err != nil {
		t.Fatal(err)
	}
	first := ts.get(t, "/v1/rooms/r/danmaku?since=0-0&limit=2")
	var h history
	if err := json.Unmarshal(first.body, &h); err != nil || len(h.Msgs) != 0 || h.Next == "" {
		t.Fatalf("first page %s (%v); want no messages and a next", first.body, err)
	}
	second := ts.get(t, "/v1/rooms/r/danmaku?since="+h.Next+"&limit=2")
	h = history{}
	if err := json.Unmarshal(second.body, &h); err != nil || len(h.Msgs) != 1 || h.Msgs[0].ID != b.String() {
		t.Errorf("second page %s (%v); want b", second.body, err)
	}
}

func TestHistoryGapAfterTrim(t *testing.T) {
	mem := stream.NewMemory(stream.MemoryConfig{MaxLen: 3})
	ts := startServer(t, Config{}, mem, nil, nil)
	ids := postN(t, ts, "small", 5)
	// ids[0] and ids[1] were trimmed: a reader resuming from ids[0] missed
	// ids[1].
	checkMsgs(t, "since trimmed", ts.history(t, "small", "?since="+ids[0]), ids, 2, 5, true)
	checkMsgs(t, "since zero", ts.history(t, "small", "?since=0"), ids, 2, 5, true)
	checkMsgs(t, "since last trimmed", ts.history(t, "small", "?since="+ids[1]), ids, 2, 5, false)
	// Without since the reader asked from the start of the room, and
	// older entries are gone.
	checkMsgs(t, "newest", ts.history(t, "small", ""), ids, 2, 5, true)
}

func TestHistoryLimits(t *testing.T) {
	ts := startServer(t, Config{HistoryLimit: 2, MaxHistoryLimit: 3}, newMemory(), nil, nil)
	ids := postN(t, ts, "r", 5)
	checkMsgs(t, "default limit", ts.history(t, "r", ""), ids, 3, 5, true)
	checkMsgs(t, "max limit", ts.history(t, "r", "?limit=3"), ids, 2, 5, true)
	checkError(t, "above max", ts.get(t, "/v1/rooms/r/danmaku?limit=4"), http.StatusBadRequest, CodeInvalidLimit)
}

func TestHistoryUnavailable(t *testing.T) {
	ts := startServer(t, Config{}, failingLog{newMemory()}, nil, nil)
	checkError(t, "failing log", ts.get(t, "/v1/rooms/r/danmaku"), http.StatusServiceUnavailable, CodeUnavailable)

	const timeout = 100 * time.Millisecond
	log := &hangingLog{Memory: newMemory()}
	ts = startServer(t, Config{QueryTimeout: timeout}, log, nil, nil)
	checkError(t, "hanging log", ts.get(t, "/v1/rooms/r/danmaku?since=1"), http.StatusServiceUnavailable, CodeUnavailable)
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.deadlines) != 1 || log.deadlines[0] <= 0 || log.deadlines[0] > timeout {
		t.Errorf("Range got deadlines %v; want one within %v", log.deadlines, timeout)
	}
}
