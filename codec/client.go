package codec

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Errors of client messages. A bad room wraps ErrInvalidRoom and invalid
// UTF-8 wraps ErrInvalidMessage and ErrInvalidUTF8 (both in validate.go).
var (
	ErrInvalidMessage = errors.New("codec: invalid client message")
	ErrUnknownType    = errors.New("codec: unknown client message type")
	ErrInvalidSince   = errors.New("codec: invalid since id")
)

// Types of the messages a client sends.
const (
	TypeJoin  = "join"
	TypeLeave = "leave"
)

// ClientMessage is a message of the native protocol from a viewer, sent as
// a JSON text frame:
//
//	{"type":"join","room":"R","since":"<id>"}
//	{"type":"leave","room":"R"}
//
// Since is optional: the ID of the last message the viewer has, to be sent
// the ones after it. Fields it does not know are ignored.
type ClientMessage struct {
	Type  string `json:"type"`
	Room  string `json:"room"`
	Since string `json:"since,omitempty"`
}

// SinceID returns Since parsed, or nil when it is empty or not an ID
// (DecodeClientMessage accepts only those two).
func (m *ClientMessage) SinceID() *ID {
	id, err := ParseID(m.Since)
	if m.Since == "" || err != nil {
		return nil
	}
	return &id
}

// DecodeClientMessage decodes and validates the payload of a text message:
// Type is TypeJoin or TypeLeave, Room passes ValidRoom, and Since, if not
// empty, is an ID (ParseID). The strings of the result do not refer to p. When the
// message decodes but fails validation, its fields come with the error so
// that the reply can name the room.
func DecodeClientMessage(p []byte) (ClientMessage, error) {
	var m ClientMessage
	if !utf8.Valid(p) {
		return m, fmt.Errorf("%w: %w", ErrInvalidMessage, ErrInvalidUTF8)
	}
	if err := JSON.Unmarshal(p, &m); err != nil {
		return ClientMessage{}, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if m.Type != TypeJoin && m.Type != TypeLeave {
		return m, fmt.Errorf("%w: %s", ErrUnknownType, quoteShort(m.Type))
	}
	if !ValidRoom(m.Room) {
		return m, fmt.Errorf("%w: %s", ErrInvalidRoom, quoteShort(m.Room))
	}
	if m.Since != "" && m.SinceID() == nil {
		return m, fmt.Errorf("%w: %s", ErrInvalidSince, quoteShort(m.Since))
	}
	return m, nil
}

// quoteShort quotes s for an error message, cut after 64 bytes: errors go
// back to the client, and it need not get its whole message echoed.
func quoteShort(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(ShortPrefix(s, max)) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// ShortPrefix returns the longest prefix of s of at most max bytes that
// does not cut a UTF-8 sequence, so that a valid string stays valid.
func ShortPrefix(s string, max int) string {
	if len(s) <= max {
		return s
	}
	end := max
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end]
}

const (
	errorPrefix   = `{"type":"error",`
	errorRoom     = `"room":`
	errorCode     = `"code":`
	errorMessage  = `,"message":`
	joinedPrefix  = `{"type":"joined","room":"`
	leftPrefix    = `{"type":"left","room":"`
	roomObjectEnd = `"}`
)

// AppendErrorJSON appends the error the server answers a refused client
// message with: {"type":"error","room":"R","code":"...","message":"..."},
// "room" only when the refused message named one. The strings are escaped;
// bytes that are not UTF-8 become U+FFFD.
func AppendErrorJSON(dst []byte, room, code, message string) []byte {
	dst = append(dst, errorPrefix...)
	if room != "" {
		dst = append(dst, errorRoom...)
		dst = appendJSONString(dst, room)
		dst = append(dst, ',')
	}
	dst = append(dst, errorCode...)
	dst = appendJSONString(dst, code)
	dst = append(dst, errorMessage...)
	dst = appendJSONString(dst, message)
	return append(dst, '}')
}

// AppendJoinedJSON appends {"type":"joined","room":"R"}, which tells a
// viewer that its subscription to room is live. room must be valid
// (ValidRoom), which needs no escaping.
func AppendJoinedJSON(dst []byte, room string) []byte {
	dst = append(dst, joinedPrefix...)
	dst = append(dst, room...)
	return append(dst, roomObjectEnd...)
}

// AppendLeftJSON appends {"type":"left","room":"R"}, which confirms a
// leave. room must be valid (ValidRoom), which needs no escaping.
func AppendLeftJSON(dst []byte, room string) []byte {
	dst = append(dst, leftPrefix...)
	dst = append(dst, room...)
	return append(dst, roomObjectEnd...)
}

// appendJSONString appends s as a quoted JSON string, escaped as
// encoding/json does without HTML escaping: the same bytes, which the fuzz
// test checks.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONChars(dst, s, false)
	return append(dst, '"')
}

// appendJSONChars appends the characters of s as they stand between the
// quotes of appendJSONString. With nested, they are escaped once more: the
// result stands between the quotes of a JSON string whose value is itself
// JSON holding s as a string, as the "extra" of DANMU_MSG does. Bytes that
// need no escaping are copied at once, in runs.
func appendJSONChars(dst []byte, s string, nested bool) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		var seq [6]byte // the escape sequence of s[i], for one level
		n, size := 2, 1
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			seq[0] = '\\'
			switch b {
			case '"', '\\':
				seq[1] = b
			case '\b':
				seq[1] = 'b'
			case '\f':
				seq[1] = 'f'
			case '\n':
				seq[1] = 'n'
			case '\r':
				seq[1] = 'r'
			case '\t':
				seq[1] = 't'
			default:
				seq = [6]byte{'\\', 'u', '0', '0', hex[b>>4], hex[b&0xf]}
				n = 6
			}
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				seq = [6]byte{'\\', 'u', 'f', 'f', 'f', 'd'}
			case r == '\u2028' || r == '\u2029':
				// Valid JSON, but line terminators in JavaScript source.
				seq = [6]byte{'\\', 'u', '2', '0', '2', hex[r&0xf]}
			default:
				i += size
				continue
			}
			n = 6
		}
		dst = append(dst, s[start:i]...)
		if nested {
			for _, c := range seq[:n] {
				if c == '\\' || c == '"' {
					dst = append(dst, '\\')
				}
				dst = append(dst, c)
			}
		} else {
			dst = append(dst, seq[:n]...)
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}
