package fanout

import "github.com/danmu-dev/danmu/stream"

// Followed reports whether h still follows the stream of room.
func (h *Hub) Followed(name string) bool { return h.room(name) != nil }

// Push hands entries of room to h as if its follower had read them, and
// reports whether the room is followed. With a FlushInterval shorter than the
// time between two calls, the batch is flushed before Push returns (its
// delivery is then queued on the shards' executors).
func (h *Hub) Push(name string, entries []stream.Entry) bool {
	r := h.room(name)
	if r == nil {
		return false
	}
	r.push(&stream.Page{Room: name, Entries: entries})
	return true
}
