package stream

import (
	"context"
	"time"

	"github.com/danmu-dev/danmu/metric"
	"github.com/danmu-dev/danmu/rdb"
)

// RedisStats measures a Redis log's calls. Its fields are safe for
// concurrent use.
type RedisStats struct {
	// RoundTrip records the time of each call that is one request and its
	// answer (Append, Last, Range, Ping), in nanoseconds, failures
	// included. Blocking reads wait for entries, not for Redis, and are
	// left out.
	RoundTrip *metric.Histogram
}

// Stats returns the log's measurements.
func (r *Redis) Stats() *RedisStats { return &r.stats }

// Ping checks that Redis answers (PING, to one node of a cluster), within
// the configured timeout when ctx has no deadline.
func (r *Redis) Ping(ctx context.Context) error {
	ctx, cancel := r.bound(ctx, 0)
	defer cancel()
	start := time.Now()
	err := r.client.Do(ctx, r.client.B().Ping().Build()).Error()
	r.stats.RoundTrip.ObserveSince(start)
	if err != nil {
		return rdb.Unavailable("ping", err)
	}
	return nil
}
