package fanout

import (
	"context"
	"hash/fnv"
	"time"
)

// onlineSpread is the longest time between two sends of viewer counts.
// Each room's count goes out once per OnlineInterval, but the rooms are
// spread over it in parts (onlinePart), one part every onlineSpread or
// less, so that a node with many rooms does not write a count to all its
// viewers at once. With 1 000 rooms of 10 viewers, those bursts of 10 000
// frames every 10 s held up the comments behind them: a p99 of 37–75 ms
// against 5.6–6.2 ms without counts (docs/performance.md, "Online counts,
// spread").
const onlineSpread = 200 * time.Millisecond

// runOnline sends every room with local viewers its fleet-wide count every
// OnlineInterval, a part of the rooms at a time, until ctx ends.
func (h *Hub) runOnline(ctx context.Context) {
	parts := max(1, int(h.cfg.OnlineInterval/onlineSpread))
	tick := time.NewTicker(h.cfg.OnlineInterval / time.Duration(parts))
	defer tick.Stop()
	for part := 0; ; part = (part + 1) % parts {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h.sendOnline(ctx, part, parts)
	}
}

// sendOnline sends the rooms of part (of parts) with local viewers their
// fleet-wide count.
func (h *Hub) sendOnline(ctx context.Context, part, parts int) {
	local := h.counts(func(name string) bool { return onlinePart(name, parts) == part })
	if len(local) == 0 {
		return
	}
	rooms := make([]string, 0, len(local))
	for room := range local {
		rooms = append(rooms, room)
	}
	qctx, cancel := context.WithTimeout(ctx, h.cfg.IOTimeout)
	counts, err := h.cfg.Counter.OnlineMany(qctx, rooms)
	cancel()
	if err != nil {
		h.logger.Warn("fanout: cannot count viewers; no online counts sent this round", "err", err)
		return
	}
	for _, name := range rooms {
		if r := h.room(name); r != nil {
			// A fleet's count lags a refresh behind; it is never below
			// what this hub sees.
			r.sendOnline(max(counts[name], local[name]))
		}
	}
}

// onlinePart returns the part, of parts, whose turn sends room's count: a
// hash of its name (FNV-1a, unseeded, which allocates nothing here), so
// that a room keeps its part, and its counts stay an interval apart,
// whatever other rooms come and go.
func onlinePart(room string, parts int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(room))
	return int(h.Sum32() % uint32(parts))
}
