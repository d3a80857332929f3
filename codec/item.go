package codec

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Item is one message of a batch, decoded once from its stored record
// (DecodeEntry) into what every encoder uses: the native protocol writes
// JSON as it is, the Bilibili-compatible one builds its packets from
// Message. Neither decodes anything per batch or per encoding.
type Item struct {
	// ID is the entry's; Message.ID is its text.
	ID ID
	// Message is the comment.
	Message Message
	// JSON is the message object of the native protocol:
	// {"id":"<id>","prio":N,"cid":"..","uid":"..","name":..,"text":..,"color":..,"mode":..,"ts":N}
	// with "prio" and "cid" only when set. Message's strings share its
	// memory: nobody may write to it.
	JSON []byte
	// Trace is the trace context of the post that stored the message, or
	// nil: none was stored (tracing was off, or the post was not
	// sampled) or a broken one: a trace context is never a reason to drop
	// a comment.
	Trace *TraceContext
}

// Priority reports whether the message has a priority above zero: it is
// delivered first in its batch and never dropped by the per-frame cap.
func (it Item) Priority() bool { return it.Message.Prio > 0 }

// EntryKind tells what a stream entry holds.
type EntryKind uint8

// The kinds of stream entries.
const (
	// EntryInvalid is an entry no reader shows: neither a message nor a
	// control record that decodes. The stream may be shared.
	EntryInvalid EntryKind = iota
	EntryMessage
	EntryDelete
)

// Entry is one stream entry decoded: a message, a delete record, or
// neither.
type Entry struct {
	ID   ID
	Kind EntryKind
	// Item is the message of an EntryMessage.
	Item Item
	// Deleted is the ID of the message an EntryDelete deletes.
	Deleted string
}

// DecodeEntry decodes the entry id of a room's stream holding data: a
// stored record (of either version, see EncodeStored) or a control record.
// The result does not refer to data.
//
// A message costs one allocation, more only for strings with escapes: its
// native JSON is built first, straight from the record, and the message is
// decoded from that JSON in place, its strings sharing the JSON's memory,
// which nothing writes after.
func DecodeEntry(id ID, data []byte) Entry {
	e := Entry{ID: id}
	if IsControl(data) {
		if c, err := ParseControl(data); err == nil {
			e.Kind, e.Deleted = EntryDelete, c.ID
		}
		return e
	}
	if item, err := decodeItem(id, data); err == nil {
		e.Kind, e.Item = EntryMessage, item
	}
	return e
}

// decodeItem decodes the stored message data of entry id, or returns an
// error wrapping ErrInvalidRecord.
func decodeItem(id ID, data []byte) (item Item, err error) {
	legacy := len(data) > 0 && data[0] == '{'
	var h header
	defer func() {
		if err == nil && h.trace != nil {
			item.Trace, _ = parseTrace(h.trace)
		}
	}()
	body := data
	switch {
	case legacy && !isObject(data):
		return Item{}, fmt.Errorf("%w: not one JSON object", ErrInvalidRecord)
	case !legacy:
		if h, body, err = splitRecord(data); err != nil {
			return Item{}, err
		}
		// sonic checks the JSON of what it decodes, and a body holds
		// only the message's keys (strictJSON below), but not its UTF-8.
		if !isObjectStart(body) || !utf8.Valid(body) {
			return Item{}, fmt.Errorf("%w: body is not a JSON object", ErrInvalidRecord)
		}
	}
	buf := make([]byte, 0, len(body)+len(h.cid)+len(h.uid)+64)
	var cid, uid [2]int // where the header's cid and uid are in buf
	buf = append(buf, `{"id":"`...)
	buf = id.AppendTo(buf)
	idEnd := len(buf)
	buf = append(buf, '"')
	if !legacy {
		if h.prio > 0 {
			buf = append(buf, `,"prio":`...)
			buf = strconv.AppendInt(buf, int64(h.prio), 10)
		}
		if len(h.cid) > 0 {
			buf = append(buf, `,"cid":"`...)
			cid[0] = len(buf)
			buf = append(buf, h.cid...)
			cid[1] = len(buf)
			buf = append(buf, '"')
		}
		buf = append(buf, `,"uid":"`...)
		uid[0] = len(buf)
		buf = append(buf, h.uid...)
		uid[1] = len(buf)
		buf = append(buf, '"')
	}
	// body is an object: "{}" or "{" followed by its first key.
	if len(body) == 2 {
		buf = append(buf, '}')
	} else {
		buf = append(buf, ',')
		buf = append(buf, body[1:]...)
	}
	text := unsafe.String(unsafe.SliceData(buf), len(buf))
	m := Message{ID: text[len(`{"id":"`):idEnd]}
	if !legacy {
		m.Prio, m.CID, m.UID = h.prio, text[cid[0]:cid[1]], text[uid[0]:uid[1]]
		if len(body) > 2 && parseBody(text[len(text)-len(body)+1:], &m) {
			return Item{ID: id, Message: m, JSON: buf}, nil
		}
	}
	var decoded Message
	decoder := JSON
	if !legacy {
		decoder = strictJSON
	}
	if err := decoder.UnmarshalFromString(text, &decoded); err != nil {
		return Item{}, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	switch {
	case decoded.ID != m.ID:
		// A second "id" in the record would be the one clients read.
		return Item{}, fmt.Errorf("%w: an id in the record", ErrInvalidRecord)
	case !legacy && (decoded.Prio != m.Prio || decoded.CID != m.CID || decoded.UID != m.UID):
		// A second "uid" would be, too.
		return Item{}, fmt.Errorf("%w: the body names a header field", ErrInvalidRecord)
	}
	return Item{ID: id, Message: decoded, JSON: buf}, nil
}

// parseBody reads the body of a record, less its opening brace, when it is
// in the form EncodeStored writes: the five keys in order, no string with
// an escape. It reports false for anything else, which the general decoder
// then reads: this is only the fast way through the common case. The
// strings of m alias s. s is valid UTF-8.
func parseBody(s string, m *Message) bool {
	fields := [...]struct {
		key string
		val *string
	}{{`"name":`, &m.Name}, {`,"text":`, &m.Text}, {`,"color":`, &m.Color}, {`,"mode":`, &m.Mode}}
	var ok bool
	for _, f := range fields {
		if s, ok = strings.CutPrefix(s, f.key); !ok {
			return false
		}
		if *f.val, s, ok = cutPlainString(s); !ok {
			return false
		}
	}
	if s, ok = strings.CutPrefix(s, `,"ts":`); !ok {
		return false
	}
	digits, ok := strings.CutSuffix(s, "}")
	if !ok || !canonicalInt(digits) {
		return false
	}
	ts, err := strconv.ParseInt(digits, 10, 64)
	m.TS = ts
	return err == nil
}

// cutPlainString cuts a JSON string with no escape and no control
// character from the front of s, and returns its value.
func cutPlainString(s string) (value, rest string, ok bool) {
	if len(s) == 0 || s[0] != '"' {
		return "", "", false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[1:i], s[i+1:], true
		case c == '\\' || c < 0x20:
			return "", "", false
		}
	}
	return "", "", false
}

// canonicalInt reports whether s is an integer as JSON writes it: an
// optional minus, then 0 or digits not starting with 0.
func canonicalInt(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || s[0] == '0' && len(s) > 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
