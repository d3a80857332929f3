package fanout

import (
	"time"

	"github.com/danmu-dev/danmu/internal/telemetry"
)

// Defaults for Config's zero values.
const (
	// The flush window defaults are measured: see docs/performance.md,
	// "Flush window".
	DefaultFlushInterval    = 50 * time.Millisecond
	DefaultMaxFlushInterval = 250 * time.Millisecond
	DefaultFrameBudget      = 50000
	// DefaultMaxBatch holds a busy room's longest window at 1 000
	// comments/s (250 ms) with room to spare, so the cap only bites in a
	// flood (docs/performance.md, "Flush window").
	DefaultMaxBatch    = 500
	DefaultReadCount   = 1000
	DefaultReadBlock   = 2 * time.Second
	DefaultRoomLinger  = 30 * time.Second
	DefaultReplayLimit = 1000
	// DefaultReplayReads and DefaultReplayCache are discussed in
	// docs/security.md ("Replays").
	DefaultReplayReads = 8
	DefaultReplayCache = 256
	DefaultIOTimeout   = 5 * time.Second
	// DefaultOnlineInterval keeps a room's count fresh for its viewers
	// for the cost of one small frame per viewer every 10 s.
	DefaultOnlineInterval = 10 * time.Second
	// DefaultDedupWindow outlasts a client's retries after an ambiguous
	// failure (ingest answers within its append timeout, 2 s).
	DefaultDedupWindow = 30 * time.Second
)

// Config tunes a Hub. The zero value works.
type Config struct {
	// FlushInterval is the shortest time between two frames of one room.
	// A message reaching a room that sent nothing for its window goes out
	// at once; later ones gather until the window ends. The window grows
	// with the room's viewers and the number of active rooms, up to
	// MaxFlushInterval, to keep the writes per second within FrameBudget
	// (window.go). Zero means DefaultFlushInterval.
	FlushInterval time.Duration
	// MaxFlushInterval caps the flush window. Zero means
	// DefaultMaxFlushInterval; it is raised to FlushInterval if lower.
	MaxFlushInterval time.Duration
	// FrameBudget is the writes per second (frames × viewers) the active
	// rooms share. Zero means DefaultFrameBudget.
	FrameBudget int
	// MaxBatch caps the messages in one frame. When more arrive within a
	// window, the newest are kept and the frame counts the rest in
	// "dropped". Zero means DefaultMaxBatch.
	MaxBatch int
	// ReadCount caps the entries read from one room's stream per read.
	// Zero means DefaultReadCount.
	ReadCount int
	// ReadBlock is how long one stream read waits for new entries. Zero
	// means DefaultReadBlock.
	ReadBlock time.Duration
	// RoomLinger is how long a room without local viewers is still
	// followed, so that a viewer who reconnects finds it warm. Zero means
	// DefaultRoomLinger.
	RoomLinger time.Duration
	// ReplayLimit caps the entries replayed to a viewer that joins with a
	// since ID; older ones are reported as a gap. Zero means
	// DefaultReplayLimit.
	ReplayLimit int
	// ReplayReads caps the replay reads in flight at once across all
	// rooms; each room has at most one. Viewers resuming from the same
	// position of a room share one read. Zero means DefaultReplayReads.
	ReplayReads int
	// ReplayCache is how many of each followed room's newest entries are
	// kept in memory, so that a viewer resuming from a position they
	// cover is replayed without a stream read. Zero means
	// DefaultReplayCache; a negative value keeps none.
	ReplayCache int
	// IOTimeout bounds each stream call a join makes (finding a room's
	// newest entry, reading a replay). Zero means DefaultIOTimeout.
	IOTimeout time.Duration
	// OnlineInterval is how often viewers are sent their rooms' viewer
	// counts. Zero means DefaultOnlineInterval.
	OnlineInterval time.Duration
	// DedupWindow is how long a message's retry key (its author's uid and
	// cid) is remembered to drop the copies a retried POST stored. Zero
	// means DefaultDedupWindow.
	DedupWindow time.Duration
	// Counter gives the counts sent every OnlineInterval. Nil means this
	// hub's own viewers: right for a single node, while a fleet counts
	// through Redis (package presence).
	Counter Counter
	// Tracer traces batches: one span per room batch on this node, linked
	// to the traces of the posts in it (docs/operations.md, "Tracing").
	// Nil means tracing off, which costs a batch nothing.
	Tracer *telemetry.Tracer
}

func (c Config) withDefaults() Config {
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.MaxFlushInterval <= 0 {
		c.MaxFlushInterval = DefaultMaxFlushInterval
	}
	c.MaxFlushInterval = max(c.MaxFlushInterval, c.FlushInterval)
	if c.FrameBudget <= 0 {
		c.FrameBudget = DefaultFrameBudget
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.ReadCount <= 0 {
		c.ReadCount = DefaultReadCount
	}
	if c.ReadBlock <= 0 {
		c.ReadBlock = DefaultReadBlock
	}
	if c.RoomLinger <= 0 {
		c.RoomLinger = DefaultRoomLinger
	}
	if c.ReplayLimit <= 0 {
		c.ReplayLimit = DefaultReplayLimit
	}
	if c.ReplayReads <= 0 {
		c.ReplayReads = DefaultReplayReads
	}
	if c.ReplayCache == 0 {
		c.ReplayCache = DefaultReplayCache
	}
	if c.IOTimeout <= 0 {
		c.IOTimeout = DefaultIOTimeout
	}
	if c.DedupWindow <= 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	if c.OnlineInterval <= 0 {
		c.OnlineInterval = DefaultOnlineInterval
	}
	return c
}
