package stream

import (
	"context"
	"testing"
	"time"
)

// BenchmarkMemoryFollower1000Rooms is BenchmarkMemoryRead1000Rooms with a
// Follower of the same 1000 rooms, which keeps its registrations between
// Reads:
//   - append100: 100 appends to random followed rooms, then one Read;
//   - wake: each op wakes a writer that appends one entry to one of the
//     first ten followed rooms while the Read blocks; ns/op is the round
//     trip.
func BenchmarkMemoryFollower1000Rooms(b *testing.B) {
	b.Run("append100", func(b *testing.B) {
		m, cursors := benchFollowed(1000)
		f := benchFollower(m, cursors)
		appendRandom := benchAppender(m, cursors)
		entries := 0
		b.ReportAllocs()
		for b.Loop() {
			appendRandom(b, 100)
			entries += benchFollowerRead(b, f)
		}
		if entries != 100*b.N {
			b.Fatalf("read %d entries; want %d", entries, 100*b.N)
		}
	})
	b.Run("wake", func(b *testing.B) {
		m, cursors := benchFollowed(1000)
		f := benchFollower(m, cursors)
		ctx, cancel := context.WithCancel(context.Background())
		turn := make(chan struct{})
		stopped := benchTurns(ctx, m, benchRooms("followed", 10), turn)
		defer func() {
			cancel()
			<-stopped
		}()
		b.ReportAllocs()
		for b.Loop() {
			turn <- struct{}{}
			benchFollowerRead(b, f)
		}
	})
}

// benchFollower returns a Follower of m following each cursor.
func benchFollower(m *Memory, cursors []Cursor) Follower {
	f := NewFollower(m)
	for _, c := range cursors {
		f.Follow(c.Room, c.After)
	}
	return f
}

// benchFollowerRead reads f once and returns the entries read.
func benchFollowerRead(b *testing.B, f Follower) int {
	pages, err := f.Read(context.Background(), 0, time.Second)
	if err != nil || len(pages) == 0 {
		b.Fatal("Read:", pages, err)
	}
	entries := 0
	for _, p := range pages {
		entries += len(p.Entries)
	}
	return entries
}
