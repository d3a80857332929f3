package policy

import (
	"context"
	"time"
)

// Key names one piece of state. Keys with a Room live in that room's Redis
// Cluster hash slot, next to its stream; keys without one (per user, per
// client address) are spread over the cluster.
type Key struct {
	Room string // a valid room id, or "" for state of no room
	Name string
}

// Limit is a token bucket: it refills at Rate tokens per second and holds
// at most Burst. A Limit with a Rate of zero or less limits nothing.
type Limit struct {
	Rate  float64
	Burst int
}

// Enabled reports whether l limits anything.
func (l Limit) Enabled() bool { return l.Rate > 0 }

// interval is the time one token takes to refill.
func (l Limit) interval() time.Duration {
	return time.Duration(float64(time.Second) / l.Rate)
}

// burst is Burst, at least 1: a bucket always holds one token.
func (l Limit) burst() int64 { return int64(max(l.Burst, 1)) }

// Bucket is one token bucket to take from.
type Bucket struct {
	Key   Key
	Limit Limit
}

// Store is the shared policy state. Durations it returns are how long the
// caller must wait: zero means go ahead.
type Store interface {
	// Take takes one token from each bucket whose Limit is enabled, or
	// from none: it returns zero when every bucket had one, else the
	// longest time until the refusing buckets have one again, and then
	// no bucket is charged (so a user over their own limit does not drain
	// the room's).
	Take(ctx context.Context, buckets []Bucket) (time.Duration, error)
	// Claim marks key for ttl unless it is marked already. It returns zero
	// when this call marked it, else the time left of the existing mark.
	Claim(ctx context.Context, key Key, ttl time.Duration) (time.Duration, error)
	// Marked returns the time left of key's mark (see Claim), or zero
	// when it is not marked. It marks nothing.
	Marked(ctx context.Context, key Key) (time.Duration, error)
	// SetSlowMode sets the shortest time between two comments of one user
	// in room; zero or less turns slow mode off. It holds until changed.
	SetSlowMode(ctx context.Context, room string, interval time.Duration) error
	// Pace records a comment of uid in room under slow mode. It returns
	// zero when room has no slow mode or uid's last comment there is at
	// least the interval old (the comment is then recorded), else the time
	// left until uid may comment again.
	Pace(ctx context.Context, room, uid string) (time.Duration, error)
	// Ban bans uid from room for d, replacing any ban in force.
	Ban(ctx context.Context, room, uid string, d time.Duration) error
	// Unban lifts uid's ban in room, if any.
	Unban(ctx context.Context, room, uid string) error
	// Banned returns how long uid's ban in room still lasts, or zero.
	Banned(ctx context.Context, room, uid string) (time.Duration, error)
}

// Names of the per-room keys.
const (
	slowModeName = "slowmode"
	pacePrefix   = "pace:"
	banPrefix    = "ban:"
)

func slowModeKey(room string) Key  { return Key{Room: room, Name: slowModeName} }
func paceKey(room, uid string) Key { return Key{Room: room, Name: pacePrefix + uid} }
func banKey(room, uid string) Key  { return Key{Room: room, Name: banPrefix + uid} }
