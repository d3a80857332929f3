package soak

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrConfig is returned by Run for a Config it cannot run.
var ErrConfig = errors.New("soak: invalid configuration")

// Proc is a danmu process of the fleet under test.
type Proc struct {
	Name string // ingest, edge1, ...
	PID  int
	// AdminAddr serves /debug/pprof/ (danmu --admin-addr): the goroutine
	// count is read from there.
	AdminAddr string
}

// Config describes one soak run. Zero fields take the defaults stated on
// them.
type Config struct {
	// IngestAddr is the HTTP API the publishers post to.
	IngestAddr string
	// EdgeAddrs are the WebSocket addresses of the edges; each gets
	// ViewersPerEdge viewers, spread evenly over the rooms.
	EdgeAddrs []string
	// Procs are the danmu processes whose memory and goroutines are
	// sampled.
	Procs []Proc
	// RedisAddr is the Redis the fleet shares and RedisPID its process.
	RedisAddr string
	RedisPID  int
	// RedisPrefix is the fleet's --redis-prefix. Default "danmu:".
	RedisPrefix string
	// Retention is the fleet's --retention: the bound on each stream's
	// length and on Redis memory is computed from it. Required.
	Retention int
	// NodeEntries is Redis's stream-node-max-entries: MAXLEN ~ keeps up to
	// this many entries beyond Retention. Default 100.
	NodeEntries int

	// Rooms is the number of rooms. Default 4.
	Rooms int
	// ViewersPerEdge is the viewers connected to each edge. Default 100.
	ViewersPerEdge int
	// Rate is comments per second per room. Default 10.
	Rate float64
	// Lanes is the number of concurrent publishing connections. Default 4.
	Lanes int
	// Duration is how long comments are sent. Default 30m.
	Duration time.Duration
	// Interval is the time between two samples. Default 10s.
	Interval time.Duration
	// Warmup excludes the first samples from the growth checks (heaps
	// and streams fill up first). Default Duration/10, at least Interval.
	Warmup time.Duration
	// Drain bounds the wait for the last deliveries after the last
	// comment. Default 15s.
	Drain time.Duration
	// Bounds are the growth tolerances. Zero fields take DefaultBounds'.
	Bounds Bounds

	// OutDir receives report.txt, samples.csv and soak.png. Required.
	OutDir string
	// Command is the command line recorded in the report.
	Command []string
	// Progress receives a line per sample. Nil means none.
	Progress io.Writer
}

// Bounds say how much a process may grow between the first and the last
// third of the samples after Warmup: the last third's median may exceed
// the first third's median by at most Relative of it plus Absolute.
type Bounds struct {
	RSSRelative        float64
	RSSAbsolute        int64 // bytes
	GoroutinesRelative float64
	GoroutinesAbsolute int64
	// RedisFactor multiplies the stream memory that the retention allows
	// (the formula of docs/deploy.md, "Retention and memory"); RedisSlack
	// is added for client buffers and allocator rounding.
	RedisFactor float64
	RedisSlack  int64 // bytes
}

// DefaultBounds are the documented bounds (docs/performance.md, "Soak").
var DefaultBounds = Bounds{
	RSSRelative:        0.20,
	RSSAbsolute:        8 << 20,
	GoroutinesRelative: 0.20,
	GoroutinesAbsolute: 20,
	RedisFactor:        1.5,
	RedisSlack:         2 << 20,
}

func (c Config) withDefaults() (Config, error) {
	if c.IngestAddr == "" || len(c.EdgeAddrs) == 0 || c.RedisAddr == "" || c.OutDir == "" {
		return c, fmt.Errorf("%w: need the ingest, edge and Redis addresses and an output directory", ErrConfig)
	}
	if c.Retention <= 0 {
		return c, fmt.Errorf("%w: need the fleet's --retention", ErrConfig)
	}
	if c.RedisPrefix == "" {
		c.RedisPrefix = "danmu:"
	}
	def(&c.NodeEntries, 100)
	def(&c.Rooms, 4)
	def(&c.ViewersPerEdge, 100)
	if c.ViewersPerEdge < c.Rooms {
		return c, fmt.Errorf("%w: %d viewers per edge for %d rooms", ErrConfig, c.ViewersPerEdge, c.Rooms)
	}
	def(&c.Rate, 10)
	def(&c.Lanes, 4)
	def(&c.Duration, 30*time.Minute)
	def(&c.Interval, 10*time.Second)
	def(&c.Warmup, max(c.Interval, c.Duration/10))
	def(&c.Drain, 15*time.Second)
	b, d := &c.Bounds, DefaultBounds
	def(&b.RSSRelative, d.RSSRelative)
	def(&b.RSSAbsolute, d.RSSAbsolute)
	def(&b.GoroutinesRelative, d.GoroutinesRelative)
	def(&b.GoroutinesAbsolute, d.GoroutinesAbsolute)
	def(&b.RedisFactor, d.RedisFactor)
	def(&b.RedisSlack, d.RedisSlack)
	return c, nil
}

// def sets *v to d unless *v is positive: a zero or negative field of a
// Config takes its default.
func def[T int | int64 | float64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// roomNames returns the run's room names, unique to the run so that a
// reused Redis never mixes two runs.
func roomNames(prefix string, n int) []string {
	rooms := make([]string, n)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return rooms
}
