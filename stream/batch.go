package stream

import (
	"context"
	"time"

	"github.com/redis/rueidis"
	"go.opentelemetry.io/otel/attribute"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/telemetry"
)

// BatchAppender is a Log that stores several entries of one room at once:
// the Redis log in one round trip, the embedded log under one lock with
// one wake-up of the room's readers.
type BatchAppender interface {
	// AppendBatch stores each of data, in order, as the newest entries of
	// room, and returns the ID or the error of each, as Append would have
	// (on ErrUnavailable the entry may or may not have been stored). Both
	// slices have len(data) elements. As Append, it keeps copies of data
	// only.
	AppendBatch(ctx context.Context, room string, data [][]byte) ([]codec.ID, []error)
}

// AppendBatch appends data to room's stream with one pipelined round trip:
// an XADD MAXLEN ~ per entry, in order, then with a TTL one PEXPIRE (see
// Append). Redis runs a connection's commands in order, so the entries get
// increasing IDs in the order of data.
func (r *Redis) AppendBatch(ctx context.Context, room string, data [][]byte) ([]codec.ID, []error) {
	ctx, cancel := r.bound(ctx, 0)
	defer cancel()
	key := r.key(room)
	cmds := make(rueidis.Commands, 0, len(data)+1)
	for _, d := range data {
		cmds = append(cmds, r.xadd(key, d, false))
	}
	if r.ttl > 0 {
		cmds = append(cmds, r.pexpire(key))
	}
	ctx, span := telemetry.Start(ctx, spanXadd, telemetry.Client)
	defer span.End()
	if span.Recording() {
		span.SetAttributes(attribute.String("db.system.name", "redis"), attribute.String("db.operation.name", "XADD"),
			attribute.String("db.collection.name", key), attribute.Int("db.operation.batch.size", len(data)))
	}
	start := time.Now()
	results := r.client.DoMulti(ctx, cmds...)
	r.stats.RoundTrip.ObserveSince(start)
	if r.ttl > 0 && results[len(data)].Error() == nil {
		r.expiries.refreshed(room, start)
	}
	ids, errs := make([]codec.ID, len(data)), make([]error, len(data))
	for i := range data {
		reply, err := results[i].ToString()
		if err == nil {
			ids[i], err = codec.ParseID(reply)
		}
		if err != nil {
			span.Fail(err)
			errs[i] = unavailable("append to", room, err)
		}
	}
	return ids, errs
}
