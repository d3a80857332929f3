package codec

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// MaxServerHeaderSize is the largest header of an unmasked (server) frame.
const MaxServerHeaderSize = 10

// AppendFrameHeader appends the header of a final, unmasked frame whose
// payload is n bytes long. Server frames are unmasked, so a frame's bytes
// are the same for every viewer and can be built once and shared.
func AppendFrameHeader(dst []byte, op ws.OpCode, n int) []byte {
	dst = append(dst, 0x80|byte(op))
	switch {
	case n <= 125:
		return append(dst, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), uint64(n))
	}
}

// AppendFrame appends a final, unmasked frame carrying payload.
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	return append(AppendFrameHeader(dst, op, len(payload)), payload...)
}

// AppendClose appends a close frame with code and reason. The reason is cut
// to fit a control frame (125 bytes of payload) on a rune boundary.
func AppendClose(dst []byte, code ws.StatusCode, reason string) []byte {
	const maxReason = 123
	if len(reason) > maxReason {
		cut := maxReason
		for cut > 0 && reason[cut]&0xc0 == 0x80 {
			cut--
		}
		reason = reason[:cut]
	}
	dst = AppendFrameHeader(dst, ws.OpClose, 2+len(reason))
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}
