package fanout

import (
	"context"

	"github.com/danmu-dev/danmu/codec"
)

// Loop is an owner of viewers: an edge event loop, which keeps its own
// registry of who watches what and writes to them. It is the one way the
// hub's goroutines reach it: the hub calls these two methods, which must
// return at once and do their work on the loop, and no other code of this
// package runs there. Both hand over Frames that the loop releases once
// done with them.
type Loop interface {
	// Deliver hands over an event of a room the loop has subscriptions
	// to: a batch (KindBatch) or an online count (KindEvent).
	Deliver(f *Frames)
	// Replay hands over what subs, subscriptions of this loop to f.Room
	// with the encodings f was built for, are sent before the live
	// batches (KindReplay), or a gap for subscriptions waiting for a
	// batch that reaches their since (KindAhead).
	Replay(f *Frames, subs []*Subscription)
}

// Encoder builds the frames of one wire format. Each encoder a room's
// viewers need runs once per event, whatever the number of viewers, on the
// hub's goroutines. The encoders of danmu's formats are codec's.
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
