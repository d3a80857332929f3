package codec

import (
	"fmt"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zlib"
)

// BiliCompressor wraps runs of version-0 packets into one compressed packet
// of version BiliVersionZlib or BiliVersionBrotli. It is not safe for
// concurrent use; reuse it, it keeps its buffers.
type BiliCompressor struct {
	version BiliVersion
	out     appendBuffer
	zlib    *zlib.Writer
	brotli  *brotli.Writer
}

// NewBiliCompressor returns a compressor for version v at level: a
// compress/flate level (1 to 9) for zlib, a brotli quality (0 to 11) for
// brotli.
func NewBiliCompressor(v BiliVersion, level int) (*BiliCompressor, error) {
	c := &BiliCompressor{version: v}
	switch v {
	case BiliVersionZlib:
		w, err := zlib.NewWriterLevel(nil, level)
		if err != nil {
			return nil, err
		}
		c.zlib = w
	case BiliVersionBrotli:
		if level < brotli.BestSpeed || level > brotli.BestCompression {
			return nil, fmt.Errorf("codec: brotli quality %d: want %d to %d", level, brotli.BestSpeed, brotli.BestCompression)
		}
		c.brotli = brotli.NewWriterLevel(nil, level)
	default:
		return nil, fmt.Errorf("codec: packet version %d is not compressed", v)
	}
	return c, nil
}

// AppendPacket appends one operation-5 packet whose body is packets, a run
// of complete version-0 packets, compressed. It appends nothing when
// packets is empty.
func (c *BiliCompressor) AppendPacket(dst, packets []byte) []byte {
	if len(packets) == 0 {
		return dst
	}
	dst, start := beginBiliPacket(dst, c.version, BiliOpMessage)
	c.out.buf = dst
	// Writes to an appendBuffer cannot fail, and neither can the
	// compressors then.
	if c.zlib != nil {
		c.zlib.Reset(&c.out)
		_, _ = c.zlib.Write(packets)
		_ = c.zlib.Close()
	} else {
		c.brotli.Reset(&c.out)
		_, _ = c.brotli.Write(packets)
		_ = c.brotli.Close()
	}
	dst = c.out.buf
	c.out.buf = nil
	return endBiliPacket(dst, start)
}
