package fanout

import (
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// sorted is a run of stream entries sorted into what a batch carries.
type sorted struct {
	messages []stream.Entry
	deletes  []string // IDs of deleted messages, in stream order
	skipped  int      // entries that were neither
}

// add sorts entries into messages and deletes, appending to s.
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
		case codec.ValidStored(e.Data):
			s.messages = append(s.messages, e)
		default:
			s.skipped++
		}
	}
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
