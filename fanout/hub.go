package fanout

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danmu-dev/danmu/stream"
)

// Hub follows the streams of rooms with local viewers and flushes their
// batches, encoded once per wire format, to the loops that hold those
// viewers.
type Hub struct {
	// Immutable after New.
	cfg    Config
	log    stream.Log
	logger *slog.Logger

	// changed wakes the follower when the set of followed rooms changes.
	changed chan struct{}

	// active is the number of rooms that sent a frame in the last second,
	// which sets every room's flush window (window.go).
	active atomic.Int64

	// skipped counts stream entries that were not a stored message, and
	// duplicates the retried copies of a message that were dropped.
	skipped    atomic.Uint64
	duplicates atomic.Uint64
	stats      *Stats
	// budget is the writes per second the active rooms share now
	// (window.go): FrameBudget, less while the loops fall behind.
	budget atomic.Int64
	// lateBefore tells whether a batch waited longer than
	// MaxFlushInterval in the last budgetPeriod; owned by runActivity.
	lateBefore bool

	// replays bounds the replay reads in flight (replay.go).
	replays replayQueue

	mu struct {
		sync.Mutex
		rooms    map[string]*room
		loops    []Loop
		encoders []Encoder
		// cancelRead interrupts the follower's current read so that it
		// picks up a new room at once.
		cancelRead context.CancelFunc
	}
}

// New returns a Hub that follows log. Register encoders and attach loops
// before viewers join; start the follower with Run.
func New(cfg Config, log stream.Log, logger *slog.Logger) *Hub {
	if logger == nil {
		logger = slog.Default()
	}
	h := &Hub{
		cfg:     cfg.withDefaults(),
		log:     log,
		logger:  logger,
		changed: make(chan struct{}, 1),
		stats:   newStats(),
	}
	h.mu.rooms = make(map[string]*room)
	h.budget.Store(int64(h.cfg.FrameBudget))
	if h.cfg.Counter == nil {
		h.cfg.Counter = h
	}
	return h
}

// RegisterEncoder adds a wire format and returns the index viewers of that
// format join with.
func (h *Hub) RegisterEncoder(e Encoder) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.encoders = append(h.mu.encoders, e)
	return len(h.mu.encoders) - 1
}

// Attach adds a loop that will hold viewers and returns its index, which
// its subscriptions name (Subscribe).
func (h *Hub) Attach(l Loop) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.loops = append(h.mu.loops, l)
	return len(h.mu.loops) - 1
}

// Online returns the number of local viewers of room. It satisfies the
// ingest package's Presence interface.
func (h *Hub) Online(_ context.Context, name string) (int, error) {
	h.mu.Lock()
	r := h.mu.rooms[name]
	h.mu.Unlock()
	if r == nil {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.viewers, nil
}

// Followed returns the rooms whose streams h follows: those with viewers,
// and those whose last viewer left less than RoomLinger ago.
func (h *Hub) Followed() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.mu.rooms))
	for name := range h.mu.rooms {
		names = append(names, name)
	}
	return names
}

// Counts returns the number of local viewers of every room that has any.
func (h *Hub) Counts() map[string]int { return h.counts(nil) }

// counts is Counts of the rooms keep keeps (nil: all).
func (h *Hub) counts(keep func(name string) bool) map[string]int {
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.mu.rooms))
	for name, r := range h.mu.rooms {
		if keep == nil || keep(name) {
			rooms = append(rooms, r)
		}
	}
	h.mu.Unlock()
	counts := make(map[string]int, len(rooms))
	for _, r := range rooms {
		r.mu.Lock()
		if r.mu.viewers > 0 {
			counts[r.name] = r.mu.viewers
		}
		r.mu.Unlock()
	}
	return counts
}

// OnlineMany returns the number of local viewers of each room. It makes
// the hub its own Counter on a single node.
func (h *Hub) OnlineMany(_ context.Context, rooms []string) (map[string]int, error) {
	counts := h.Counts()
	out := make(map[string]int, len(rooms))
	for _, room := range rooms {
		out[room] = counts[room]
	}
	return out, nil
}

// Duplicates returns how many retried copies of messages were dropped.
func (h *Hub) Duplicates() uint64 { return h.duplicates.Load() }

// Stats returns the hub's counters.
func (h *Hub) Stats() *Stats { return h.stats }

// Skipped returns how many stream entries were skipped because they were
// not a well-formed stored message.
func (h *Hub) Skipped() uint64 { return h.skipped.Load() }

// Run follows the streams of the rooms that have (or recently had) local
// viewers until ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	janitor := time.NewTicker(h.cfg.RoomLinger / 2)
	defer janitor.Stop()
	var background sync.WaitGroup
	defer background.Wait()
	background.Go(func() { h.runOnline(ctx) })
	background.Go(func() { h.runActivity(ctx) })
	follower := stream.NewFollower(h.log)
	defer follower.Close()
	// followed are the rooms follower follows, owned by this goroutine.
	followed := make(map[string]*room)
	resync := true
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-janitor.C:
			h.dropIdleRooms(time.Now())
			resync = true
			continue
		default:
		}
		readCtx, cancel := context.WithCancel(ctx)
		h.track(cancel, follower, followed, resync)
		resync = false
		if len(followed) == 0 {
			cancel()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-h.changed:
				resync = true
			case <-janitor.C:
				h.dropIdleRooms(time.Now())
				resync = true
			}
			continue
		}
		pages, err := follower.Read(readCtx, h.cfg.ReadCount, h.cfg.ReadBlock)
		interrupted := readCtx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && interrupted:
			continue // a room was added: read again with it
		case err != nil:
			h.stats.ReadErrors.Add(1)
			backoff = min(max(2*backoff, 50*time.Millisecond), 2*time.Second)
			h.logger.Warn("fanout: stream read failed", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		for i := range pages {
			if r := followed[pages[i].Room]; r != nil && h.room(r.name) == r {
				r.push(&pages[i])
			}
		}
	}
}

// runActivity counts the active rooms every activityPeriod, and adapts
// the budget they share every budgetPeriod, until ctx ends.
func (h *Hub) runActivity(ctx context.Context) {
	tick := time.NewTicker(activityPeriod)
	defer tick.Stop()
	budgetTick := time.NewTicker(budgetPeriod)
	defer budgetTick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			h.countActive(now)
		case <-budgetTick.C:
			h.adaptBudget(time.Duration(h.stats.longestWait.Swap(0)))
		}
	}
}

// track makes cancel the way to interrupt the follower's next read and,
// when the rooms to follow changed since the last call (or resync is set),
// brings f and followed up to date with them: each room ready to be read
// is followed from its cursor, and a room dropped, or made anew under its
// name, is not.
func (h *Hub) track(cancel context.CancelFunc, f stream.Follower, followed map[string]*room, resync bool) {
	select {
	case <-h.changed:
		resync = true
	default:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.cancelRead = cancel
	if !resync {
		return
	}
	for name, r := range followed {
		if h.mu.rooms[name] != r {
			f.Unfollow(name)
			delete(followed, name)
		}
	}
	for name, r := range h.mu.rooms {
		if followed[name] == r {
			continue
		}
		if after, ok := r.cursor(); ok {
			f.Follow(name, after)
			followed[name] = r
		}
	}
}

// follow tells the follower that a room became ready to be read.
func (h *Hub) follow() {
	h.mu.Lock()
	if h.mu.cancelRead != nil {
		h.mu.cancelRead()
	}
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *Hub) room(name string) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.rooms[name]
}

// dropIdleRooms stops following rooms that have had no viewer for longer
// than RoomLinger.
func (h *Hub) dropIdleRooms(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, r := range h.mu.rooms {
		if r.idleSince(now) > h.cfg.RoomLinger {
			delete(h.mu.rooms, name)
		}
	}
}

// snapshot returns the current loops and encoders.
func (h *Hub) snapshot() ([]Loop, []Encoder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mu.loops, h.mu.encoders
}
