package fanout

import (
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// decode decodes the entries of a page read from a room's stream: each
// entry once on this node, for every batch, replay and encoding after.
func decode(entries []stream.Entry) []codec.Entry {
	out := make([]codec.Entry, len(entries))
	for i, e := range entries {
		out[i] = codec.DecodeEntry(e.ID, e.Data)
	}
	return out
}

// sorted is a run of stream entries sorted into what a batch carries.
type sorted struct {
	messages []codec.Item
	deletes  []string // IDs of deleted messages, in stream order
	skipped  int      // entries that were neither
}

// add sorts entries into messages and deletes, appending to s.
func (s *sorted) add(entries []codec.Entry) {
	for i := range entries {
		switch e := &entries[i]; e.Kind {
		case codec.EntryMessage:
			s.messages = append(s.messages, e.Item)
		case codec.EntryDelete:
			s.deletes = append(s.deletes, e.Deleted)
		default:
			s.skipped++
		}
	}
}

// capBatch drops the oldest messages without priority until at most max
// remain, and returns the kept messages and how many were dropped.
// Priority messages are never dropped, even past max.
func capBatch(messages []codec.Item, max int) ([]codec.Item, int) {
	over := len(messages) - max
	if over <= 0 {
		return messages, 0
	}
	kept := messages[:0]
	dropped := 0
	for _, it := range messages {
		if dropped < over && !it.Priority() {
			dropped++
			continue
		}
		kept = append(kept, it)
	}
	return kept, dropped
}

// priorityFirst returns messages with the priority ones first, each group
// in stream order.
func priorityFirst(messages []codec.Item) []codec.Item {
	n := 0
	for i := range messages {
		if messages[i].Priority() {
			n++
		}
	}
	if n == 0 || n == len(messages) {
		return messages
	}
	out := make([]codec.Item, 0, len(messages))
	for _, it := range messages {
		if it.Priority() {
			out = append(out, it)
		}
	}
	for _, it := range messages {
		if !it.Priority() {
			out = append(out, it)
		}
	}
	return out
}
