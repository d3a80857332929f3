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
func NewShard(hub *fanout.Hub, exec interface{ Execute(func()) }) *Shard { return newShard(hub, exec) }

// Join subscribes v to room; see shard.join.
func (s *shard) Join(room string, v interface {
	Send([]byte) bool
	Joined(string)
}, enc int, since *codec.ID) *Member {
	return s.join(room, v, enc, since)
}

// Leave ends m; see shard.leave.
func (s *shard) Leave(m *Member) { s.leave(m) }

// Room returns the name of the room m's subscription is to.
func (m *member) Room() string { return m.sub.Room() }
