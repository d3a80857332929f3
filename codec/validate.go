package codec

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Validation errors. Callers map them to stable wire error codes.
var (
	ErrInvalidRoom  = errors.New("codec: invalid room id")
	ErrEmptyText    = errors.New("codec: empty text")
	ErrTextTooLong  = errors.New("codec: text too long")
	ErrInvalidUTF8  = errors.New("codec: invalid UTF-8")
	ErrControlChar  = errors.New("codec: control character in text")
	ErrInvalidColor = errors.New("codec: invalid color")
	ErrInvalidMode  = errors.New("codec: invalid mode")
	ErrInvalidName  = errors.New("codec: invalid name")
	ErrInvalidUID   = errors.New("codec: invalid uid")
	ErrInvalidCID   = errors.New("codec: invalid cid")
	ErrInvalidPrio  = errors.New("codec: negative prio")
)

// Limits bounds the free text of a comment.
type Limits struct {
	// MaxTextRunes is the longest text, MaxNameRunes the longest display
	// name, in runes.
	MaxTextRunes, MaxNameRunes int
}

// Check reports the first rule of a comment that m breaks, in this order:
// its text (CheckText: ErrEmptyText, ErrTextTooLong, ErrInvalidUTF8,
// ErrControlChar), color, mode, name (ErrInvalidName wrapping the text
// rule it breaks), uid, cid (optional) and prio (not negative). Every
// comment is checked by it before it is stored; the ID and TS are the
// stream's and ingest's, and not checked.
func (m *Message) Check(l Limits) error {
	if err := CheckText(m.Text, l.MaxTextRunes); err != nil {
		return err
	}
	if err := CheckColor(m.Color); err != nil {
		return err
	}
	if err := CheckMode(m.Mode); err != nil {
		return err
	}
	if err := CheckText(m.Name, l.MaxNameRunes); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidName, err)
	}
	switch {
	case !ValidUID(m.UID):
		return fmt.Errorf("%w: %s", ErrInvalidUID, quoteShort(m.UID))
	case m.CID != "" && !ValidCID(m.CID):
		return fmt.Errorf("%w: %s", ErrInvalidCID, quoteShort(m.CID))
	case m.Prio < 0:
		return fmt.Errorf("%w: %d", ErrInvalidPrio, m.Prio)
	}
	return nil
}

// MaxRoomLen is the longest room id, and MaxIDLen the longest of any id
// (room, uid, cid).
const (
	MaxIDLen   = 64
	MaxRoomLen = MaxIDLen
)

// Modes a comment can be displayed in.
const (
	ModeScroll = "scroll"
	ModeTop    = "top"
	ModeBottom = "bottom"
)

// DefaultColor is the color of a comment that names none.
const DefaultColor = "#ffffff"

// Rooms, user ids and the cids of comments are ids: 1 to MaxIDLen
// characters of [A-Za-z0-9_.:-], which no JSON string, URL path or log
// line needs to escape.

// ValidRoom reports whether room is a valid room id.
func ValidRoom(room string) bool { return validID(room) }

// ValidUID reports whether uid is a valid user id.
func ValidUID(uid string) bool { return validID(uid) }

// ValidCID reports whether cid is a valid client id of a comment.
func ValidCID(cid string) bool { return validID(cid) }

// validID reports whether id, a string or a byte slice (not copied), is an
// id. Readers run it on the cid and uid of every record they decode, hence
// the table.
func validID[T string | []byte](id T) bool {
	if len(id) == 0 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idBytes[id[i]] {
			return false
		}
	}
	return true
}

// idBytes marks the bytes of [A-Za-z0-9_.:-].
var idBytes = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == ':' || c == '-'
	}
	return t
}()

// CheckText validates a comment's text: valid UTF-8, 1 to maxRunes runes,
// and no control characters (newlines and tabs included: a comment is one
// line that flies across the video).
func CheckText(text string, maxRunes int) error {
	if !utf8.ValidString(text) {
		return ErrInvalidUTF8
	}
	n := 0
	for _, r := range text {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("%w: U+%04X", ErrControlChar, r)
		}
		n++
	}
	if n == 0 {
		return ErrEmptyText
	}
	if n > maxRunes {
		return fmt.Errorf("%w: %d > %d runes", ErrTextTooLong, n, maxRunes)
	}
	return nil
}

// CheckColor validates a "#rrggbb" color.
func CheckColor(color string) error {
	if len(color) != 7 || color[0] != '#' {
		return fmt.Errorf("%w: %q", ErrInvalidColor, color)
	}
	for i := 1; i < 7; i++ {
		c := color[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return fmt.Errorf("%w: %q", ErrInvalidColor, color)
		}
	}
	return nil
}

// CheckMode validates a display mode.
func CheckMode(mode string) error {
	switch mode {
	case ModeScroll, ModeTop, ModeBottom:
		return nil
	}
	return fmt.Errorf("%w: %q", ErrInvalidMode, mode)
}
