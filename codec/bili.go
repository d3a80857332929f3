package codec

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// The Bilibili-compatible live protocol (docs/protocol.md, "Bilibili-compatible
// protocol") carries packets in binary WebSocket messages. Each packet has a
// 16-byte big-endian header:
//
//	u32 packet length (header included) | u16 header length (16) |
//	u16 version | u32 operation | u32 sequence
//
// followed by its body. Several packets may share one message; a packet
// never spans two.

// BiliHeaderSize is the size of a packet header, and the only header length
// the protocol uses.
const BiliHeaderSize = 16

// BiliOp is a packet's operation.
type BiliOp uint32

// Operations of the protocol.
const (
	BiliOpHeartbeat      BiliOp = 2 // client: I am here; any body
	BiliOpHeartbeatReply BiliOp = 3 // server: the room's online count, 4 bytes
	BiliOpMessage        BiliOp = 5 // server: commands such as DANMU_MSG
	BiliOpEnter          BiliOp = 7 // client: enter a room, JSON body
	BiliOpEnterReply     BiliOp = 8 // server: {"code":N}
)

// BiliVersion is a packet's version: how its body is encoded.
type BiliVersion uint16

// Versions of the protocol.
const (
	// BiliVersionJSON is a body of one JSON command.
	BiliVersionJSON BiliVersion = 0
	// BiliVersionControl is what clients send, and the version of the
	// heartbeat and enter replies.
	BiliVersionControl BiliVersion = 1
	// BiliVersionZlib is a body of version-0 packets, concatenated and
	// compressed with zlib (RFC 1950).
	BiliVersionZlib BiliVersion = 2
	// BiliVersionBrotli is a body of version-0 packets, concatenated and
	// compressed with brotli.
	BiliVersionBrotli BiliVersion = 3
)

// BiliHeader is a parsed packet header. The header length is not kept: it
// is always BiliHeaderSize.
type BiliHeader struct {
	Length  uint32 // the whole packet, header included
	Version BiliVersion
	Op      BiliOp
	Seq     uint32
}

// Violations of the protocol by a client. Each is a *FrameError, so that
// the edge closes the connection with its code.
var (
	ErrBiliLength     = &FrameError{ws.StatusProtocolError, "packet length shorter than its header"}
	ErrBiliHeaderSize = &FrameError{ws.StatusProtocolError, "packet header length is not 16"}
	ErrBiliTooBig     = &FrameError{ws.StatusMessageTooBig, "packet too big"}
	ErrBiliTruncated  = &FrameError{ws.StatusProtocolError, "packet cut off at the end of the message"}
	ErrBiliOp         = &FrameError{ws.StatusProtocolError, "unknown operation"}
)

// Errors of an enter packet's body.
var (
	ErrBiliEnter    = errors.New("codec: invalid enter packet")
	ErrBiliRoom     = errors.New("codec: invalid enter packet roomid")
	ErrBiliProtover = errors.New("codec: unsupported enter packet protover")
)

// ParseBiliPacket parses the packet at the start of b. n is the size of the
// whole packet and body its body, which aliases b. When b holds only part
// of the packet, ParseBiliPacket returns n == 0 and a nil error: call it
// again with more bytes. The length is checked as soon as its 4 bytes are
// there, so a packet announcing a body over maxBody bytes is refused
// (ErrBiliTooBig) before the body arrives. It does not allocate.
func ParseBiliPacket(b []byte, maxBody int) (h BiliHeader, body []byte, n int, err error) {
	if len(b) < 4 {
		return h, nil, 0, nil
	}
	length := binary.BigEndian.Uint32(b)
	if length < BiliHeaderSize {
		return h, nil, 0, ErrBiliLength
	}
	if int64(length)-BiliHeaderSize > int64(maxBody) {
		return h, nil, 0, fmt.Errorf("%w: %d > %d bytes", ErrBiliTooBig, int64(length)-BiliHeaderSize, maxBody)
	}
	if len(b) < BiliHeaderSize {
		return h, nil, 0, nil
	}
	if size := binary.BigEndian.Uint16(b[4:]); size != BiliHeaderSize {
		return h, nil, 0, fmt.Errorf("%w: %d", ErrBiliHeaderSize, size)
	}
	if uint32(len(b)) < length {
		return h, nil, 0, nil
	}
	h = BiliHeader{
		Length:  length,
		Version: BiliVersion(binary.BigEndian.Uint16(b[6:])),
		Op:      BiliOp(binary.BigEndian.Uint32(b[8:])),
		Seq:     binary.BigEndian.Uint32(b[12:]),
	}
	return h, b[BiliHeaderSize:length], int(length), nil
}

// AppendBiliHeader appends the header of a packet whose body is bodyLen
// bytes long.
func AppendBiliHeader(dst []byte, bodyLen int, v BiliVersion, op BiliOp, seq uint32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(BiliHeaderSize+bodyLen))
	dst = binary.BigEndian.AppendUint16(dst, BiliHeaderSize)
	dst = binary.BigEndian.AppendUint16(dst, uint16(v))
	dst = binary.BigEndian.AppendUint32(dst, uint32(op))
	return binary.BigEndian.AppendUint32(dst, seq)
}

// AppendBiliPacket appends a packet carrying body.
func AppendBiliPacket(dst []byte, v BiliVersion, op BiliOp, seq uint32, body []byte) []byte {
	return append(AppendBiliHeader(dst, len(body), v, op, seq), body...)
}

// beginBiliPacket appends a header whose length is fixed later by
// endBiliPacket, and returns where the packet starts.
func beginBiliPacket(dst []byte, v BiliVersion, op BiliOp) ([]byte, int) {
	return AppendBiliHeader(dst, 0, v, op, 0), len(dst)
}

// endBiliPacket writes the length of the packet that starts at start.
func endBiliPacket(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst
}

// Enter reply codes.
const (
	// BiliCodeOK accepts an enter packet.
	BiliCodeOK = 0
	// BiliCodeUnauthorized refuses an enter packet whose key is missing or
	// not a valid viewer token.
	BiliCodeUnauthorized = -101
	// BiliCodeBadRequest refuses an enter packet that is not JSON, or
	// whose roomid or protover is invalid.
	BiliCodeBadRequest = -400
)

// AppendBiliEnterReply appends the version-1 enter reply {"code":code}.
func AppendBiliEnterReply(dst []byte, code int, seq uint32) []byte {
	var body [24]byte
	b := append(body[:0], `{"code":`...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, '}')
	return AppendBiliPacket(dst, BiliVersionControl, BiliOpEnterReply, seq, b)
}

// AppendBiliHeartbeatReply appends the version-1 heartbeat reply: exactly 4
// bytes, the online count as a big-endian u32 (clamped to its range).
func AppendBiliHeartbeatReply(dst []byte, count int, seq uint32) []byte {
	count = min(max(count, 0), 1<<32-1)
	dst = AppendBiliHeader(dst, 4, BiliVersionControl, BiliOpHeartbeatReply, seq)
	return binary.BigEndian.AppendUint32(dst, uint32(count))
}

// BiliEnter is the body of an enter packet, such as
//
//	{"uid":7,"roomid":42,"protover":2,"platform":"web","type":2,"key":"<token>"}
//
// Fields other than these three are ignored.
type BiliEnter struct {
	// RoomID is the room, a positive integer: danmu room "42" for 42.
	RoomID uint64
	// Protover picks the connection's encoding: 0 or 1 plain, 2 zlib,
	// 3 brotli.
	Protover int
	// Key is the viewer token, "" when absent.
	Key string
	// MaxRate is danmu's own field "max_rate": at most this many
	// comments a second (a thinned stream), zero for all of them.
	MaxRate int
}

// Room returns the danmu room of the enter packet: RoomID in decimal.
func (e BiliEnter) Room() string { return strconv.FormatUint(e.RoomID, 10) }

type biliEnterJSON struct {
	RoomID   json.Number `json:"roomid"`
	Protover int         `json:"protover"`
	Key      string      `json:"key"`
	MaxRate  int         `json:"max_rate"`
}

// DecodeBiliEnter decodes the body of an enter packet. roomid must be a
// positive integer that fits a uint64, as a JSON number or a string of
// decimal digits; protover 0 to 3. Errors wrap ErrBiliEnter, ErrBiliRoom or
// ErrBiliProtover. The result does not refer to body.
func DecodeBiliEnter(body []byte) (BiliEnter, error) {
	if !utf8.Valid(body) {
		return BiliEnter{}, fmt.Errorf("%w: %w", ErrBiliEnter, ErrInvalidUTF8)
	}
	var raw biliEnterJSON
	if err := JSON.Unmarshal(body, &raw); err != nil {
		return BiliEnter{}, fmt.Errorf("%w: %w", ErrBiliEnter, err)
	}
	room, err := strconv.ParseUint(string(raw.RoomID), 10, 64)
	if err != nil || room == 0 {
		return BiliEnter{}, fmt.Errorf("%w: %s", ErrBiliRoom, quoteShort(string(raw.RoomID)))
	}
	if raw.Protover < 0 || raw.Protover > int(BiliVersionBrotli) {
		return BiliEnter{}, fmt.Errorf("%w: %d", ErrBiliProtover, raw.Protover)
	}
	return BiliEnter{RoomID: room, Protover: raw.Protover, Key: raw.Key, MaxRate: max(raw.MaxRate, 0)}, nil
}
