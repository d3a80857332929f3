package stream

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/danmu-dev/danmu/rdb"
)

// testPrefixes numbers the key prefixes of tests sharing a server.
var testPrefixes atomic.Int64

// newTestRedis returns a Redis log on addrs with its own key prefix, on a
// client closed when the test ends.
func newTestRedis(t testing.TB, addrs []string, cfg RedisConfig) *Redis {
	t.Helper()
	return NewRedis(newTestClient(t, rdb.Config{Addrs: addrs, KeyPrefix: fmt.Sprintf("test%d:", testPrefixes.Add(1))}), cfg)
}

// newTestClient connects to Redis with cfg and closes the client when the
// test ends.
func newTestClient(t testing.TB, cfg rdb.Config) *rdb.Client {
	t.Helper()
	client, err := rdb.New(cfg)
	if err != nil {
		t.Fatalf("rdb.New(%v): %v", cfg.Addrs, err)
	}
	t.Cleanup(client.Close)
	return client
}
