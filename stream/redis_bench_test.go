package stream

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/redis/rueidis"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// benchPayload is the size of a typical stored comment.
var benchPayload = []byte(`{"id":"01HZX3J6M8Q2V7T9B4C5D6E7F8","user":"viewer-1234","text":"this part of the stream is great","color":"#ffcc00","ts":1700000000000}`)

// BenchmarkRedisAppend compares Append from many goroutines, which share
// rueidis' auto pipeline, with one Append at a time (a round trip each)
// and with many goroutines on a client without auto pipelining (one
// pooled connection and one round trip per call).
func BenchmarkRedisAppend(b *testing.B) {
	srv := redistest.Start(b)
	r := newTestRedis(b, []string{srv.Addr()}, RedisConfig{MaxLen: 1000})
	rooms := make([]string, 16)
	for i := range rooms {
		rooms[i] = "bench-" + strconv.Itoa(i)
	}
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchPayload)))
		i := 0
		for b.Loop() {
			if _, err := r.Append(ctx, rooms[i%len(rooms)], benchPayload); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel-pipelined", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(benchPayload)))
		b.SetParallelism(32)
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			room := rooms[next.Add(1)%uint64(len(rooms))]
			for pb.Next() {
				if _, err := r.Append(ctx, room, benchPayload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("parallel-unpipelined", func(b *testing.B) {
		client, err := rueidis.NewClient(rueidis.ClientOption{
			InitAddress: []string{srv.Addr()}, DisableCache: true, DisableAutoPipelining: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		b.ReportAllocs()
		b.SetBytes(int64(len(benchPayload)))
		b.SetParallelism(32)
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			key := r.key(rooms[next.Add(1)%uint64(len(rooms))])
			for pb.Next() {
				cmd := client.B().Xadd().Key(key).Maxlen().Almost().Threshold(r.maxLen).
					Id("*").FieldValue().FieldValue(dataField, string(benchPayload)).Build()
				if err := client.Do(ctx, cmd).Error(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkRedisRead100Rooms reads 10 entries from each of 100 rooms in
// one non-blocking Read, as fan-out does when every room it follows is
// busy: one XREAD and the parsing of 1000 entries.
func BenchmarkRedisRead100Rooms(b *testing.B) {
	srv := redistest.Start(b)
	r := newTestRedis(b, []string{srv.Addr()}, RedisConfig{})
	ctx := context.Background()
	cursors := make([]Cursor, 100)
	for i := range cursors {
		cursors[i].Room = "read-" + strconv.Itoa(i)
		for range 10 {
			if _, err := r.Append(ctx, cursors[i].Room, benchPayload); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(cursors) * 10 * len(benchPayload)))
	for b.Loop() {
		pages, err := r.Read(ctx, cursors, 10, 0)
		if err != nil || len(pages) != len(cursors) {
			b.Fatalf("Read = %d pages, %v", len(pages), err)
		}
	}
}
