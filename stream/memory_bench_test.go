package stream

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func BenchmarkMemoryAppend(b *testing.B) {
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	data := make([]byte, 128)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := m.Append(ctx, "room", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryAppendParallel appends from every P to 1000 rooms.
func BenchmarkMemoryAppendParallel(b *testing.B) {
	m := NewMemory(MemoryConfig{MaxLen: benchMaxLen})
	ctx := context.Background()
	rooms := benchRooms("room", 1000)
	data := make([]byte, 128)
	var seed atomic.Uint64
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 0))
		for pb.Next() {
			if _, err := m.Append(ctx, rooms[rng.IntN(len(rooms))], data); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkMemoryRangeNewest reads the newest 50 entries of a full room, as
// a viewer joining a room does.
func BenchmarkMemoryRangeNewest(b *testing.B) {
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	data := make([]byte, 128)
	for range DefaultMaxLen + 1 {
		if _, err := m.Append(ctx, "room", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if page, err := m.Range(ctx, Query{Room: "room", Limit: 50, Newest: true}); err != nil || len(page.Entries) != 50 {
			b.Fatal(len(page.Entries), err)
		}
	}
}

// BenchmarkMemoryRead1000Rooms follows 1000 rooms the way fan-out does,
// moving each cursor to the last entry read:
//   - idle: nothing new, and a Read that does not block; ns/op is the cost
//     of checking 1000 rooms.
//   - append100: each op appends 100 entries to random followed rooms, then
//     reads them.
//   - wake: each op wakes a writer that appends one entry to one of the
//     first ten followed rooms, which the Read has registered with by then,
//     so the Read blocks on all 1000 and is woken; ns/op is the round trip.
//   - wake-noisy: as wake, while another writer appends as fast as it can
//     to 1000 rooms nobody follows; noise/op counts its appends per op.
func BenchmarkMemoryRead1000Rooms(b *testing.B) {
	b.Run("idle", func(b *testing.B) {
		m, cursors := benchFollowed(1000)
		b.ReportAllocs()
		for b.Loop() {
			if pages, err := m.Read(context.Background(), cursors, 0, 0); pages != nil || err != nil {
				b.Fatal(pages, err)
			}
		}
	})
	b.Run("append100", func(b *testing.B) {
		m, cursors := benchFollowed(1000)
		appendRandom := benchAppender(m, cursors)
		entries := 0
		b.ReportAllocs()
		for b.Loop() {
			appendRandom(b, 100)
			entries += benchRead(b, m, cursors)
		}
		if entries != 100*b.N {
			b.Fatalf("read %d entries; want %d", entries, 100*b.N)
		}
	})
	for _, noisy := range []bool{false, true} {
		name := "wake"
		if noisy {
			name = "wake-noisy"
		}
		b.Run(name, func(b *testing.B) {
			m, cursors := benchFollowed(1000)
			ctx, cancel := context.WithCancel(context.Background())
			var noise atomic.Int64
			var stops []<-chan struct{}
			if noisy {
				stops = append(stops, benchWriter(ctx, m, benchRooms("unfollowed", 1000), &noise))
			}
			turn := make(chan struct{})
			stops = append(stops, benchTurns(ctx, m, benchRooms("followed", 10), turn))
			defer func() {
				cancel()
				for _, stopped := range stops {
					<-stopped
				}
			}()
			b.ReportAllocs()
			for b.Loop() {
				turn <- struct{}{}
				benchRead(b, m, cursors)
			}
			if noisy {
				b.ReportMetric(float64(noise.Load())/float64(b.N), "noise/op")
			}
		})
	}
}

// benchMaxLen bounds the rooms of benchmarks that append to a thousand
// rooms, so that the live heap stays small and GC does not swamp the
// measurement (1000 rooms of DefaultMaxLen entries of 128 bytes hold 1.3 GB).
const benchMaxLen = 256

func benchRooms(prefix string, n int) []string {
	rooms := make([]string, n)
	for i := range rooms {
		rooms[i] = prefix + strconv.Itoa(i)
	}
	return rooms
}

// benchFollowed returns a log holding one entry in each of n followed rooms
// and cursors at those entries.
func benchFollowed(n int) (*Memory, []Cursor) {
	m := NewMemory(MemoryConfig{MaxLen: benchMaxLen})
	cursors := make([]Cursor, n)
	for i, room := range benchRooms("followed", n) {
		id, _ := m.Append(context.Background(), room, []byte("x"))
		cursors[i] = Cursor{Room: room, After: id}
	}
	return m, cursors
}

// benchAppender returns a function that appends n entries of 128 bytes
// to random rooms of cursors.
func benchAppender(m *Memory, cursors []Cursor) func(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 128)
	return func(b *testing.B, n int) {
		for range n {
			if _, err := m.Append(context.Background(), cursors[rng.IntN(len(cursors))].Room, data); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// benchRead reads once, moves the cursors and returns the entries read.
func benchRead(b *testing.B, m *Memory, cursors []Cursor) int {
	pages, err := m.Read(context.Background(), cursors, 0, time.Second)
	if err != nil || len(pages) == 0 {
		b.Fatal("Read:", pages, err)
	}
	entries, i := 0, 0
	for _, p := range pages { // pages come in cursor order
		for cursors[i].Room != p.Room {
			i++
		}
		cursors[i].After = p.Entries[len(p.Entries)-1].ID
		entries += len(p.Entries)
	}
	return entries
}

// benchWriter appends to random rooms until ctx ends, counting in appended.
func benchWriter(ctx context.Context, m *Memory, rooms []string, appended *atomic.Int64) <-chan struct{} {
	stopped := make(chan struct{})
	data := make([]byte, 128)
	go func() {
		defer close(stopped)
		rng := rand.New(rand.NewPCG(1, 2))
		for ctx.Err() == nil {
			for range 64 {
				_, _ = m.Append(ctx, rooms[rng.IntN(len(rooms))], data)
			}
			if appended != nil {
				appended.Add(64)
			}
		}
	}()
	return stopped
}

// benchTurns appends to a random room each time it receives from turn.
func benchTurns(ctx context.Context, m *Memory, rooms []string, turn <-chan struct{}) <-chan struct{} {
	stopped := make(chan struct{})
	data := make([]byte, 128)
	go func() {
		defer close(stopped)
		rng := rand.New(rand.NewPCG(3, 4))
		for {
			select {
			case <-ctx.Done():
				return
			case <-turn:
				_, _ = m.Append(ctx, rooms[rng.IntN(len(rooms))], data)
			}
		}
	}()
	return stopped
}

// BenchmarkMemorySweep sweeps a log of DefaultMaxRooms rooms, each holding
// one entry, none idle: the cost maybeSweep puts on one Append or Read per
// sweep interval. ns/room is the cost per room visited.
func BenchmarkMemorySweep(b *testing.B) {
	m := NewMemory(MemoryConfig{})
	ctx := context.Background()
	for _, room := range benchRooms("room", DefaultMaxRooms) {
		if _, err := m.Append(ctx, room, []byte("x")); err != nil {
			b.Fatal(err)
		}
	}
	clock := m.clock(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		m.sweep(clock)
	}
	if n := m.holding.Load(); n != DefaultMaxRooms {
		b.Fatalf("%d rooms hold entries after the sweeps; want %d", n, DefaultMaxRooms)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/DefaultMaxRooms, "ns/room")
}
