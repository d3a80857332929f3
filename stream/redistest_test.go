package stream

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// testPrefixes numbers the key prefixes of tests sharing a server.
var testPrefixes atomic.Int64

// newTestRedis returns a Redis log on addrs with its own key prefix,
// closed when the test ends.
func newTestRedis(t testing.TB, addrs []string, cfg RedisConfig) *Redis {
	t.Helper()
	cfg.Addrs = addrs
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = fmt.Sprintf("test%d:", testPrefixes.Add(1))
	}
	r, err := NewRedis(cfg)
	if err != nil {
		t.Fatalf("NewRedis(%v): %v", addrs, err)
	}
	t.Cleanup(r.Close)
	return r
}
