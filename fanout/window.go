package fanout

import "time"

// The flush window adapts to what frames cost. Every frame is one write
// per viewer, and writes, not messages, are what a server runs out of
// (docs/performance.md, "Findings": about 12 µs of server CPU per write on
// loopback). So the rooms that sent a frame within the last second share
// FrameBudget writes per second equally: a room with v viewers among n
// active rooms sends at most one frame every v·n/FrameBudget, never more
// often than every FlushInterval and never less often than every
// MaxFlushInterval. A room that was quiet for a window still sends its
// next message at once.

// windowLocked returns the room's current flush window.
func (r *room) windowLocked() time.Duration {
	cfg := &r.hub.cfg
	active := max(r.hub.active.Load(), 1)
	w := time.Duration(float64(r.mu.viewers) * float64(active) / float64(cfg.FrameBudget) * float64(time.Second))
	return min(max(w, cfg.FlushInterval), cfg.MaxFlushInterval)
}

// activityPeriod is how far back a room's last frame makes it active.
const activityPeriod = time.Second

// countActive counts the rooms that sent a frame within activityPeriod.
func (h *Hub) countActive(now time.Time) {
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.mu.rooms))
	for _, r := range h.mu.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	var n int64
	for _, r := range rooms {
		r.mu.Lock()
		if now.Sub(r.mu.lastFlush) < activityPeriod {
			n++
		}
		r.mu.Unlock()
	}
	h.active.Store(n)
}
