package fanout

import (
	"slices"
	"sync"
	"sync/atomic"
)

// flushBuffer holds the frames of one batch, one per encoding, in one
// buffer shared by every shard that delivers it. The last shard to finish
// returns it to the pool.
type flushBuffer struct {
	buf    []byte
	ends   [][2]int // frame i is buf[ends[i][0]:ends[i][1]]
	frames [][]byte // nil for encodings no viewer needs
	refs   atomic.Int32
}

var flushBuffers = sync.Pool{New: func() any { return new(flushBuffer) }}

func newFlushBuffer(encoders int) *flushBuffer {
	fb := flushBuffers.Get().(*flushBuffer)
	fb.buf = fb.buf[:0]
	fb.ends = slices.Grow(fb.ends[:0], encoders)[:encoders]
	clear(fb.ends)
	fb.frames = slices.Grow(fb.frames[:0], encoders)[:encoders]
	return fb
}

// seal slices the frames out of the final buffer and sets how many shards
// will release it.
func (fb *flushBuffer) seal(users int) {
	for i, e := range fb.ends {
		if e[1] > e[0] {
			fb.frames[i] = fb.buf[e[0]:e[1]:e[1]]
		}
	}
	fb.refs.Store(int32(users))
}

func (fb *flushBuffer) release() {
	if fb.refs.Add(-1) == 0 {
		clear(fb.frames)
		flushBuffers.Put(fb)
	}
}
