package ingest

import (
	"bytes"
	"errors"
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
// Every field kept is validated after unescaping, since an escape such as
// "\u0000" decodes to a control character.
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
	if err := codec.CheckText(in.Text, cfg.MaxTextRunes); err != nil {
		switch {
		case errors.Is(err, codec.ErrEmptyText):
			return codec.Message{}, errEmptyText
		case errors.Is(err, codec.ErrTextTooLong):
			return codec.Message{}, errs.textTooLong
		default:
			return codec.Message{}, errInvalidText
		}
	}
	msg := codec.Message{UID: DefaultUID, Name: DefaultName, Text: in.Text, Color: codec.DefaultColor, Mode: codec.ModeScroll}
	if in.Color != "" {
		if codec.CheckColor(in.Color) != nil {
			return codec.Message{}, errInvalidColor
		}
		msg.Color = in.Color
	}
	if in.Mode != "" {
		if codec.CheckMode(in.Mode) != nil {
			return codec.Message{}, errInvalidMode
		}
		msg.Mode = in.Mode
	}
	// With tokens, the user id and name are the token's: the body's are
	// ignored, not checked.
	if in.Name != "" && cfg.Auth == nil {
		if codec.CheckText(in.Name, cfg.MaxNameRunes) != nil {
			return codec.Message{}, errs.invalidName
		}
		msg.Name = in.Name
	}
	if in.UID != "" && cfg.Auth == nil {
		if !codec.ValidRoom(in.UID) {
			return codec.Message{}, errInvalidUID
		}
		msg.UID = in.UID
	}
	if in.CID != "" {
		if !codec.ValidRoom(in.CID) {
			return codec.Message{}, errInvalidCID
		}
		msg.CID = in.CID
	}
	if in.Prio < 0 {
		return codec.Message{}, errInvalidPrio
	}
	msg.Prio = in.Prio
	return msg, nil
}

// isJSONObject reports whether body is UTF-8 and opens a JSON object. Both
// need checking before sonic decodes it: sonic passes invalid UTF-8
// through, and decodes null, or any JSON that is not an object, into an
// empty struct.
func isJSONObject(body []byte) bool {
	return utf8.Valid(body) && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{"))
}
