package edge

import (
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// encoderSet is the edge's wire formats, as the hub encodes them: codec's
// encoders, run on the hub's goroutines, never on a loop.
type encoderSet struct {
	native, deflate, biliPlain, biliZlib, biliBrotli, sse fanout.Encoder
}

// encoders returns the encoders of c's formats. c has its defaults, so
// every level is in range.
func (c *Config) encoders() encoderSet {
	must := func(e fanout.Encoder, err error) fanout.Encoder {
		if err != nil {
			panic("edge: compression level out of range after withDefaults: " + err.Error())
		}
		return e
	}
	return encoderSet{
		native:     codec.NativeEncoder{},
		deflate:    must(codec.NewDeflateEncoder(c.Deflate.Level, c.Deflate.MinBytes)),
		biliPlain:  must(codec.NewBiliEncoder(codec.BiliVersionJSON, 0)),
		biliZlib:   must(codec.NewBiliEncoder(codec.BiliVersionZlib, c.Bili.ZlibLevel)),
		biliBrotli: must(codec.NewBiliEncoder(codec.BiliVersionBrotli, c.Bili.BrotliLevel)),
		sse:        codec.SSEEncoder{},
	}
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
