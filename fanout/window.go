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
//
// The budget shared is FrameBudget while the event loops keep up with it.
// On a machine that cannot write that much, batches would queue in the
// loops and wait ever longer between their flush and their writing: so
// when batches waited longer than MaxFlushInterval in two budgetPeriods
// in a row, the budget halves (down to FrameBudget/minBudgetShare), and
// once every batch of a period waited less than half of that, it grows
// back by a twentieth of FrameBudget per budgetPeriod. Frames then carry
// more messages each instead of queueing (docs/performance.md, "A budget
// that follows the loops"). One slow burst (a collection, a busy
// neighbour) is not a backlog and changes nothing.

// windowLocked returns the room's current flush window.
func (r *room) windowLocked() time.Duration {
	cfg := &r.hub.cfg
	return FlushWindow(r.mu.viewers, r.hub.active.Load(), r.hub.budget.Load(), cfg.FlushInterval, cfg.MaxFlushInterval)
}

// FlushWindow is the flush window of a room with viewers viewers among
// active rooms (at least 1 counted) sharing budget writes per second,
// within [shortest, longest]. perf/floor's fan-out floor flushes with it
// too, so that the two flush alike.
func FlushWindow(viewers int, active, budget int64, shortest, longest time.Duration) time.Duration {
	w := time.Duration(float64(viewers) * float64(max(active, 1)) / float64(budget) * float64(time.Second))
	return min(max(w, shortest), longest)
}

// budgetPeriod is how often the budget follows what the loops manage.
const budgetPeriod = 250 * time.Millisecond

// minBudgetShare bounds how far the budget falls: to FrameBudget divided
// by it.
const minBudgetShare = 16

// adaptBudget sets the budget the active rooms share from the longest a
// batch waited, from its flush to the end of its writing, during the last
// budgetPeriod, and the periods before it. Only runActivity calls it.
func (h *Hub) adaptBudget(waited time.Duration) {
	full := int64(h.cfg.FrameBudget)
	b := h.budget.Load()
	late := waited > h.cfg.MaxFlushInterval
	switch {
	case late && h.lateBefore:
		b = max(b/2, full/minBudgetShare, 1)
	case waited < h.cfg.MaxFlushInterval/2:
		b = min(b+max(full/20, 1), full)
	}
	h.lateBefore = late
	h.budget.Store(b)
}

// FrameBudget returns the writes per second the active rooms share now:
// Config.FrameBudget, or less while the event loops fall behind it.
func (h *Hub) FrameBudget() int { return int(h.budget.Load()) }

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
