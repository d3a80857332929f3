package policy

import (
	"context"
	"testing"

	"github.com/danmu-dev/danmu/rdb"
)

// benchBuckets are the buckets of one post: user, client address, room.
var benchBuckets = []Bucket{
	{Key{Name: "user:u-123456"}, Limit{Rate: 1e9, Burst: 1}},
	{Key{Name: "ip:127.0.0.1"}, Limit{Rate: 1e9, Burst: 1}},
	{Key{Room: "bench", Name: "rate"}, Limit{Rate: 1e9, Burst: 1}},
}

func BenchmarkMemoryTake(b *testing.B) {
	m := NewMemory()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Take(ctx, benchBuckets); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisTake takes the three buckets of a post in one round trip
// to the shared Redis.
func BenchmarkRedisTake(b *testing.B) {
	client, err := rdb.New(rdb.Config{Addrs: []string{sharedRedis}, KeyPrefix: "policybench:"})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	r := NewRedis(client)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Take(ctx, benchBuckets); err != nil {
			b.Fatal(err)
		}
	}
}
