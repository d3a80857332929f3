package ingest

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/stream"
	"github.com/valyala/fasthttp"
)

// batchResult is one result of a 200 to POST .../danmaku:batch.
type batchResult struct {
	Status int    `json:"status"`
	ID     string `json:"id"`
	TS     int64  `json:"ts"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	RetryAfter int `json:"retry_after"`
}

func (r batchResult) code() string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Code
}

// postBatch posts body to room's batch route and decodes the 200.
func (ts *testServer) postBatch(t *testing.T, room, body string) []batchResult {
	t.Helper()
	r := ts.do(t, http.MethodPost, "/v1/rooms/"+room+"/danmaku:batch", "application/json", []byte(body))
	if r.status != http.StatusOK {
		t.Fatalf("batch: status %d; want 200 (body %s)", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("batch: Content-Type %q; want application/json", ct)
	}
	var out struct {
		Results []batchResult `json:"results"`
	}
	decodeStrict(t, r.body, &out)
	return out.Results
}

// batchOf returns a batch body of the given comment bodies.
func batchOf(comments ...string) string {
	return `{"comments":[` + strings.Join(comments, ",") + `]}`
}

// TestDecodeBatch checks the comments decodeBatch splits a body into, and
// its answers to bodies that are not a batch of 1 to MaxBatch comments.
func TestDecodeBatch(t *testing.T) {
	cfg, errs := defaultConfig()
	small := *cfg
	small.MaxBatch = 2
	small.MaxBatchBytes = 64
	smallErrs := newLimitErrors(&small)
	tests := []struct {
		body  string
		small bool // MaxBatch 2, MaxBatchBytes 64
		want  []string
		err   *Error
	}{
		{body: batchOf(`{"text":"a"}`), want: []string{`{"text":"a"}`}},
		{body: " {\"comments\" :\t[ {\"text\":\"a\"} ,\n5 ,null,\"s\" , [1, {}] ]\r} ",
			want: []string{`{"text":"a"}`, `5`, `null`, `"s"`, `[1, {}]`}},
		{body: `{"Comments":[1],"x":{"a":[true]}}`, want: []string{`1`}},
		{body: `{"COMMENT\u0053":[1]}`, want: []string{`1`}},
		{body: `{"comments":[1],"comments":[2,3]}`, want: []string{`2`, `3`}},
		// A comment is checked as sonic skips a value: an escape far from
		// the end of the body is not (skipString); decodeComment refuses it.
		{body: batchOf(`{"text":"\q` + strings.Repeat("a", 80) + `"}`), want: []string{`{"text":"\q` + strings.Repeat("a", 80) + `"}`}},
		{body: `{"comments":[{"text":"\q"}]}`, err: errInvalidJSON},
		{body: `{"comments":[1],"comments":null}`, err: errs.invalidBatch},
		{body: `{"comments":[]}`, err: errs.invalidBatch},
		{body: `{"comment":[1]}`, err: errs.invalidBatch},
		{body: `{}`, err: errs.invalidBatch},
		{body: `{"comments":{"text":"a"}}`, err: errInvalidJSON},
		{body: `{"comments":[1,]}`, err: errInvalidJSON},
		{body: `{"comments":[1 2]}`, err: errInvalidJSON},
		{body: `{"comments":["\u00"]}`, err: errInvalidJSON},
		{body: `{"comments":[1]} x`, err: errInvalidJSON},
		{body: `{"comments\q":[1]}`, err: errInvalidJSON},
		{body: "{\"comments\":[\"\xff\"]}", err: errInvalidJSON},
		{body: `[{"text":"a"}]`, err: errInvalidJSON},
		{body: ``, err: errInvalidJSON},
		{body: `{"comments":[1,2]}`, small: true, want: []string{`1`, `2`}},
		{body: `{"comments":[1,2,3]}`, small: true, err: smallErrs.invalidBatch},
		{body: `{"comments":[1,2,3,]}`, small: true, err: errInvalidJSON},
		{body: batchOf(`"` + strings.Repeat("a", 64) + `"`), small: true, err: smallErrs.batchTooLarge},
	}
	for _, tt := range tests {
		c, e := cfg, errs
		if tt.small {
			c, e = &small, &smallErrs
		}
		kept := [][]byte{[]byte("kept")}
		got, err := decodeBatch(kept, []byte(tt.body), c, e)
		if err != tt.err || len(got) != len(tt.want)+1 || string(got[0]) != "kept" {
			t.Errorf("decodeBatch(%q) = %q, %v; want %q, %v", tt.body, got, err, tt.want, tt.err)
			continue
		}
		for i, raw := range got[1:] {
			if string(raw) != tt.want[i] {
				t.Errorf("decodeBatch(%q) comment %d = %q; want %q", tt.body, i, raw, tt.want[i])
			}
		}
	}
}

// TestPostBatch posts one batch mixing good and bad comments and checks
// each gets what a single post of it gets, in order, and that exactly the
// accepted ones are stored, in order, under the IDs answered.
func TestPostBatch(t *testing.T) {
	f, err := policy.LoadFilter(writeWords(t, "", "badword"), policy.FilterReject)
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemory()
	ts := startServer(t, Config{Policy: policy.Config{Filter: f}}, mem, nil, nil)
	tests := []struct {
		body   string
		status int
		code   string
		text   string // stored text when accepted
	}{
		{`{"text":"first"}`, 201, "", "first"},
		{`{"text":""}`, 400, CodeEmptyText, ""},
		{`{"text":"x","color":"red"}`, 400, CodeInvalidColor, ""},
		{`{"text":"弾幕","color":"#A1b2C3","mode":"top","name":"小明","uid":"u-42","cid":"c1"}`, 201, "", "弾幕"},
		{`{"text":"a badword"}`, 422, CodeContentRejected, ""},
		{`5`, 400, CodeInvalidJSON, ""},
		{`{"text":"` + strings.Repeat("é", 101) + `"}`, 400, CodeTextTooLong, ""},
		{`{"text":"x","prio":-1}`, 400, CodeInvalidPrio, ""},
		{`{"text":"last"}`, 201, "", "last"},
	}
	var bodies []string
	for _, tt := range tests {
		bodies = append(bodies, tt.body)
	}
	results := ts.postBatch(t, "r1", batchOf(bodies...))
	if len(results) != len(tests) {
		t.Fatalf("%d results for %d comments", len(results), len(tests))
	}
	var ids []string
	for i, tt := range tests {
		got := results[i]
		if got.Status != tt.status || got.code() != tt.code {
			t.Errorf("comment %d %s: status %d code %q; want %d %q", i, tt.body, got.Status, got.code(), tt.status, tt.code)
		}
		if tt.status == 201 {
			if got.ID == "" || got.TS == 0 || got.Error != nil {
				t.Errorf("comment %d: %+v; want an id and a ts", i, got)
			}
			ids = append(ids, got.ID)
			continue
		}
		if got.ID != "" || got.Error == nil || got.Error.Message == "" {
			t.Errorf("comment %d: %+v; want an error with a message and no id", i, got)
		}
		// The single post of the same body gets the same answer.
		single := ts.post(t, "r2", tt.body)
		checkError(t, "single post of "+tt.body, single, tt.status, tt.code)
	}
	checkRoomHolds(t, mem, "r1", ids, []string{"first", "弾幕", "last"})
}

// checkRoomHolds checks that room's entries are exactly the comments of
// texts, in order, stored under ids.
func checkRoomHolds(t *testing.T, log stream.Log, room string, ids, texts []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	page, err := log.Range(ctx, stream.Query{Room: room})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != len(ids) {
		t.Fatalf("room %s holds %d entries; want the %d accepted", room, len(page.Entries), len(ids))
	}
	for i, e := range page.Entries {
		m, err := codec.DecodeStored(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		if e.ID.String() != ids[i] || m.Text != texts[i] {
			t.Errorf("entry %d: %s %q; answered %s for %q", i, e.ID, m.Text, ids[i], texts[i])
		}
	}
}

// TestPostBatchBody checks the answers to bodies that are not a batch,
// and the route's other methods.
func TestPostBatchBody(t *testing.T) {
	ts := startServer(t, Config{MaxBatch: 3, MaxBatchBytes: 200}, newMemory(), nil, nil)
	path := "/v1/rooms/r/danmaku:batch"
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"not JSON", "text/plain", batchOf(`{"text":"a"}`), 415, CodeUnsupportedMediaType},
		{"not an object", "application/json", `[{"text":"a"}]`, 400, CodeInvalidJSON},
		{"broken JSON", "application/json", `{"comments":[{"text":"a"}`, 400, CodeInvalidJSON},
		{"not UTF-8", "application/json", "{\"comments\":[{\"text\":\"\xff\"}]}", 400, CodeInvalidJSON},
		{"comments not a list", "application/json", `{"comments":{"text":"a"}}`, 400, CodeInvalidJSON},
		{"no comments", "application/json", `{}`, 400, CodeInvalidBatch},
		{"empty", "application/json", `{"comments":[]}`, 400, CodeInvalidBatch},
		{"above MaxBatch", "application/json", batchOf(`{"text":"a"}`, `{"text":"b"}`, `{"text":"c"}`, `{"text":"d"}`), 400, CodeInvalidBatch},
		{"above MaxBatchBytes", "application/json", batchOf(`{"text":"` + strings.Repeat("a", 200) + `"}`), 413, CodeBodyTooLarge},
	}
	for _, tt := range tests {
		r := ts.do(t, http.MethodPost, path, tt.contentType, []byte(tt.body))
		checkError(t, tt.name, r, tt.status, tt.code)
	}
	r := ts.get(t, path)
	checkError(t, "GET", r, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
	if allow := r.header.Get("Allow"); allow != allowBatch {
		t.Errorf("GET: Allow %q; want %q", allow, allowBatch)
	}
	if r := ts.do(t, http.MethodOptions, path, "", nil); r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Methods") != allowBatch {
		t.Errorf("OPTIONS: status %d, methods %q; want 204 %q", r.status, r.header.Get("Access-Control-Allow-Methods"), allowBatch)
	}
	r = ts.do(t, http.MethodPost, "/v1/rooms/bad room/danmaku:batch", "application/json", []byte(batchOf(`{"text":"a"}`)))
	checkError(t, "bad room", r, http.StatusBadRequest, CodeInvalidRoom)
}

// TestPostBatchLimits checks a rate limit applies to each comment of a
// batch, with its Retry-After.
func TestPostBatchLimits(t *testing.T) {
	ts := startServer(t, Config{Policy: policy.Config{IPLimit: slowLimit}}, newMemory(), nil, nil)
	results := ts.postBatch(t, "r", batchOf(`{"text":"a"}`, `{"text":"b"}`, `{"text":"c"}`))
	want := []int{201, 201, 429} // slowLimit's burst is 2
	for i, r := range results {
		if r.Status != want[i] {
			t.Errorf("comment %d: status %d (%s); want %d", i, r.Status, r.code(), want[i])
		}
	}
	if last := results[2]; last.code() != CodeRateLimited || last.RetryAfter < 1 {
		t.Errorf("limited comment: %+v; want rate_limited with retry_after", last)
	}
}

// countingLog is a failingLog that counts its appends.
type countingLog struct {
	failingLog
	appends atomic.Int64
}

func (l *countingLog) Append(ctx context.Context, room string, data []byte) (codec.ID, error) {
	l.appends.Add(1)
	return l.failingLog.Append(ctx, room, data)
}

// TestPostBatchStopsAtFailure checks that after a failed append the rest
// of a batch is answered 503 without being tried.
func TestPostBatchStopsAtFailure(t *testing.T) {
	log := &countingLog{failingLog: failingLog{newMemory()}}
	ts := startServer(t, Config{}, log, nil, nil)
	var comments []string
	for i := range 5 {
		comments = append(comments, `{"text":"`+strconv.Itoa(i)+`"}`)
	}
	results := ts.postBatch(t, "r", batchOf(comments...))
	for i, r := range results {
		if r.Status != http.StatusServiceUnavailable || r.code() != CodeUnavailable {
			t.Errorf("comment %d: %+v; want 503 unavailable", i, r)
		}
	}
	if n := log.appends.Load(); n != 1 {
		t.Errorf("%d appends tried; want 1", n)
	}
}

// batchAllocs is what a batch of 20 comments allocates in-process with
// tracing off, on a Memory log, which appends a batch at once: per
// comment only the Message's strings (the posts are one allocation for
// all, and the log keeps one copy of the whole batch), and per batch 5:
// the posts, the append's deadline, and the log's copy, IDs and errors.
// What a batch needs only until it is answered (its raw comments,
// results, staged list, records and answer) is pooled scratch.
const batchAllocs = 20*(postAllocs-2) + 5

// TestPostBatchAllocs locks in what a batch allocates, so that a
// regression fails.
func TestPostBatchAllocs(t *testing.T) {
	srv := New(Config{}, stream.NewMemory(stream.MemoryConfig{MaxLen: 1024}), fixedPresence{}, nil)
	h := srv.Handler()
	ctx := newRequestCtx(fasthttp.MethodPost, "/v1/rooms/allocs/danmaku:batch", "application/json",
		batchOf(slices.Repeat([]string{benchBody}, 20)...))
	// Under the race detector pools drop items: a record buffer per
	// comment, and the scratch (itself, its comments grown 6 times and
	// four lists once each) may be made again.
	checkAllocs(t, "a batch of 20", h, ctx, fasthttp.StatusOK, batchAllocs, 20+11+6)
}
