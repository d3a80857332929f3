package baseline

import "sync"

// hub is the set of viewers of each room, as in the chat example but keyed
// by room and guarded by a mutex instead of a goroutine.
type hub struct {
	mu struct {
		sync.Mutex
		rooms map[string]map[*client]bool
	}
}

func newHub() *hub {
	h := &hub{}
	h.mu.rooms = make(map[string]map[*client]bool)
	return h
}

// register adds c to its room and queues first, the "joined" message,
// in the same critical section: first is c's first message, and every
// message broadcast after the viewer read it reaches the viewer.
func (h *hub) register(c *client, first []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	members := h.mu.rooms[c.room]
	if members == nil {
		members = make(map[*client]bool)
		h.mu.rooms[c.room] = members
	}
	members[c] = true
	c.send <- first
}

// unregister removes c and closes its channel, unless broadcast already
// dropped it.
func (h *hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(c)
}

// broadcast queues msg for every viewer of room. A viewer whose channel is
// full is dropped: its channel is closed, and its writer sends a close
// frame and ends the connection.
func (h *hub) broadcast(room string, msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.mu.rooms[room] {
		select {
		case c.send <- msg:
		default:
			h.removeLocked(c)
		}
	}
}

func (h *hub) removeLocked(c *client) {
	members := h.mu.rooms[c.room]
	if !members[c] {
		return
	}
	delete(members, c)
	close(c.send)
	if len(members) == 0 {
		delete(h.mu.rooms, c.room)
	}
}

// online returns the number of viewers of room.
func (h *hub) online(room string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.mu.rooms[room])
}
