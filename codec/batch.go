package codec

import (
	"strconv"

	"github.com/gobwas/ws"
)

// Batch is what a room sends in one flush window: its newest messages,
// oldest first, how many older ones were dropped to respect the per-frame
// cap, and whether the reader found a gap in the log before them.
type Batch struct {
	Room    string
	Items   []Item
	Dropped int
	Gap     bool
	// Deletes are the IDs of messages a moderator deleted, in order. The
	// native protocol sends each as {"type":"delete",...} after the batch.
	Deletes []string
	// Last is the position in the room's stream the batch covers: the
	// newest entry read when it was flushed, control records and entries
	// left out included. A viewer that resumes from it misses nothing and
	// gets nothing twice. Zero when the batch covers no position (a gap
	// notice). Server-Sent Events send it as the event id.
	Last ID
}

const (
	batchPrefix  = `{"type":"batch","room":"`
	batchMsgs    = `","msgs":[`
	batchDropped = `],"dropped":`
	batchGap     = `,"gap":true`
)

// AppendBatchJSON appends the JSON object of b:
//
//	{"type":"batch","room":"R","msgs":[{"id":"..",...}],"dropped":N,"gap":true}
//
// "dropped" and "gap" appear only when set. Each message is its Item.JSON,
// so nothing is encoded per batch. b.Room must be valid
// (ValidRoom), which needs no escaping.
func AppendBatchJSON(dst []byte, b *Batch) []byte {
	dst = append(dst, batchPrefix...)
	dst = append(dst, b.Room...)
	dst = append(dst, batchMsgs...)
	dst = AppendItemsJSON(dst, b.Items)
	if b.Dropped > 0 {
		dst = append(dst, batchDropped...)
		dst = strconv.AppendInt(dst, int64(b.Dropped), 10)
	} else {
		dst = append(dst, ']')
	}
	if b.Gap {
		dst = append(dst, batchGap...)
	}
	return append(dst, '}')
}

// AppendItemsJSON appends items as comma-separated message objects (no
// brackets).
func AppendItemsJSON(dst []byte, items []Item) []byte {
	for i := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, items[i].JSON...)
	}
	return dst
}

// batchJSONLen returns len(AppendBatchJSON(nil, b)) without encoding.
func batchJSONLen(b *Batch) int {
	n := len(batchPrefix) + len(b.Room) + len(batchMsgs) + 1 // closing '}'
	for i := range b.Items {
		if i > 0 {
			n++
		}
		n += len(b.Items[i].JSON)
	}
	if b.Dropped > 0 {
		n += len(batchDropped) + decimalLen(b.Dropped)
	} else {
		n++
	}
	if b.Gap {
		n += len(batchGap)
	}
	return n
}

// AppendBatchFrame appends b as WebSocket text frames, in one contiguous
// run ready to be written to every viewer: the batch (unless it carries
// deletes only), then one delete message per deleted ID.
func AppendBatchFrame(dst []byte, b *Batch) []byte {
	if b.hasBatchMessage() {
		dst = AppendFrameHeader(dst, ws.OpText, batchJSONLen(b))
		dst = AppendBatchJSON(dst, b)
	}
	for _, id := range b.Deletes {
		dst = AppendFrameHeader(dst, ws.OpText, deleteJSONLen(b.Room, id))
		dst = AppendDeleteJSON(dst, b.Room, id)
	}
	return dst
}

// hasBatchMessage reports whether the native protocol sends b as a batch
// message: unless it carries deletes only, which go as delete messages.
func (b *Batch) hasBatchMessage() bool {
	return len(b.Items) > 0 || b.Dropped > 0 || b.Gap || len(b.Deletes) == 0
}

const deletePrefix = `{"type":"delete","room":"`

// AppendDeleteJSON appends {"type":"delete","room":"R","id":"ID"}: a
// moderator deleted message ID. room and id must be valid (ValidRoom and
// the ID syntax), which need no escaping.
func AppendDeleteJSON(dst []byte, room, id string) []byte {
	dst = append(dst, deletePrefix...)
	dst = append(dst, room...)
	dst = append(dst, `","id":"`...)
	dst = append(dst, id...)
	return append(dst, `"}`...)
}

func deleteJSONLen(room, id string) int {
	return len(deletePrefix) + len(room) + len(`","id":"`) + len(id) + len(`"}`)
}

func decimalLen(n int) int {
	l := 1
	for n >= 10 {
		n /= 10
		l++
	}
	return l
}
