package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/redistest"
)

// TestRedisAppendBatch appends a batch in one round trip: the entries are
// stored in order under increasing IDs, after what the room held, the
// stream gets its TTL, and a call whose context has ended stores nothing
// and reports each entry unavailable.
func TestRedisAppendBatch(t *testing.T) {
	srv := redistest.Start(t)
	log := newTestRedis(t, []string{srv.Addr()}, RedisConfig{TTL: time.Hour})
	ctx := context.Background()
	var ids []codec.ID
	checkAppendBatch(t, log, func(data [][]byte) ([]codec.ID, []error) {
		trips := log.Stats().RoundTrip.Snapshot().Count
		got, errs := log.AppendBatch(ctx, "room", data)
		if n := log.Stats().RoundTrip.Snapshot().Count - trips; n != 1 {
			t.Errorf("AppendBatch made %d round trips; want 1", n)
		}
		ids = got
		return got, errs
	})
	data := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	ttl := log.client.Do(ctx, log.client.B().Pttl().Key(log.key("room")).Build())
	if ms, err := ttl.AsInt64(); err != nil || ms <= 0 || ms > time.Hour.Milliseconds() {
		t.Errorf("the stream's TTL is %d ms (%v); want up to an hour", ms, err)
	}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	_, errs := log.AppendBatch(ended, "room", data)
	for i, err := range errs {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("entry %d with an ended context: %v; want ErrUnavailable", i, err)
		}
	}
	if last, err := log.Last(ctx, "room"); err != nil || last != ids[len(ids)-1] {
		t.Errorf("Last = %v, %v after a cancelled batch; want %v", last, err, ids[len(ids)-1])
	}
}

// TestMemoryAppendBatch: the embedded log stores a batch in order after
// what the room held, as copies, and a batch that
// cannot be stored (ended context, no place for one more room) stores
// none of its entries and says why for each.
func TestMemoryAppendBatch(t *testing.T) {
	log := NewMemory(MemoryConfig{MaxRooms: 1})
	ctx := context.Background()
	var ids []codec.ID
	checkAppendBatch(t, log, func(data [][]byte) ([]codec.ID, []error) {
		got, errs := log.AppendBatch(ctx, "room", data)
		copy(data[0], "changed") // the log keeps copies
		ids = got
		return got, errs
	})
	data := [][]byte{[]byte("a"), []byte("b"), []byte("c")}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	for _, c := range []struct {
		name, room string
		ctx        context.Context
		want       error
	}{
		{"an ended context", "room", ended, context.Canceled},
		{"a second room beyond MaxRooms", "other", ctx, ErrTooManyRooms},
	} {
		got, errs := log.AppendBatch(c.ctx, c.room, data)
		for i, err := range errs {
			if !errors.Is(err, c.want) || got[i] != (codec.ID{}) {
				t.Errorf("%s: entry %d got %v, %v; want %v", c.name, i, got[i], err, c.want)
			}
		}
	}
	if last, err := log.Last(ctx, "room"); err != nil || last != ids[len(ids)-1] {
		t.Errorf("Last = %v, %v after refused batches; want %v", last, err, ids[len(ids)-1])
	}
}

// checkAppendBatch appends "before" to the room "room" of log, then 50
// entries with appendBatch, and checks that they are stored in order after
// it, under increasing IDs, each holding its data.
func checkAppendBatch(t *testing.T, log Log, appendBatch func([][]byte) ([]codec.ID, []error)) {
	t.Helper()
	ctx := context.Background()
	first, err := log.Append(ctx, "room", []byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	data := make([][]byte, 50)
	for i := range data {
		data[i] = fmt.Appendf(nil, "entry %d", i)
	}
	ids, errs := appendBatch(data)
	if len(ids) != len(data) || len(errs) != len(data) {
		t.Fatalf("AppendBatch returned %d IDs and %d errors for %d entries", len(ids), len(errs), len(data))
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	increasing := first.Less(ids[0])
	for i := 1; i < len(ids); i++ {
		increasing = increasing && ids[i-1].Less(ids[i])
	}
	if !increasing {
		t.Errorf("IDs %v after %v; want increasing, after it", ids, first)
	}
	page, err := log.Range(ctx, Query{Room: "room", After: first})
	if err != nil {
		t.Fatal(err)
	}
	if got := pageIDs(page.Entries); !slices.Equal(got, ids) {
		t.Errorf("the room holds %v; want %v", got, ids)
	}
	for i, e := range page.Entries {
		if want := fmt.Sprintf("entry %d", i); string(e.Data) != want {
			t.Errorf("entry %d holds %q; want %q", i, e.Data, want)
		}
	}
}
