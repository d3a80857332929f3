package fanout

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/danmu-dev/danmu/codec"
)

// Kind tells what a Frames holds.
type Kind uint8

// The kinds of Frames.
const (
	// KindBatch is one batch of a room: Seq is its number in the room's
	// sequence, First and Last the IDs of its oldest and newest entries
	// (Last zero when it holds none: a gap notice alone).
	KindBatch Kind = iota
	// KindEvent is outside the room's sequence: an online count, for the
	// live viewers only.
	KindEvent
	// KindReplay is what joining viewers are sent before the live
	// batches; Seq is the last batch it covers.
	KindReplay
	// KindAhead reports a gap to viewers that joined with a since newer
	// than the room has delivered, when the stream holds no such entry;
	// Seq is the last batch it covers. A viewer that stopped waiting
	// meanwhile (a batch reached its since) ignores it.
	KindAhead
)

// Frames is one event of a room encoded once per wire format its viewers
// use: a batch, an online count or a replay. The hub hands the same Frames
// to every loop concerned (Loop); from then on it is immutable. It is
// reference counted: each loop calls Release once done with it, and Retain
// to keep it longer (a batch held back while a viewer's replay is read).
type Frames struct {
	Room        string
	Kind        Kind
	Seq         uint64
	First, Last codec.ID
	// Priority is set on a batch holding what the priority-only tier
	// gets: a priority comment, a delete or a gap.
	Priority bool

	room  *room
	stats *Stats
	info  batchInfo
	trace *batchTrace // nil unless the batch is traced
	// messages counts the messages of a batch's frames in each tier.
	messages [Tiers]int32
	buf      []byte
	// ends[v] bounds the frames of variant v (variant: an encoding and a
	// tier) in buf; frames[v] is nil for the variants no viewer needs.
	ends   [][2]int
	frames [][]byte
	// cuts splits a replay's frames of variant v: the end of each but
	// the last, from the start of frames[v]. Nil for one frame.
	cuts [][]int
	refs atomic.Int32
}

var framesPool = sync.Pool{New: func() any { return new(Frames) }}

// newFrames returns empty Frames for encoders encodings in every tier.
func newFrames(encoders int) *Frames {
	n := encoders * Tiers
	f := framesPool.Get().(*Frames)
	f.buf = f.buf[:0]
	f.ends = slices.Grow(f.ends[:0], n)[:n]
	clear(f.ends)
	f.frames = slices.Grow(f.frames[:0], n)[:n]
	return f
}

// cut ends a frame of variant v, being built by encode, at the end of the
// buffer: Parts returns it apart from the next.
func (f *Frames) cut(v int) {
	if f.cuts == nil {
		f.cuts = make([][]int, len(f.ends))
	}
	f.cuts[v] = append(f.cuts[v], len(f.buf)-f.ends[v][0])
}

// encode appends the frames of variant v built by build.
func (f *Frames) encode(v int, build func([]byte) []byte) {
	f.ends[v][0] = len(f.buf)
	f.buf = build(f.buf)
	f.ends[v][1] = len(f.buf)
}

// share makes variant v the same bytes as variant of, already encoded:
// two tiers whose batches are the same.
func (f *Frames) share(v, of int) { f.ends[v] = f.ends[of] }

// seal slices the frames out of the final buffer and sets how many
// holders will release them.
func (f *Frames) seal(holders int) {
	for i, e := range f.ends {
		if e[1] > e[0] {
			f.frames[i] = f.buf[e[0]:e[1]:e[1]]
		}
	}
	f.refs.Store(int32(holders))
}

// Frame returns the frames of encoding enc (an index RegisterEncoder
// returned) in the full tier, one contiguous run to write, or nil when the
// event has none in it: no viewer of the room used it, or the format has
// no such message (a gap notice alone in the Bilibili-compatible
// protocol). A batch or an event is one frame; a replay may be several
// (Parts). Events and replays are the same for every tier: they are
// encoded in the full tier only.
func (f *Frames) Frame(enc int) []byte { return f.TierFrame(enc, TierFull) }

// TierFrame returns the frame of a batch in encoding enc and tier t: nil
// when no viewer of the room was in that tier when the batch was flushed
// (Hub.SetTier says from which batch on a tier is counted), or when the
// tier has nothing to send of it.
func (f *Frames) TierFrame(enc int, t Tier) []byte {
	v := variant(enc, t)
	if v >= len(f.frames) {
		return nil
	}
	return f.frames[v]
}

// Parts returns the frames of encoding enc one by one: a replay is sent in
// frames of at most MaxBatch messages.
func (f *Frames) Parts(enc int) [][]byte {
	frame := f.Frame(enc)
	if frame == nil {
		return nil
	}
	var parts [][]byte
	start := 0
	if f.cuts != nil {
		for _, end := range f.cuts[variant(enc, TierFull)] {
			if end > start {
				parts = append(parts, frame[start:end:end])
			}
			start = end
		}
	}
	if start < len(frame) {
		parts = append(parts, frame[start:])
	}
	return parts
}

// Notice returns the room's gap notice in encoding enc: what a viewer that
// skipped a frame is sent before its next one. It may be empty. A room
// builds each on the first call, which is rare (a viewer fell behind),
// then keeps it.
func (f *Frames) Notice(enc int) []byte { return f.room.notice(enc) }

// Messages returns the number of messages in a batch's frame of tier t.
func (f *Frames) Messages(t Tier) int {
	if int(t) >= Tiers {
		return 0
	}
	return int(f.messages[t])
}

// Delivered reports that a loop wrote a batch's frames to its viewers:
// frames of them (may be zero), holding messages messages in all
// (Messages). Each loop the batch was handed to calls it once.
func (f *Frames) Delivered(frames, messages int) {
	f.trace.written()
	if frames > 0 && f.stats != nil {
		f.stats.countDelivery(frames, messages, f.info)
	}
}

// Retain adds a holder: it must call Release too.
func (f *Frames) Retain() { f.refs.Add(1) }

// Release drops a holder's reference. The last one returns the memory to
// the pool: a holder must not touch f, nor the frames it returned, after
// its Release.
func (f *Frames) Release() {
	switch n := f.refs.Add(-1); {
	case n == 0:
		clear(f.frames)
		f.cuts = nil
		f.room, f.stats, f.info, f.trace, f.messages = nil, nil, batchInfo{}, nil, [Tiers]int32{}
		f.Room, f.Seq, f.First, f.Last, f.Priority = "", 0, codec.ID{}, codec.ID{}, false
		framesPool.Put(f)
	case n < 0:
		panic("fanout: Frames released more often than held")
	}
}
