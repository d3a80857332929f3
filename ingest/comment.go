package ingest

import (
	"bytes"
	"unicode/utf8"
	"unsafe"

	"github.com/danmu-dev/danmu/codec"
)

// Defaults of the optional fields of a posted comment.
const (
	DefaultName = "guest"
	DefaultUID  = "anonymous"
)

// commentBody is the JSON body of POST /v1/rooms/{room}/danmaku as read:
// for each key, its last value that is not null. A key names a field when
// it is the field's name in any case (sonic's matching, see foldKey).
// Unknown keys are ignored, with values of any type; a value of the wrong
// type (a string field's not a string, prio's not an integer) makes the
// body invalid. An absent or empty optional field takes its default,
// which is not checked against the Config limits.
type commentBody struct {
	text, color, mode, name, uid, cid jsonString
	prio                              int
}

// decodeComment decodes and validates a posted body into a Message without
// ID or TS. It checks that the whole body is UTF-8, unknown fields and keys
// included. Every field is validated after unescaping (codec.Message.Check),
// since an escape such as "\u0000" decodes to a control character. With
// tokens, the body's uid and name are ignored, not checked: the token's
// replace them.
//
// The Message's strings share one allocation of their own, never the
// body's memory, which fasthttp reuses once the request is answered: hooks
// may keep them (policy.Hook).
func decodeComment(body []byte, cfg *Config, errs *limitErrors) (codec.Message, *Error) {
	if len(body) > cfg.MaxBodyBytes {
		return codec.Message{}, errs.bodyTooLarge
	}
	var in commentBody
	if !utf8.Valid(body) || !in.scan(body) {
		return codec.Message{}, errInvalidJSON
	}
	msg := in.message(cfg.Auth == nil)
	if err := msg.Check(cfg.limits(&msg)); err != nil {
		return codec.Message{}, errs.invalidComment(err)
	}
	return msg, nil
}

// scan reads body, a JSON object and nothing else but whitespace, into b.
func (b *commentBody) scan(body []byte) bool {
	s := jsonScanner{data: body}
	return s.scanObject(func(key jsonString) bool { return b.scanValue(&s, key) })
}

// scanValue reads the value of key.
func (b *commentBody) scanValue(s *jsonScanner, key jsonString) bool {
	var lower [len("color")]byte
	var field *jsonString
	switch string(lower[:max(foldKey(lower[:], key), 0)]) {
	case "text":
		field = &b.text
	case "color":
		field = &b.color
	case "mode":
		field = &b.mode
	case "name":
		field = &b.name
	case "uid":
		field = &b.uid
	case "cid":
		field = &b.cid
	case "prio":
		if s.skipSpace() == 'n' {
			return s.skipLiteral("null")
		}
		prio, ok := s.scanInt()
		b.prio = prio
		return ok
	default:
		return s.skipValue()
	}
	switch s.skipSpace() {
	case 'n':
		return s.skipLiteral("null")
	case '"':
		value, ok := s.scanString()
		*field = value
		return ok
	}
	return false
}

// message returns the Message b gives, defaults filled in, with the body's
// name and uid when open (no tokens). Its strings are copied, unescaped,
// into one buffer that is never written again.
func (b *commentBody) message(open bool) codec.Message {
	if !open {
		b.name, b.uid = jsonString{}, jsonString{}
	}
	mode, known := knownMode(b.mode)
	if known {
		b.mode = jsonString{}
	}
	a := stringArena(make([]byte, 0, len(b.text.raw)+len(b.color.raw)+len(b.mode.raw)+len(b.name.raw)+len(b.uid.raw)+len(b.cid.raw)))
	return codec.Message{
		Text: a.string(b.text, ""), Color: a.string(b.color, codec.DefaultColor), Mode: a.string(b.mode, mode),
		Name: a.string(b.name, DefaultName), UID: a.string(b.uid, DefaultUID), CID: a.string(b.cid, ""), Prio: b.prio,
	}
}

// stringArena holds the strings of one Message, each written once, never
// changed after: a string may alias it. Its capacity is the length of the
// raw values, which unquoting never exceeds, so it is one allocation.
type stringArena []byte

// string returns the value of s, unescaped into a, or otherwise when s is
// empty.
func (a *stringArena) string(s jsonString, otherwise string) string {
	if len(s.raw) == 0 {
		return otherwise
	}
	start := len(*a)
	*a = appendUnquoted(*a, s)
	return unsafe.String(&(*a)[start], len(*a)-start)
}

// knownMode returns the mode constant mode's value is, when it is one
// written without escapes, or ModeScroll when mode is empty: the common
// cases need no copy.
func knownMode(mode jsonString) (string, bool) {
	if mode.escaped {
		return "", false
	}
	switch string(mode.raw) {
	case "", codec.ModeScroll:
		return codec.ModeScroll, true
	case codec.ModeTop:
		return codec.ModeTop, true
	case codec.ModeBottom:
		return codec.ModeBottom, true
	}
	return "", false
}

// isJSONObject reports whether body is UTF-8 and opens a JSON object. Both
// need checking before sonic decodes it: sonic passes invalid UTF-8
// through, and decodes null, or any JSON that is not an object, into an
// empty struct.
func isJSONObject(body []byte) bool {
	return utf8.Valid(body) && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{"))
}
