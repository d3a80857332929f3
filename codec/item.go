package codec

import (
	"strconv"
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
	// with "prio" and "cid" only when set.
	JSON []byte
	// Trace is the trace context of the post that stored the message, or
	// nil when its record has none (tracing was off at ingest, or the post
	// was not sampled) or a broken one: a trace context is never a reason
	// to drop a comment.
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
func DecodeEntry(id ID, data []byte) Entry {
	e := Entry{ID: id}
	if IsControl(data) {
		if c, err := ParseControl(data); err == nil {
			e.Kind, e.Deleted = EntryDelete, c.ID
		}
		return e
	}
	m, h, err := decodeRecord(data)
	if err != nil {
		return e
	}
	idText := id.AppendTo(make([]byte, 0, 24))
	m.ID = string(idText)
	e.Kind = EntryMessage
	e.Item = Item{ID: id, Message: m, JSON: appendItemJSON(make([]byte, 0, len(data)+64), idText, &m, data)}
	if h.trace != nil {
		e.Item.Trace, _ = parseTrace(h.trace)
	}
	return e
}

// appendItemJSON appends the native message object of m, whose record is
// data, with id spliced in first. A legacy record's JSON is kept as it is;
// a version-1 record's body follows the header's fields.
func appendItemJSON(dst, id []byte, m *Message, data []byte) []byte {
	dst = append(dst, `{"id":"`...)
	dst = append(dst, id...)
	dst = append(dst, '"')
	body := data
	if data[0] != '{' {
		_, body, _ = splitRecord(data) // DecodeStored checked it
		if m.Prio > 0 {
			dst = append(dst, `,"prio":`...)
			dst = strconv.AppendInt(dst, int64(m.Prio), 10)
		}
		if m.CID != "" {
			dst = append(dst, `,"cid":"`...)
			dst = append(dst, m.CID...)
			dst = append(dst, '"')
		}
		dst = append(dst, `,"uid":"`...)
		dst = append(dst, m.UID...)
		dst = append(dst, '"')
	}
	// body is an object: "{}" or "{" followed by its first key.
	if len(body) == 2 {
		return append(dst, '}')
	}
	dst = append(dst, ',')
	return append(dst, body[1:]...)
}
