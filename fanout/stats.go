package fanout

import (
	"sync/atomic"
	"time"

	"github.com/danmu-dev/danmu/metric"
)

// Stats counts what a hub did. All fields are safe for concurrent use.
// Delivery counts once per loop per batch, never per viewer beyond an
// atomic add, so counting costs the fan-out nothing it would notice.
type Stats struct {
	// Batches counts the batches flushed to the loops; BatchSize records
	// the messages in each.
	Batches   atomic.Uint64
	BatchSize *metric.Histogram
	// Dropped counts the messages left out of batches by MaxBatch.
	Dropped atomic.Uint64
	// Encoded counts the frames the encoders built for batches and
	// online counts: one per encoding and tier in use per event (tiers
	// whose batches are the same share one), whatever the number of
	// viewers.
	Encoded atomic.Uint64
	// FramesDelivered counts the batch frames written to viewers, and
	// MessagesDelivered the messages in them (a batch of 3 written to 10
	// viewers counts 10 and 30; a thinned frame counts the messages it
	// holds). Frames a viewer skipped are not counted.
	FramesDelivered   atomic.Uint64
	MessagesDelivered atomic.Uint64
	// FlushToWrite records, per loop and batch, the time from the flush
	// to the end of writing the batch to the loop's viewers, in
	// nanoseconds: how long batches wait for busy event loops.
	FlushToWrite *metric.Histogram
	// EndToEnd records, per loop and batch, the time from the stream ID
	// of the batch's newest message (the moment the log stored it, in
	// milliseconds) to the end of writing it, in nanoseconds.
	EndToEnd *metric.Histogram
	// ReadErrors counts the stream reads that failed: following the
	// rooms, finding a room's newest entry, replaying.
	ReadErrors atomic.Uint64
	// ReplaysRequested counts the joins that waited in the queue for a
	// replay, ReplaysFromMemory those replayed at once from the room's
	// recent entries, and ReplayReads the stream reads that served the
	// queue (viewers resuming from one position share one, and a
	// position an earlier read brought into memory needs none).
	ReplaysRequested  atomic.Uint64
	ReplayReads       atomic.Uint64
	ReplaysFromMemory atomic.Uint64

	// longestWait is the longest FlushToWrite since the hub last adapted
	// its budget to it (window.go), in nanoseconds.
	longestWait atomic.Int64
}

func newStats() *Stats {
	return &Stats{
		BatchSize:    metric.NewHistogram(metric.SizeBuckets),
		FlushToWrite: metric.NewHistogram(metric.LatencyBuckets),
		EndToEnd:     metric.NewHistogram(metric.LatencyBuckets),
	}
}

// batchInfo is what a loop's delivery of one batch is counted with (Frames.Delivered).
type batchInfo struct {
	messages int
	flushed  int64  // Unix ns of the flush
	newestMS uint64 // the newest message's stream time, Unix ms; zero without messages
}

// countDelivery counts a batch written to sent viewers of one loop,
// messages messages in all.
func (s *Stats) countDelivery(sent, messages int, info batchInfo) {
	s.FramesDelivered.Add(uint64(sent))
	s.MessagesDelivered.Add(uint64(messages))
	now := time.Now().UnixNano()
	waited := now - info.flushed
	s.FlushToWrite.Observe(waited)
	for longest := s.longestWait.Load(); waited > longest && !s.longestWait.CompareAndSwap(longest, waited); {
		longest = s.longestWait.Load()
	}
	if info.newestMS > 0 {
		s.EndToEnd.Observe(max(now-int64(info.newestMS)*int64(time.Millisecond), 0))
	}
}
