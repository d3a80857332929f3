package codec

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/gobwas/ws"
)

// FrameError is a violation of the WebSocket protocol by the peer. Code is
// the status the connection must be closed with and Reason a short text for
// the close frame. Get it with errors.As: some errors wrap one with detail.
type FrameError struct {
	Code   ws.StatusCode
	Reason string
}

func (e *FrameError) Error() string {
	return "codec: websocket " + strconv.Itoa(int(e.Code)) + ": " + e.Reason
}

// Protocol violations found in frames sent by clients. Each is one value so
// that callers can compare with errors.Is and returning one never allocates.
var (
	ErrLengthMSB              = &FrameError{ws.StatusProtocolError, "64-bit payload length with the most significant bit set"}
	ErrLengthNotMinimal       = &FrameError{ws.StatusProtocolError, "payload length not in its minimal encoding"}
	ErrUnmasked               = &FrameError{ws.StatusProtocolError, "unmasked client frame"}
	ErrReservedBits           = &FrameError{ws.StatusProtocolError, "reserved bits set without a negotiated extension"}
	ErrReservedOpCode         = &FrameError{ws.StatusProtocolError, "reserved opcode"}
	ErrControlTooLong         = &FrameError{ws.StatusProtocolError, "control frame payload over 125 bytes"}
	ErrControlFragmented      = &FrameError{ws.StatusProtocolError, "fragmented control frame"}
	ErrContinuationUnexpected = &FrameError{ws.StatusProtocolError, "continuation frame without a started message"}
	ErrContinuationExpected   = &FrameError{ws.StatusProtocolError, "new data frame inside a fragmented message"}
	ErrMessageTooBig          = &FrameError{ws.StatusMessageTooBig, "message too big"}
	ErrCloseBodyShort         = &FrameError{ws.StatusProtocolError, "close frame body of one byte"}
	ErrCloseCode              = &FrameError{ws.StatusProtocolError, "invalid close code"}
	ErrCloseReasonUTF8        = &FrameError{ws.StatusInvalidFramePayloadData, "invalid UTF-8 in close reason"}
)

// ParseHeader parses the frame header at the start of b. n is the size of
// the header, mask key included; the payload follows it. When b holds only
// part of the header, ParseHeader returns n == 0 and a nil error: wait for
// more bytes and call it again with all of them. It does not allocate, and
// it checks only the encoding of the header: call CheckClientHeader next.
//
// A length must use its shortest encoding (RFC 6455 section 5.2), so a
// parsed header written back with ws.WriteHeader gives the same bytes.
func ParseHeader(b []byte) (h ws.Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	n = 2
	length := int64(b[1] & 0x7f)
	switch length {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	masked := b[1]&0x80 != 0
	if masked {
		n += 4
	}
	if len(b) < n {
		return h, 0, nil
	}
	switch length {
	case 126:
		length = int64(binary.BigEndian.Uint16(b[2:4]))
		if length < 126 {
			return h, 0, ErrLengthNotMinimal
		}
	case 127:
		u := binary.BigEndian.Uint64(b[2:10])
		if u>>63 != 0 {
			return h, 0, ErrLengthMSB
		}
		length = int64(u)
		if length <= 0xffff {
			return h, 0, ErrLengthNotMinimal
		}
	}
	h = ws.Header{
		Fin:    b[0]&0x80 != 0,
		Rsv:    (b[0] >> 4) & 0x7,
		OpCode: ws.OpCode(b[0] & 0x0f),
		Masked: masked,
		Length: length,
	}
	if masked {
		copy(h.Mask[:], b[n-4:n])
	}
	return h, n, nil
}

// CheckClientHeader checks a header received by the server against RFC 6455
// with no extension negotiated. inMessage tells whether a fragmented data
// message is in progress, and received how many payload bytes it has had so
// far (ignored when inMessage is false). Check each header as soon as it is
// parsed: a frame announcing more than maxMessage bytes, alone or added to
// received, is refused with ErrMessageTooBig (1009) before its payload
// arrives. Every error wraps a *FrameError.
func CheckClientHeader(h ws.Header, inMessage bool, received, maxMessage int64) error {
	state := ws.StateServerSide
	if inMessage {
		state = state.Set(ws.StateFragmented)
	}
	if err := ws.CheckHeader(h, state); err != nil {
		return headerError(err)
	}
	if h.OpCode.IsControl() {
		return nil
	}
	limit := maxMessage
	if h.OpCode == ws.OpContinuation {
		limit -= received
	}
	if h.Length > limit {
		if h.OpCode == ws.OpContinuation {
			return fmt.Errorf("%w: %d + %d > %d bytes", ErrMessageTooBig, received, h.Length, maxMessage)
		}
		return fmt.Errorf("%w: %d > %d bytes", ErrMessageTooBig, h.Length, maxMessage)
	}
	return nil
}

// headerError maps an error of ws.CheckHeader to its *FrameError.
func headerError(err error) error {
	switch err {
	case ws.ErrProtocolOpCodeReserved:
		return ErrReservedOpCode
	case ws.ErrProtocolControlPayloadOverflow:
		return ErrControlTooLong
	case ws.ErrProtocolControlNotFinal:
		return ErrControlFragmented
	case ws.ErrProtocolNonZeroRsv:
		return ErrReservedBits
	case ws.ErrProtocolMaskRequired:
		return ErrUnmasked
	case ws.ErrProtocolContinuationExpected:
		return ErrContinuationExpected
	case ws.ErrProtocolContinuationUnexpected:
		return ErrContinuationUnexpected
	}
	return &FrameError{Code: ws.StatusProtocolError, Reason: err.Error()}
}

// AppendUnmasked appends payload unmasked with mask to dst. payload itself
// is left as it is: it may be memory shared by the event loop.
func AppendUnmasked(dst, payload []byte, mask [4]byte) []byte {
	start := len(dst)
	dst = append(dst, payload...)
	ws.Cipher(dst[start:], mask, 0)
	return dst
}
