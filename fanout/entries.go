package fanout

import (
	"unicode/utf8"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// sorted is a run of stream entries sorted into what a batch carries.
type sorted struct {
	messages []stream.Entry
	deletes  []string // IDs of deleted messages, in stream order
	skipped  int      // entries that were neither
}

// sortEntries sorts entries into messages and deletes, appending to s.
func (s *sorted) add(entries []stream.Entry) {
	for _, e := range entries {
		switch {
		case codec.IsControl(e.Data):
			c, err := codec.ParseControl(e.Data)
			if err != nil {
				s.skipped++
				continue
			}
			s.deletes = append(s.deletes, c.ID)
		case wellFormed(e.Data):
			s.messages = append(s.messages, e)
		default:
			s.skipped++
		}
	}
}

// wellFormed reports whether data can be spliced into a batch as a stored
// message: one JSON object, valid UTF-8, opening with its first key (the
// ID is spliced in right after the brace). Ingest only writes such entries;
// this guards viewers against anything else found in a shared stream: an
// entry such as "{oops}" or "{"a":1}{"b":2}" would make the whole frame
// invalid JSON for every viewer of the room.
func wellFormed(data []byte) bool {
	return len(data) >= 2 && data[0] == '{' && data[len(data)-1] == '}' &&
		(data[1] == '"' || len(data) == 2) && utf8.Valid(data) && codec.JSON.Valid(data)
}

// capBatch drops the oldest messages without priority until at most max
// remain, and returns the kept messages and how many were dropped.
// Priority messages are never dropped, even past max.
func capBatch(messages []stream.Entry, max int) ([]stream.Entry, int) {
	over := len(messages) - max
	if over <= 0 {
		return messages, 0
	}
	kept := messages[:0]
	dropped := 0
	for _, e := range messages {
		if dropped < over && !codec.IsPriority(e.Data) {
			dropped++
			continue
		}
		kept = append(kept, e)
	}
	return kept, dropped
}

// priorityFirst returns messages with the priority ones first, each group
// in stream order.
func priorityFirst(messages []stream.Entry) []stream.Entry {
	n := 0
	for _, e := range messages {
		if codec.IsPriority(e.Data) {
			n++
		}
	}
	if n == 0 || n == len(messages) {
		return messages
	}
	out := make([]stream.Entry, 0, len(messages))
	for _, e := range messages {
		if codec.IsPriority(e.Data) {
			out = append(out, e)
		}
	}
	for _, e := range messages {
		if !codec.IsPriority(e.Data) {
			out = append(out, e)
		}
	}
	return out
}

// forReplay returns messages less those whose ID is in deletes and the
// retried copies of a CID seen earlier in messages.
func forReplay(messages []stream.Entry, deletes []string) []stream.Entry {
	gone := make(map[string]bool, len(deletes))
	for _, id := range deletes {
		gone[id] = true
	}
	var seen map[string]bool
	kept := make([]stream.Entry, 0, len(messages))
	for _, e := range messages {
		if gone[e.ID.String()] {
			continue
		}
		if cid := codec.StoredCID(e.Data); cid != nil {
			if seen[string(cid)] {
				continue
			}
			if seen == nil {
				seen = make(map[string]bool)
			}
			seen[string(cid)] = true
		}
		kept = append(kept, e)
	}
	return kept
}
