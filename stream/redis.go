package stream

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/redis/rueidis"
	"go.opentelemetry.io/otel/attribute"

	"github.com/danmu-dev/danmu/internal/telemetry"
	"github.com/danmu-dev/danmu/metric"
	"github.com/danmu-dev/danmu/rdb"
)

// DefaultRedisTimeout bounds each Redis call when RedisConfig.Timeout is
// zero.
const DefaultRedisTimeout = 3 * time.Second

// DefaultStreamTTL is RedisConfig.TTL when it is zero: a week, so that a
// room that goes live once a week keeps its history from one show to the
// next, while a room posted to once and abandoned leaves Redis within
// days.
const DefaultStreamTTL = 7 * 24 * time.Hour

// dataField is the one field of every stream entry written by Append.
const dataField = "d"

// streamName names a room's stream among the room's keys
// (rdb.Client.RoomKey): "<prefix>{<room>}:s".
const streamName = "s"

// RedisConfig configures a Redis log. Its zero value works; the connection
// is the rdb.Client given to NewRedis.
type RedisConfig struct {
	// MaxLen is the number of entries kept per room. Append trims
	// approximately (XADD MAXLEN ~ N): Redis removes whole internal nodes
	// (100 entries by default), so a room keeps between MaxLen and about
	// MaxLen+100 entries, never fewer than MaxLen. Every writer of the same
	// keys must use the same MaxLen: Read relies on it to detect trimming
	// cheaply. Zero or less means DefaultMaxLen, as for Memory.
	MaxLen int64
	// TTL is how long a room's stream stays in Redis after its last
	// Append, give or take a hundredth of it and at most a minute: Append
	// sets the stream's expiry to TTL (PEXPIRE, in the same round trip as
	// the XADD) when it has not done so lately (see Append). Zero means
	// DefaultStreamTTL; a negative TTL sets no expiry, and streams stay
	// until deleted (an expiry set earlier stays too). A reader following
	// a stream that expires, or resuming in one, is told of a gap, as
	// after a reset.
	TTL time.Duration
	// Timeout bounds each call when the caller's context has no deadline;
	// for Read it is added to the blocking time. Zero or less means
	// DefaultRedisTimeout.
	Timeout time.Duration
	// MaxBlockingReads caps the XREAD BLOCK commands one Read keeps open at
	// once. On a cluster one XREAD covers the rooms of one hash slot, so a
	// Read following rooms of more slots than this waits by polling with
	// non-blocking XREADs every PollInterval instead. Each blocking XREAD
	// holds a connection (rueidis' blocking pool) for its whole wait. Zero
	// or less means DefaultMaxBlockingReads. A single Redis needs one XREAD
	// for any number of rooms.
	MaxBlockingReads int
	// PollInterval is how long a polling Read waits between two rounds of
	// non-blocking XREADs. Zero or less means DefaultPollInterval.
	PollInterval time.Duration
}

// DefaultMaxBlockingReads is RedisConfig.MaxBlockingReads when it is zero:
// enough for a Read following the rooms of a few slots to block, few enough
// that one Read does not hold many connections and goroutines.
const DefaultMaxBlockingReads = 16

// DefaultPollInterval is RedisConfig.PollInterval when it is zero: the
// latency a polling Read adds, against one round of XREADs over all its
// slots per interval.
const DefaultPollInterval = 20 * time.Millisecond

// Redis is the Log kept in Redis Streams, one stream per room (the key
// "<prefix>{<room>}:s" of rdb's scheme), on a single Redis or a Redis
// Cluster. It has the semantics of Memory with these differences, all
// inherent to Redis:
//
//   - Retention is approximate (see RedisConfig.MaxLen).
//   - Gap after trimming is conservative: Redis does not record the last
//     trimmed ID, so a position older than the oldest retained entry counts
//     as a gap, even when it is the very last trimmed entry.
//   - A Redis that restarts without its data, or is flushed, resets the log
//     (see Page.Gap). Range detects it from XINFO STREAM at once, Read with
//     the cheap periodic checks described at Read.
//   - A room's stream expires RedisConfig.TTL after its last Append, even
//     while readers follow it (Memory keeps a room a reader follows). Its
//     readers then get a gap, as after a reset.
//
// Redis is safe for concurrent use. Concurrent calls share rueidis' auto
// pipeline, with those of the other users of the rdb.Client: Appends from
// many goroutines go out in few writes.
type Redis struct {
	// Immutable after NewRedis.
	client           *rdb.Client
	cluster          bool
	maxLen           string // XADD MAXLEN argument
	maxLenEntries    int64
	ttl              int64 // PEXPIRE argument in milliseconds, or zero for no expiry
	timeout          time.Duration
	maxBlockingReads int
	pollInterval     time.Duration

	checks   roomChecks // throttles and remembers Read's reset checks
	expiries *expiries  // when each room's expiry was last refreshed; nil without a TTL
	stats    RedisStats
}

var _ Log = (*Redis)(nil)

// NewRedis returns the log kept in the Redis of client, which stays the
// caller's to close once the log is no longer used. Calls after that fail
// with ErrUnavailable.
func NewRedis(client *rdb.Client, cfg RedisConfig) *Redis {
	r := &Redis{
		client:           client,
		cluster:          client.Cluster(),
		maxLenEntries:    cfg.MaxLen,
		timeout:          cfg.Timeout,
		maxBlockingReads: cfg.MaxBlockingReads,
		pollInterval:     cfg.PollInterval,
		stats:            RedisStats{RoundTrip: metric.NewHistogram(metric.LatencyBuckets)},
	}
	if r.maxLenEntries <= 0 {
		r.maxLenEntries = DefaultMaxLen
	}
	r.maxLen = strconv.FormatInt(r.maxLenEntries, 10)
	switch {
	case cfg.TTL == 0:
		r.ttl = DefaultStreamTTL.Milliseconds()
	case cfg.TTL > 0:
		r.ttl = max(cfg.TTL.Milliseconds(), 1)
	}
	if r.ttl > 0 {
		r.expiries = newExpiries(time.Duration(r.ttl) * time.Millisecond)
	}
	if r.timeout <= 0 {
		r.timeout = DefaultRedisTimeout
	}
	if r.maxBlockingReads <= 0 {
		r.maxBlockingReads = DefaultMaxBlockingReads
	}
	if r.pollInterval <= 0 {
		r.pollInterval = DefaultPollInterval
	}
	return r
}

// key returns the stream key of room.
func (r *Redis) key(room string) string { return r.client.RoomKey(room, streamName) }

// bound returns ctx limited by the configured timeout, plus extra, unless
// it already has a deadline.
func (r *Redis) bound(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, r.timeout+extra)
}

// unavailable wraps err, from a call about room, with ErrUnavailable
// (rdb.Unavailable).
func unavailable(op, room string, err error) error {
	return rdb.Unavailable(fmt.Sprintf("%s %q", op, room), err)
}

// Append stores data as the newest entry of room with XADD MAXLEN ~ and
// returns the ID Redis assigned. It returns once Redis has acknowledged the
// entry. It is not retried: on ErrUnavailable the entry may or may not have
// been stored. data is copied: when ctx ends first, rueidis may still send
// the command after Append returned, and the caller may reuse data by then.
//
// With a TTL, the stream's expiry is refreshed (PEXPIRE, in the same
// pipelined round trip as the XADD) when this log last did so for room
// longer ago than a hundredth of the TTL or a minute, whichever is
// shorter; in between, the XADD carries NOMKSTREAM, and a stream that no
// longer exists (expired, deleted, Redis flushed) is made again by a
// second round trip with its expiry. The XADD and the PEXPIRE are not one
// transaction: when the XADD succeeds and the PEXPIRE does not (the
// connection breaks between their replies), Append still succeeds, and the
// next Append refreshes again.
func (r *Redis) Append(ctx context.Context, room string, data []byte) (codec.ID, error) {
	ctx, cancel := r.bound(ctx, 0)
	defer cancel()
	key := r.key(room)
	// A traced post sees the round trip as a span of its own.
	ctx, span := telemetry.Start(ctx, spanXadd, telemetry.Client)
	defer span.End()
	if span.Recording() {
		span.SetAttributes(attribute.String("db.system.name", "redis"), attribute.String("db.operation.name", "XADD"),
			attribute.String("db.collection.name", key))
	}
	start := time.Now()
	var res rueidis.RedisResult
	switch {
	case r.ttl <= 0:
		res = r.client.Do(ctx, r.xadd(key, data, false))
	case r.expiries.fresh(room, start):
		res = r.client.Do(ctx, r.xadd(key, data, true))
		if rueidis.IsRedisNil(res.Error()) {
			r.stats.RoundTrip.ObserveSince(start)
			start = time.Now()
			res = r.appendExpiring(ctx, room, key, data, start)
		}
	default:
		res = r.appendExpiring(ctx, room, key, data, start)
	}
	reply, err := res.ToString()
	r.stats.RoundTrip.ObserveSince(start)
	if err != nil {
		span.Fail(err)
		return codec.ID{}, unavailable("append to", room, err)
	}
	id, err := codec.ParseID(reply)
	if err != nil {
		span.Fail(err)
		return codec.ID{}, unavailable("append to", room, err)
	}
	return id, nil
}

// appendExpiring sends, at sent, the XADD of data to room's stream key
// followed by the PEXPIRE of the key in one round trip, and returns the
// XADD's result.
func (r *Redis) appendExpiring(ctx context.Context, room, key string, data []byte, sent time.Time) rueidis.RedisResult {
	res := r.client.DoMulti(ctx, r.xadd(key, data, false), r.pexpire(key))
	if res[1].Error() == nil {
		r.expiries.refreshed(room, sent)
	}
	return res[0]
}

// spanXadd names the span of an Append's round trip.
const spanXadd = "redis XADD"

// xadd returns the XADD MAXLEN ~ of data to the stream key; with
// existing, the XADD NOMKSTREAM, which stores nothing and returns nil when
// the stream does not exist.
func (r *Redis) xadd(key string, data []byte, existing bool) rueidis.Completed {
	// A builder's steps append to one command, so each branch builds its
	// own: rueidis' builders cannot be forked.
	cmd := r.client.B().Xadd().Key(key)
	if existing {
		return cmd.Nomkstream().Maxlen().Almost().Threshold(r.maxLen).
			Id("*").FieldValue().FieldValue(dataField, string(data)).Build()
	}
	return cmd.Maxlen().Almost().Threshold(r.maxLen).
		Id("*").FieldValue().FieldValue(dataField, string(data)).Build()
}

// pexpire returns the PEXPIRE that sets the stream key to expire the TTL
// from now.
func (r *Redis) pexpire(key string) rueidis.Completed {
	return r.client.B().Pexpire().Key(key).Milliseconds(r.ttl).Build()
}

// Last returns the newest ID Redis generated for room (XINFO STREAM
// last-generated-id), or the zero ID when the room's stream does not exist.
func (r *Redis) Last(ctx context.Context, room string) (codec.ID, error) {
	ctx, cancel := r.bound(ctx, 0)
	defer cancel()
	start := time.Now()
	res := r.client.Do(ctx, r.infoCommand(room))
	r.stats.RoundTrip.ObserveSince(start)
	info, err := parseStreamInfo(res)
	if err != nil {
		return codec.ID{}, unavailable("last of", room, err)
	}
	return info.lastGenerated, nil
}
