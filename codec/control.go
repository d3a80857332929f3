package codec

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// ParseCloseBody parses the unmasked payload of a close frame received from
// a client (RFC 6455 sections 5.5.1 and 7.4). An empty body carries no code
// and reads as ws.StatusNoStatusRcvd (1005). A one-byte body, or a code that
// must not be sent (below 1000, 1004–1006, 1015, unassigned in 1016–2999,
// 5000 and above), is ErrCloseBodyShort or ErrCloseCode (1002); a reason that is
// not UTF-8 is ErrCloseReasonUTF8 (1007).
func ParseCloseBody(p []byte) (code ws.StatusCode, reason string, err error) {
	switch len(p) {
	case 0:
		return ws.StatusNoStatusRcvd, "", nil
	case 1:
		return 0, "", ErrCloseBodyShort
	}
	code = ws.StatusCode(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return 0, "", ErrCloseCode
	}
	if !utf8.Valid(p[2:]) {
		return 0, "", ErrCloseReasonUTF8
	}
	return code, string(p[2:]), nil
}

// validCloseCode reports whether a peer may send code in a close frame:
// the codes of RFC 6455 section 7.4.1 an endpoint may send, those IANA
// registered since (1012 service restart, 1013 try again later, 1014 bad
// gateway), and the ranges left to libraries (3000–3999) and to private
// use (4000–4999). ws.CheckCloseFrameData refuses 1012–1014 and lets codes
// above 4999 through, so it is not used.
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= ws.StatusNormalClosure && code <= ws.StatusUnsupportedData:
		return true
	case code >= ws.StatusInvalidFramePayloadData && code <= 1014:
		return true
	default:
		return code.IsApplicationSpec() || code.IsPrivateSpec()
	}
}

// AppendPing appends a ping frame carrying payload (at most 125 bytes).
func AppendPing(dst, payload []byte) []byte {
	return AppendFrame(dst, ws.OpPing, payload)
}

// AppendPong appends the pong frame answering a ping whose unmasked
// payload (at most 125 bytes, as CheckClientHeader enforces) is payload.
func AppendPong(dst, payload []byte) []byte {
	return AppendFrame(dst, ws.OpPong, payload)
}
