package ingest

import (
	"bytes"
	"unicode/utf8"

	"github.com/danmu-dev/danmu/codec"
)

// Defaults of the optional fields of a posted comment.
const (
	DefaultName = "guest"
	DefaultUID  = "anonymous"
)

// commentBody is the JSON body of POST /v1/rooms/{room}/danmaku. Unknown
// fields are ignored; an absent or empty optional field takes its default,
// which is not checked against the Config limits.
type commentBody struct {
	Text  string `json:"text"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
	Name  string `json:"name"`
	UID   string `json:"uid"`
	Prio  int    `json:"prio"`
	CID   string `json:"cid"`
}

// decodeComment decodes and validates a posted body into a Message without
// ID or TS. It checks that the whole body is UTF-8 before decoding, unknown
// fields and keys included, because sonic passes invalid UTF-8 through.
// Every field is validated after unescaping (codec.Message.Check), since an
// escape such as "\u0000" decodes to a control character. With tokens, the
// body's uid and name are ignored, not checked: the token's replace them.
func decodeComment(body []byte, cfg *Config, errs *limitErrors) (codec.Message, *Error) {
	if len(body) > cfg.MaxBodyBytes {
		return codec.Message{}, errs.bodyTooLarge
	}
	if !isJSONObject(body) {
		return codec.Message{}, errInvalidJSON
	}
	var in commentBody
	if err := codec.JSON.Unmarshal(body, &in); err != nil {
		return codec.Message{}, errInvalidJSON
	}
	msg := codec.Message{
		UID: DefaultUID, Name: DefaultName, Text: in.Text, Color: codec.DefaultColor, Mode: codec.ModeScroll,
		CID: in.CID, Prio: in.Prio,
	}
	if in.Color != "" {
		msg.Color = in.Color
	}
	if in.Mode != "" {
		msg.Mode = in.Mode
	}
	if in.Name != "" && cfg.Auth == nil {
		msg.Name = in.Name
	}
	if in.UID != "" && cfg.Auth == nil {
		msg.UID = in.UID
	}
	if err := msg.Check(cfg.limits(&msg)); err != nil {
		return codec.Message{}, errs.invalidComment(err)
	}
	return msg, nil
}

// isJSONObject reports whether body is UTF-8 and opens a JSON object. Both
// need checking before sonic decodes it: sonic passes invalid UTF-8
// through, and decodes null, or any JSON that is not an object, into an
// empty struct.
func isJSONObject(body []byte) bool {
	return utf8.Valid(body) && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{"))
}
