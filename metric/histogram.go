package metric

import (
	"sync/atomic"
	"time"
)

// Bucket bounds shared by the histograms of the core packages.
var (
	// LatencyBuckets suit delays from a fraction of a millisecond (a
	// flush reaching its sockets) to seconds (a stalled Redis), in
	// nanoseconds.
	LatencyBuckets = []int64{
		int64(250 * time.Microsecond), int64(500 * time.Microsecond),
		int64(time.Millisecond), int64(2500 * time.Microsecond), int64(5 * time.Millisecond),
		int64(10 * time.Millisecond), int64(25 * time.Millisecond), int64(50 * time.Millisecond),
		int64(100 * time.Millisecond), int64(250 * time.Millisecond), int64(500 * time.Millisecond),
		int64(time.Second), int64(2500 * time.Millisecond), int64(5 * time.Second), int64(10 * time.Second),
	}
	// SizeBuckets suit counts of things per batch, up to a few thousand.
	SizeBuckets = []int64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}
)

// Histogram counts observations in buckets fixed when it is made. Observe
// takes no lock and allocates nothing, so it may run on a hot path from
// any number of goroutines. A snapshot taken while observations are made
// may count one in its sum and not yet in its bucket, or the other way
// round: exporters accept that, as they do for any set of counters read
// one by one.
type Histogram struct {
	// Immutable after NewHistogram.
	bounds []int64

	// counts[i] counts observations v <= bounds[i] and above the previous
	// bound; the last one counts those above every bound.
	counts []atomic.Uint64
	sum    atomic.Int64
}

// NewHistogram returns a histogram with the given upper bounds, which must
// be in increasing order. It panics otherwise: bounds are constants of the
// program.
func NewHistogram(bounds []int64) *Histogram {
	for i := 1; i < len(bounds); i++ {
		if bounds[i] <= bounds[i-1] {
			panic("metric: histogram bounds are not increasing")
		}
	}
	return &Histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

// Observe records v.
func (h *Histogram) Observe(v int64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(v)
}

// ObserveSince records the time elapsed since start, in nanoseconds.
func (h *Histogram) ObserveSince(start time.Time) {
	h.Observe(int64(time.Since(start)))
}

// Bounds returns the upper bounds of the buckets. The slice must not be
// modified.
func (h *Histogram) Bounds() []int64 { return h.bounds }

// Snapshot is a histogram's state at one moment.
type Snapshot struct {
	// Counts holds the observations at or below each bound, cumulative
	// (as Prometheus exports them): Counts[i] counts those <= Bounds()[i].
	Counts []uint64
	// Count is the number of observations, Sum their total.
	Count uint64
	Sum   int64
}

// Snapshot returns the histogram's current state.
func (h *Histogram) Snapshot() Snapshot {
	s := Snapshot{Counts: make([]uint64, len(h.bounds)), Sum: h.sum.Load()}
	for i := range h.counts {
		s.Count += h.counts[i].Load()
		if i < len(h.bounds) {
			s.Counts[i] = s.Count
		}
	}
	return s
}
