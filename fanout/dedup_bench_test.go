package fanout

import (
	"strconv"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// BenchmarkDropRetries runs the live de-duplication over one read of 20
// stored messages that each carry a cid: "fresh" remembers every one (the
// first copy of each post), "retries" drops every one (copies it has seen).
func BenchmarkDropRetries(b *testing.B) {
	raw := make([]stream.Entry, 20)
	for i := range raw {
		data, err := codec.EncodeStored(codec.Message{
			CID: "c-1700000000000-" + strconv.Itoa(i), UID: "u1234567", Name: "viewer",
			Text: strings.Repeat("弾幕コメント", 3), Color: codec.DefaultColor, Mode: codec.ModeScroll, TS: 1700000000000,
		})
		if err != nil {
			b.Fatal(err)
		}
		raw[i] = stream.Entry{ID: codec.ID{MS: 1700000000000, Seq: uint64(i)}, Data: data}
	}
	var s sorted
	s.add(decode(raw))
	entries := s.messages
	for _, bc := range []struct {
		name   string
		forget bool
	}{{"fresh", true}, {"retries", false}} {
		b.Run(bc.name, func(b *testing.B) {
			r := &room{hub: &Hub{cfg: Config{}.withDefaults()}}
			r.mu.Lock()
			defer r.mu.Unlock()
			r.mu.pending.messages = entries
			r.dropRetriesLocked(0)
			b.ReportAllocs()
			for b.Loop() {
				if bc.forget {
					clear(r.mu.seen)
				}
				r.mu.pending.messages = entries
				r.dropRetriesLocked(0)
			}
			want := 0
			if bc.forget {
				want = len(entries)
			}
			if len(r.mu.pending.messages) != want {
				b.Fatalf("%d messages kept; want %d", len(r.mu.pending.messages), want)
			}
		})
	}
}
