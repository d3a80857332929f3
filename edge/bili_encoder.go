package edge

import (
	"sync"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/codec"
)

// biliEncoder builds the frames of one encoding of the Bilibili-compatible
// protocol: one binary message per batch, holding the batch's version-0
// packets (plain), or one version-2 (zlib) or version-3 (brotli) packet
// wrapping them. A batch with nothing those clients understand (a gap
// notice alone) gives no frame. It runs on the goroutines of many rooms at
// once, so its buffers and compressors come from a pool.
type biliEncoder struct {
	pool sync.Pool // of *biliScratch
}

type biliScratch struct {
	compressor *codec.BiliCompressor // nil for plain
	packets    []byte                // the version-0 packets
	compressed []byte                // the packet wrapping them
}

// newBiliEncoder returns the encoder of version v: BiliVersionJSON (plain),
// BiliVersionZlib or BiliVersionBrotli, at level.
func newBiliEncoder(v codec.BiliVersion, level int) *biliEncoder {
	e := &biliEncoder{}
	e.pool.New = func() any {
		s := &biliScratch{}
		if v != codec.BiliVersionJSON {
			c, err := codec.NewBiliCompressor(v, level)
			if err != nil {
				panic("edge: compression level out of range after withDefaults: " + err.Error())
			}
			s.compressor = c
		}
		return s
	}
	return e
}

func (e *biliEncoder) AppendBatch(dst []byte, b *codec.Batch) []byte {
	s := e.pool.Get().(*biliScratch)
	s.packets = codec.AppendBiliBatch(s.packets[:0], b)
	dst = s.appendFrame(dst)
	e.pool.Put(s)
	return dst
}

func (e *biliEncoder) AppendOnline(dst []byte, _ string, count int) []byte {
	s := e.pool.Get().(*biliScratch)
	// Both commands carry the count: clients of older versions of the
	// protocol read ONLINE_RANK_COUNT, current ones WATCHED_CHANGE.
	s.packets = codec.AppendBiliOnline(s.packets[:0], count)
	s.packets = codec.AppendBiliWatched(s.packets, count)
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
	return codec.AppendFrame(dst, ws.OpBinary, body)
}

// biliEncoder returns the hub's encoder index for a protover.
func (s *Server) biliEncoder(protover int) int {
	switch codec.BiliVersion(protover) {
	case codec.BiliVersionZlib:
		return s.encBiliZlib
	case codec.BiliVersionBrotli:
		return s.encBiliBrotli
	}
	return s.encBiliPlain
}
