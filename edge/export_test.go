package edge

import (
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// Shard and Member let the tests of package edge_test drive a loop's
// registry of viewers with stand-in viewers and loops, as the edge's
// connections and event loops do: the hub's tests live there, since every
// viewer of a hub is an edge's.
type (
	Shard  = shard
	Member = member
)

// NewShard returns the registry of the viewers owned by exec, attached to
// hub.
func NewShard(hub *fanout.Hub, exec interface{ Execute(func()) }) *Shard {
	return newShard(hub, exec, new(Stats))
}

// Viewer is what a shard writes to (audience).
type Viewer = audience

// Join subscribes v to room in the full tier; see shard.join.
func (s *shard) Join(room string, v Viewer, enc int, since *codec.ID) *Member {
	return s.join(room, v, enc, fanout.TierFull, since)
}

// JoinTier subscribes v to room in tier t; see shard.join.
func (s *shard) JoinTier(room string, v Viewer, enc int, t fanout.Tier, since *codec.ID) *Member {
	return s.join(room, v, enc, t, since)
}

// Stats returns the counters of the shard's members.
func (s *shard) Stats() *Stats { return s.stats }

// Leave ends m; see shard.leave.
func (s *shard) Leave(m *Member) { s.leave(m) }

// Room returns the name of the room m's subscription is to.
func (m *member) Room() string { return m.sub.Room() }
