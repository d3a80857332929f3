package edge

import (
	"errors"
	"time"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// The Bilibili-compatible live protocol on GET /sub (docs/protocol.md): a
// client enters one room with an enter packet within EnterTimeout of the
// upgrade, picking its encoding (protover), and heartbeats about every 30
// s; the server answers the enter once the subscription is live, answers
// each heartbeat with the room's online count, and sends the room's
// batches as operation-5 packets in the connection's one encoding.

// Defaults of BiliConfig.
const (
	DefaultBiliEnterTimeout = 5 * time.Second
	// DefaultBiliIdleTimeout gives a client that heartbeats every 30 s two
	// chances and some slack.
	DefaultBiliIdleTimeout = 70 * time.Second
	// The compression levels are measured in docs/performance.md
	// ("Encodings: bytes and CPU per delivery"): zlib 1 and brotli 2 cost
	// a fraction of higher levels for nearly the same bytes.
	DefaultBiliZlibLevel   = 1
	DefaultBiliBrotliLevel = 2
)

// BiliConfig tunes the Bilibili-compatible protocol on /sub.
type BiliConfig struct {
	// EnterTimeout closes (1008) a connection whose enter packet has not
	// arrived this long after the upgrade. Zero means
	// DefaultBiliEnterTimeout.
	EnterTimeout time.Duration
	// IdleTimeout closes (1001) a connection that sent nothing for this
	// long. These clients heartbeat on their own, so the server does not
	// ping them. Zero means DefaultBiliIdleTimeout.
	IdleTimeout time.Duration
	// ZlibLevel is the compression level of protover 2, 1 to 9; values out
	// of range are clamped. Zero means DefaultBiliZlibLevel.
	ZlibLevel int
	// BrotliLevel is the brotli quality of protover 3, 1 to 11; values out
	// of range are clamped. Zero means DefaultBiliBrotliLevel.
	BrotliLevel int
}

func (c BiliConfig) withDefaults() BiliConfig {
	if c.EnterTimeout <= 0 {
		c.EnterTimeout = DefaultBiliEnterTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultBiliIdleTimeout
	}
	if c.ZlibLevel == 0 {
		c.ZlibLevel = DefaultBiliZlibLevel
	}
	c.ZlibLevel = min(max(c.ZlibLevel, 1), 9)
	if c.BrotliLevel == 0 {
		c.BrotliLevel = DefaultBiliBrotliLevel
	}
	c.BrotliLevel = min(max(c.BrotliLevel, 1), 11)
	return c
}

// biliConn is the state of a /sub connection. It is owned by the loop.
type biliConn struct {
	upgraded int64 // Unix ns of the upgrade
	entered  bool
	// enterSeq is the sequence number of the enter packet, echoed in its
	// reply.
	enterSeq uint32
}

// Errors that close a /sub connection.
var (
	errBiliText       = &codec.FrameError{Code: ws.StatusUnsupportedData, Reason: "text messages are not supported on /sub: send binary packets"}
	errBiliReentered  = &codec.FrameError{Code: ws.StatusProtocolError, Reason: "a second enter packet"}
	errBiliNotEntered = &codec.FrameError{Code: ws.StatusProtocolError, Reason: "heartbeat before the enter packet"}
)

// onBiliMessage handles one complete client message of a /sub connection:
// one or more whole packets.
func (cn *conn) onBiliMessage(op ws.OpCode, payload []byte) {
	if op != ws.OpBinary {
		cn.fail(errBiliText)
		return
	}
	maxBody := int(cn.loop.server.cfg.MaxMessageBytes)
	for first := true; len(payload) > 0 && cn.state == stateOpen; first = false {
		// The message's frame counted as one request; each further
		// packet counts as another.
		if !first && !cn.takeMessage() {
			return
		}
		h, body, n, err := codec.ParseBiliPacket(payload, maxBody)
		if err == nil && n == 0 {
			err = codec.ErrBiliTruncated
		}
		if err != nil {
			cn.fail(err)
			return
		}
		payload = payload[n:]
		switch h.Op {
		case codec.BiliOpEnter:
			cn.biliEnter(body, h.Seq)
		case codec.BiliOpHeartbeat:
			cn.biliHeartbeat(h.Seq)
		default:
			cn.fail(codec.ErrBiliOp)
		}
	}
}

// biliEnter handles an enter packet: the connection joins the room in the
// encoding it asked for, and the reply goes out when the subscription is
// live (Joined), so that a client may rely on everything posted after the
// reply. A refused entry is answered with its code and closed (1008).
func (cn *conn) biliEnter(body []byte, seq uint32) {
	b := cn.bili
	if b.entered {
		cn.fail(errBiliReentered)
		return
	}
	enter, err := codec.DecodeBiliEnter(body)
	if err != nil {
		reason := "invalid enter packet"
		switch {
		case errors.Is(err, codec.ErrBiliRoom):
			reason = "invalid roomid: want a positive integer"
		case errors.Is(err, codec.ErrBiliProtover):
			reason = "unsupported protover: want 0 to 3"
		}
		cn.refuseBili(codec.BiliCodeBadRequest, seq, reason)
		return
	}
	if reason, ok := cn.admitKey(enter.Key); !ok {
		cn.refuseBili(codec.BiliCodeUnauthorized, seq, reason)
		return
	}
	b.entered, b.enterSeq = true, seq
	cn.enc = cn.loop.server.biliEncoder(enter.Protover)
	cn.tier = fanout.RateTier(enter.MaxRate)
	cn.join(enter.Room(), nil)
}

// admitKey checks the viewer token an enter packet carries in its key when
// Tokens is set, and keeps its expiry. It returns the reason of a refusal.
func (cn *conn) admitKey(key string) (reason string, ok bool) {
	tokens := cn.loop.server.cfg.Tokens
	if tokens == nil {
		return "", true
	}
	if key == "" {
		return "a viewer token is required in key", false
	}
	claims, err := tokens.Verify(key)
	if err != nil {
		return "invalid viewer token", false
	}
	cn.expires = claims.Expires.UnixNano()
	return "", true
}

// refuseBili answers an enter packet with an error code and closes.
func (cn *conn) refuseBili(code int, seq uint32, reason string) {
	cn.writeBinary(codec.AppendBiliEnterReply(cn.loop.tmp[:0], code, seq))
	cn.closeWith(ws.StatusPolicyViolation, reason)
}

// biliJoined answers the enter packet: the subscription is live.
func (cn *conn) biliJoined() {
	cn.writeBinary(codec.AppendBiliEnterReply(cn.loop.tmp[:0], codec.BiliCodeOK, cn.bili.enterSeq))
}

// biliHeartbeat answers a heartbeat with the room's online count.
func (cn *conn) biliHeartbeat(seq uint32) {
	if !cn.bili.entered {
		cn.fail(errBiliNotEntered)
		return
	}
	count := 0
	if len(cn.subs) > 0 {
		count = cn.subs[0].sub.Online()
	}
	cn.writeBinary(codec.AppendBiliHeartbeatReply(cn.loop.tmp[:0], count, seq))
}

// writeBinary writes packets, built in the loop's tmp buffer, as one binary
// message, and keeps the buffer.
func (cn *conn) writeBinary(packets []byte) {
	l := cn.loop
	l.tmp = packets[:0]
	cn.reply(codec.AppendFrame(l.out[:0], ws.OpBinary, packets))
}

// sweepBili closes a /sub connection that did not enter in time, or that
// stayed silent too long.
func (cn *conn) sweepBili(now, silent int64) {
	cfg := &cn.loop.server.cfg.Bili
	switch {
	case !cn.bili.entered && now-cn.bili.upgraded > int64(cfg.EnterTimeout):
		cn.closeWith(ws.StatusPolicyViolation, "no enter packet in time")
	case silent > int64(cfg.IdleTimeout):
		cn.closeWith(ws.StatusGoingAway, "idle timeout")
	}
}
