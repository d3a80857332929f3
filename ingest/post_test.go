package ingest

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

func TestPostStoresComment(t *testing.T) {
	mem := newMemory()
	ts := startServer(t, Config{}, mem, nil, nil)
	tests := []struct {
		name        string
		contentType string
		body        string
		want        codec.Message // without TS
	}{
		{"defaults", "application/json", `{"text":"hello"}`,
			codec.Message{UID: "anonymous", Name: "guest", Text: "hello", Color: "#ffffff", Mode: "scroll"}},
		{"every field", "application/json", `{"text":"弾幕 ok","color":"#A1b2C3","mode":"top","name":"小明","uid":"u-42"}`,
			codec.Message{UID: "u-42", Name: "小明", Text: "弾幕 ok", Color: "#A1b2C3", Mode: "top"}},
		{"charset and case", "Application/JSON; charset=utf-8", `{"text":"b","mode":"bottom"}`,
			codec.Message{UID: "anonymous", Name: "guest", Text: "b", Color: "#ffffff", Mode: "bottom"}},
		{"unknown fields and escapes", "application/json", `{"id":"9-9","ts":1,"extra":{"a":[1]},"text":"\u00e9\ud83d\ude00 \"q\""}`,
			codec.Message{UID: "anonymous", Name: "guest", Text: "é😀 \"q\"", Color: "#ffffff", Mode: "scroll"}},
		{"empty optional fields", "application/json", `{"text":"x","color":"","mode":"","name":"","uid":""}`,
			codec.Message{UID: "anonymous", Name: "guest", Text: "x", Color: "#ffffff", Mode: "scroll"}},
		{"longest text and name", "application/json", `{"text":"` + strings.Repeat("弾", 100) + `","name":"` + strings.Repeat("n", 32) + `"}`,
			codec.Message{UID: "anonymous", Name: strings.Repeat("n", 32), Text: strings.Repeat("弾", 100), Color: "#ffffff", Mode: "scroll"}},
	}
	for _, tt := range tests {
		before := time.Now().UnixMilli()
		r := ts.do(t, http.MethodPost, "/v1/rooms/room.1:a_b-c/danmaku", tt.contentType, []byte(tt.body))
		after := time.Now().UnixMilli()
		if r.status != http.StatusCreated {
			t.Fatalf("%s: status %d; want 201 (body %s)", tt.name, r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", tt.name, ct)
		}
		var res postResult
		decodeStrict(t, r.body, &res)
		if res.TS < before || res.TS > after {
			t.Errorf("%s: ts %d not within [%d, %d]", tt.name, res.TS, before, after)
		}
		id, err := codec.ParseID(res.ID)
		if err != nil {
			t.Fatalf("%s: id %q: %v", tt.name, res.ID, err)
		}
		stored := lastEntry(t, mem, "room.1:a_b-c")
		if stored.ID != id {
			t.Fatalf("%s: newest stored id %v; answered %v", tt.name, stored.ID, id)
		}
		got, err := codec.DecodeStored(stored.Data)
		if err != nil {
			t.Fatalf("%s: stored %s: %v", tt.name, stored.Data, err)
		}
		want := tt.want
		want.TS = res.TS
		if got != want {
			t.Errorf("%s: stored %+v; want %+v", tt.name, got, want)
		}
	}
}

// lastEntry returns the newest entry of room.
func lastEntry(t *testing.T, log stream.Log, room string) stream.Entry {
	t.Helper()
	page, err := log.Range(context.Background(), stream.Query{Room: room, Limit: 1, Newest: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 1 {
		t.Fatalf("room %s has %d newest entries; want 1", room, len(page.Entries))
	}
	return page.Entries[0]
}

func TestPostUnavailableWhenAppendFails(t *testing.T) {
	ts := startServer(t, Config{}, failingLog{newMemory()}, nil, nil)
	r := ts.post(t, "r", `{"text":"hi"}`)
	checkError(t, "failing log", r, http.StatusServiceUnavailable, CodeUnavailable)
}

// TestPostTooManyRooms: with the embedded stream holding its most rooms, a
// post to another room gets 503 too_many_rooms, and rooms that hold
// comments still take posts.
func TestPostTooManyRooms(t *testing.T) {
	ts := startServer(t, Config{}, stream.NewMemory(stream.MemoryConfig{MaxRooms: 1}), nil, nil)
	if r := ts.post(t, "a", `{"text":"first"}`); r.status != http.StatusCreated {
		t.Fatalf("post to the first room: status %d, body %s", r.status, r.body)
	}
	r := ts.post(t, "b", `{"text":"hi"}`)
	checkError(t, "post to a room beyond the cap", r, http.StatusServiceUnavailable, CodeTooManyRooms)
	if r := ts.post(t, "a", `{"text":"again"}`); r.status != http.StatusCreated {
		t.Errorf("post to the room holding comments: status %d, body %s", r.status, r.body)
	}
	if n := ts.srv.Stats().AppendErrors.Load(); n != 1 {
		t.Errorf("AppendErrors = %d; want 1", n)
	}
}

func TestPostUnavailableWhenAppendHangs(t *testing.T) {
	const timeout = 100 * time.Millisecond
	log := &hangingLog{Memory: newMemory()}
	ts := startServer(t, Config{AppendTimeout: timeout}, log, nil, nil)
	start := time.Now()
	r := ts.post(t, "r", `{"text":"hi"}`)
	checkError(t, "hanging log", r, http.StatusServiceUnavailable, CodeUnavailable)
	if elapsed := time.Since(start); elapsed < timeout {
		t.Errorf("answered after %v, before the append deadline %v", elapsed, timeout)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.deadlines) != 1 || log.deadlines[0] <= 0 || log.deadlines[0] > timeout {
		t.Errorf("Append got deadlines %v; want one within %v", log.deadlines, timeout)
	}
}

// TestPostConcurrent posts from several clients at once and checks every
// comment got its own ID and is stored exactly once.
func TestPostConcurrent(t *testing.T) {
	mem := newMemory()
	ts := startServer(t, Config{}, mem, nil, nil)
	const clients, each = 8, 25
	var mu sync.Mutex
	ids := make(map[string]bool)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range each {
				r := ts.post(t, "busy", `{"text":"hi"}`)
				if r.status != http.StatusCreated {
					t.Errorf("status %d: %s", r.status, r.body)
					return
				}
				var res postResult
				decodeStrict(t, r.body, &res)
				mu.Lock()
				ids[res.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	page, err := mem.Range(context.Background(), stream.Query{Room: "busy"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != clients*each || len(page.Entries) != clients*each {
		t.Fatalf("%d distinct ids answered, %d stored; want %d", len(ids), len(page.Entries), clients*each)
	}
	for _, e := range page.Entries {
		if !ids[e.ID.String()] {
			t.Errorf("stored id %v was never answered", e.ID)
		}
	}
}

func TestIsJSON(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"application/json", true},
		{"APPLICATION/JSON", true},
		{"application/json;charset=utf-8", true},
		{" application/json ; charset=UTF-8", true},
		{"", false},
		{"application/json-patch+json", false},
		{"text/json", false},
		{"application/jso", false},
	}
	for _, tt := range tests {
		if got := isJSON([]byte(tt.in)); got != tt.want {
			t.Errorf("isJSON(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

// TestPostSize locks in that a single post takes at most 512 bytes, the
// largest objects the allocator places without a header (as single says),
// and that a batch's staged post is a deadline smaller.
func TestPostSize(t *testing.T) {
	if size := unsafe.Sizeof(single{}); size > 512 {
		t.Errorf("a single post takes %d bytes; want at most 512", size)
	}
	if size, want := unsafe.Sizeof(post{}), unsafe.Sizeof(single{})-unsafe.Sizeof(deadline{}); size != want {
		t.Errorf("a batch's post takes %d bytes; want %d", size, want)
	}
}
