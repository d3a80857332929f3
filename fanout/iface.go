package fanout

import (
	"context"

	"github.com/danmu-dev/danmu/codec"
)

// Executor runs fn on the goroutine that owns a shard of viewers, in the
// order Execute was called. fn must not block. The edge's event loops
// satisfy it.
type Executor interface {
	Execute(fn func())
}

// Viewer is one subscriber's connection. Its methods are called only on
// its shard's Executor. They may close the connection: a failed write
// closes it at once, and the edge then calls Shard.Leave for each of its
// rooms before the method returns, for Send while the shard walks the
// room's members. The shard allows that: the walk defers the removal from
// the member list until it ends. A Viewer's methods must not join any room.
type Viewer interface {
	// Send writes one frame. The frame is shared with every viewer of the
	// same encoding: it must not be modified, nor kept after Send returns.
	// Send reports false when it skipped the frame (the viewer is too far
	// behind): the viewer is then told of a gap before its next frame.
	Send(frame []byte) bool
	// Joined reports that the subscription to room is live: every batch
	// after this call reaches the viewer. A replay, if one was asked for,
	// follows at once.
	Joined(room string)
}

// Encoder builds the frames of one wire format. Each encoder a room's
// viewers need runs once per event, whatever the number of viewers.
type Encoder interface {
	// AppendBatch appends the complete frame for b to dst.
	AppendBatch(dst []byte, b *codec.Batch) []byte
	// AppendOnline appends the frame telling that room has count viewers
	// over the whole fleet.
	AppendOnline(dst []byte, room string, count int) []byte
}

// Counter gives fleet-wide viewer counts.
type Counter interface {
	OnlineMany(ctx context.Context, rooms []string) (map[string]int, error)
}
