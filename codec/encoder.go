package codec

import (
	"sync"

	"github.com/gobwas/ws"
)

// The encoders of danmu's wire formats: each builds the complete frames of
// a batch, or of an online count, for every viewer of one format. Fan-out
// runs each once per event on its own goroutines, for many rooms at once;
// they keep no state between calls but reusable scratch memory, from a
// pool, and are safe for concurrent use.

// NativeEncoder builds the frames of the native JSON protocol.
type NativeEncoder struct{}

// AppendBatch appends the frames of b (AppendBatchFrame).
func (NativeEncoder) AppendBatch(dst []byte, b *Batch) []byte { return AppendBatchFrame(dst, b) }

// AppendOnline appends the online-count frame of room (AppendOnlineFrame).
func (NativeEncoder) AppendOnline(dst []byte, room string, count int) []byte {
	return AppendOnlineFrame(dst, room, count)
}

// DeflateEncoder builds the frames of the native protocol for viewers that
// negotiated permessage-deflate: the native frames, each one of at least
// the encoder's minimum size compressed (Deflater).
type DeflateEncoder struct {
	pool sync.Pool // of *deflateScratch
}

type deflateScratch struct {
	deflater *Deflater
	run      []byte // the native frames; valid until the scratch is put back
}

// NewDeflateEncoder returns the encoder compressing at level the frames of
// at least minBytes, or an error when level is out of range.
func NewDeflateEncoder(level, minBytes int) (*DeflateEncoder, error) {
	if _, err := NewDeflater(level, minBytes); err != nil {
		return nil, err
	}
	e := &DeflateEncoder{}
	e.pool.New = func() any {
		d, _ := NewDeflater(level, minBytes) // the level was checked
		return &deflateScratch{deflater: d}
	}
	return e, nil
}

// AppendBatch appends the compressed frames of b.
func (e *DeflateEncoder) AppendBatch(dst []byte, b *Batch) []byte {
	s := e.pool.Get().(*deflateScratch)
	s.run = AppendBatchFrame(s.run[:0], b)
	dst = s.deflater.AppendFrames(dst, s.run)
	e.pool.Put(s)
	return dst
}

// AppendOnline appends the compressed online-count frame of room.
func (e *DeflateEncoder) AppendOnline(dst []byte, room string, count int) []byte {
	s := e.pool.Get().(*deflateScratch)
	s.run = AppendOnlineFrame(s.run[:0], room, count)
	dst = s.deflater.AppendFrames(dst, s.run)
	e.pool.Put(s)
	return dst
}

// BiliEncoder builds the frames of one encoding of the Bilibili-compatible
// protocol: one binary message per batch, holding the batch's version-0
// packets (plain), or one version-2 (zlib) or version-3 (brotli) packet
// wrapping them. A batch with nothing those clients understand (a gap
// notice alone) gives no frame.
type BiliEncoder struct {
	pool sync.Pool // of *biliScratch
}

type biliScratch struct {
	compressor *BiliCompressor // nil for plain
	packets    []byte          // the version-0 packets
	compressed []byte          // the packet wrapping them
}

// NewBiliEncoder returns the encoder of version v (BiliVersionJSON, plain,
// BiliVersionZlib or BiliVersionBrotli) compressing at level, or an error
// when level is out of range for v.
func NewBiliEncoder(v BiliVersion, level int) (*BiliEncoder, error) {
	if v != BiliVersionJSON {
		if _, err := NewBiliCompressor(v, level); err != nil {
			return nil, err
		}
	}
	e := &BiliEncoder{}
	e.pool.New = func() any {
		s := &biliScratch{}
		if v != BiliVersionJSON {
			s.compressor, _ = NewBiliCompressor(v, level) // the level was checked
		}
		return s
	}
	return e, nil
}

// AppendBatch appends the binary message of b, if any.
func (e *BiliEncoder) AppendBatch(dst []byte, b *Batch) []byte {
	s := e.pool.Get().(*biliScratch)
	s.packets = AppendBiliBatch(s.packets[:0], b)
	dst = s.appendFrame(dst)
	e.pool.Put(s)
	return dst
}

// AppendOnline appends the binary message of an online count. Both
// commands carry the count: clients of older versions of the protocol read
// ONLINE_RANK_COUNT, current ones WATCHED_CHANGE.
func (e *BiliEncoder) AppendOnline(dst []byte, _ string, count int) []byte {
	s := e.pool.Get().(*biliScratch)
	s.packets = AppendBiliOnline(s.packets[:0], count)
	s.packets = AppendBiliWatched(s.packets, count)
	dst = s.appendFrame(dst)
	e.pool.Put(s)
	return dst
}

// appendFrame appends the binary message carrying s.packets in the
// encoder's encoding, or nothing when there are no packets.
func (s *biliScratch) appendFrame(dst []byte) []byte {
	if len(s.packets) == 0 {
		return dst
	}
	body := s.packets
	if s.compressor != nil {
		s.compressed = s.compressor.AppendPacket(s.compressed[:0], s.packets)
		body = s.compressed
	}
	return AppendFrame(dst, ws.OpBinary, body)
}
