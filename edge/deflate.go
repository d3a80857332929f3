package edge

import (
	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/klauspost/compress/flate"

	"github.com/danmu-dev/danmu/codec"
)

// Defaults of DeflateConfig, measured in docs/performance.md ("Encodings:
// bytes and CPU per delivery").
const (
	DefaultDeflateMinBytes = 256
	DefaultDeflateLevel    = flate.BestSpeed
)

// DeflateConfig tunes permessage-deflate (RFC 7692) on /ws. It is
// negotiated with server_no_context_takeover and client_no_context_takeover
// when a client offers it, as browsers do: each batch frame is then
// compressed once and the same bytes go to every viewer that negotiated
// it, and a compressed client message is inflated without a window kept
// per connection, never past MaxMessageBytes.
type DeflateConfig struct {
	// Off declines every offer: frames go out uncompressed.
	Off bool
	// MinBytes is the smallest payload compressed; smaller frames are sent
	// as they are (without RSV1). Zero means DefaultDeflateMinBytes.
	MinBytes int
	// Level is the compression level, from 1 (fastest) to 9 (smallest);
	// values out of range are clamped. Zero means DefaultDeflateLevel.
	Level int
}

func (c DeflateConfig) withDefaults() DeflateConfig {
	if c.MinBytes <= 0 {
		c.MinBytes = DefaultDeflateMinBytes
	}
	if c.Level == 0 {
		c.Level = DefaultDeflateLevel
	}
	c.Level = min(max(c.Level, flate.BestSpeed), flate.BestCompression)
	return c
}

// deflateParameters are what the server answers an offer with.
var deflateParameters = wsflate.Parameters{
	ServerNoContextTakeover: true,
	ClientNoContextTakeover: true,
}

// negotiate answers one permessage-deflate offer of the upgrade request
// being parsed: never on /sub, whose packets carry their own compression,
// nor when DeflateConfig.Off. A malformed offer is declined, not refused.
func (l *loop) negotiate(offer httphead.Option) (httphead.Option, error) {
	if l.target.bili || l.server.cfg.Deflate.Off {
		return httphead.Option{}, nil
	}
	accept, err := l.deflate.Negotiate(offer)
	if err != nil {
		return httphead.Option{}, nil
	}
	return accept, nil
}

// errCompressionBit is RSV1 where RFC 7692 forbids it.
var errCompressionBit = &codec.FrameError{Code: ws.StatusProtocolError, Reason: "compression bit on a control frame or a continuation"}

// takeCompressionBit clears RSV1 of a client frame header on a connection
// that negotiated permessage-deflate, and records whether the message that
// the frame starts is compressed. RSV1 is allowed on the first frame of a
// data message only; control frames between fragments leave the record
// alone.
func (cn *conn) takeCompressionBit(h ws.Header) (ws.Header, error) {
	compressed := h.Rsv&0x4 != 0
	if h.OpCode.IsData() && h.OpCode != ws.OpContinuation {
		h.Rsv &^= 0x4
		cn.compressed = compressed
		return h, nil
	}
	if compressed {
		return h, errCompressionBit
	}
	return h, nil
}

// inflate returns the inflated payload of a compressed client message,
// built in the loop's scratch and valid until the next message. It closes
// the connection (1009 past MaxMessageBytes, 1007 when the data does not
// inflate) and returns false when it fails.
func (cn *conn) inflate(payload []byte) ([]byte, bool) {
	l := cn.loop
	out, err := l.inflater.AppendInflated(l.inflated[:0], payload, l.server.cfg.MaxMessageBytes)
	l.inflated = out[:0]
	if err != nil {
		cn.fail(err)
		return nil, false
	}
	return out, true
}
