package fanout

import "github.com/danmu-dev/danmu/codec"

// Executor runs fn on the goroutine that owns a shard of viewers, in the
// order Execute was called. fn must not block. The edge's event loops
// satisfy it.
type Executor interface {
	Execute(fn func())
}

// Viewer is one subscriber's connection. Its methods are called only on
// its shard's Executor.
type Viewer interface {
	// Send writes one frame. The frame is shared with every viewer of the
	// same encoding: it must not be modified, nor kept after Send returns.
	Send(frame []byte)
	// Joined reports that the subscription to room is live: every batch
	// after this call reaches the viewer. A replay, if one was asked for,
	// follows at once.
	Joined(room string)
}

// Encoder builds the frame of one wire format for a batch. Each encoder a
// room's viewers need runs once per batch, whatever the number of viewers.
type Encoder interface {
	// AppendBatch appends the complete frame for b to dst.
	AppendBatch(dst []byte, b *codec.Batch) []byte
}

// EncoderFunc adapts a function to Encoder.
type EncoderFunc func(dst []byte, b *codec.Batch) []byte

// AppendBatch calls f.
func (f EncoderFunc) AppendBatch(dst []byte, b *codec.Batch) []byte { return f(dst, b) }
