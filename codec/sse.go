package codec

import "bytes"

// Server-Sent Events framing (the WHATWG HTML standard, "Server-sent
// events"): each event is "id: <ID>\n" (optional), "data: <JSON>\n" and a
// blank line. JSON may hold a line break only as whitespace between
// tokens (inside strings they are escaped), so a line break in a payload
// is written as a space: the event stays one data line and the JSON the
// same value.

const (
	sseID   = "id: "
	sseData = "data: "
)

// SSEPing is the heartbeat comment: browsers ignore it, and it keeps
// proxies from closing a quiet stream.
var SSEPing = []byte(": ping\n\n")

// AppendSSEEvent appends an event carrying json, with id as its event id
// unless id is zero.
func AppendSSEEvent(dst []byte, id ID, json []byte) []byte {
	dst, start := appendSSEStart(dst, id)
	return appendSSEEnd(append(dst, json...), start)
}

// appendSSEStart appends the start of an event, up to its data, and
// returns where the data begins: the data is appended in place, then
// appendSSEEnd ends the event.
func appendSSEStart(dst []byte, id ID) ([]byte, int) {
	if !id.IsZero() {
		dst = append(dst, sseID...)
		dst = id.AppendTo(dst)
		dst = append(dst, '\n')
	}
	dst = append(dst, sseData...)
	return dst, len(dst)
}

// appendSSEEnd ends the event whose data began at start.
func appendSSEEnd(dst []byte, start int) []byte {
	flattenLines(dst[start:])
	return append(dst, '\n', '\n')
}

// flattenLines turns the line breaks of p into spaces.
func flattenLines(p []byte) {
	for i := bytes.IndexAny(p, "\r\n"); i >= 0; i = bytes.IndexAny(p, "\r\n") {
		p[i] = ' '
		p = p[i+1:]
	}
}

// SSEEncoder builds the events of the native protocol for Server-Sent
// Events: one event per batch, whose id is the batch's Last, then one per
// deleted message (the first carrying the id when the batch has no event
// of its own), and one per online count.
type SSEEncoder struct{}

// AppendBatch appends the events of b.
func (SSEEncoder) AppendBatch(dst []byte, b *Batch) []byte {
	id := b.Last
	var start int
	if b.hasBatchMessage() {
		dst, start = appendSSEStart(dst, id)
		dst = appendSSEEnd(AppendBatchJSON(dst, b), start)
		id = ID{}
	}
	for _, del := range b.Deletes {
		dst, start = appendSSEStart(dst, id)
		dst = appendSSEEnd(AppendDeleteJSON(dst, b.Room, del), start)
		id = ID{}
	}
	return dst
}

// AppendOnline appends the online-count event of room.
func (SSEEncoder) AppendOnline(dst []byte, room string, count int) []byte {
	dst, start := appendSSEStart(dst, ID{})
	return appendSSEEnd(AppendOnlineJSON(dst, room, count), start)
}
