package codec

import (
	"strconv"
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
	if item, ok := decodeItem(id, data); ok {
		e.Kind, e.Item = EntryMessage, item
	}
	return e
}

// decodeItem decodes a stored message, or reports false.
func decodeItem(id ID, data []byte) (Item, bool) {
	legacy := len(data) > 0 && data[0] == '{'
	var h header
	body := data
	if legacy {
		if !isObject(data) {
			return Item{}, false
		}
	} else {
		var err error
		// sonic checks the JSON of what it decodes, and a body holds
		// only the message's keys (strictJSON below), but not its UTF-8.
		if h, body, err = splitRecord(data); err != nil || !isObjectStart(body) || !utf8.Valid(body) {
			return Item{}, false
		}
	}
	buf := make([]byte, 0, len(body)+len(h.cid)+len(h.uid)+64)
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
			buf = append(buf, h.cid...)
			buf = append(buf, '"')
		}
		buf = append(buf, `,"uid":"`...)
		buf = append(buf, h.uid...)
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
	var m Message
	decoder := JSON
	if !legacy {
		decoder = strictJSON
	}
	if decoder.UnmarshalFromString(text, &m) != nil || m.ID != text[len(`{"id":"`):idEnd] {
		// A second "id" in the record would be the one clients read.
		return Item{}, false
	}
	if !legacy && (m.Prio != h.prio || m.CID != string(h.cid) || m.UID != string(h.uid)) {
		// The body named a header field again.
		return Item{}, false
	}
	return Item{ID: id, Message: m, JSON: buf}, true
}
