package edge_test

import (
	"testing"
	"time"
)

// TestStatsCountDelivery: each batch counts once, its frames and messages
// once per viewer written, and its latencies once per shard.
func TestStatsCountDelivery(t *testing.T) {
	const viewers, batches = 10, 3
	rig := newFlushRig(t, viewers)
	stats := rig.hub.Stats()
	start := time.Now()
	for range batches {
		rig.deliver()
	}
	rig.check(t)
	messages := uint64(len(rig.entries))
	if got := stats.Batches.Load(); got != batches {
		t.Errorf("Batches = %d; want %d", got, batches)
	}
	if got := stats.FramesDelivered.Load(); got != viewers*batches {
		t.Errorf("FramesDelivered = %d; want %d", got, viewers*batches)
	}
	if got := stats.MessagesDelivered.Load(); got != viewers*batches*messages {
		t.Errorf("MessagesDelivered = %d; want %d", got, viewers*batches*messages)
	}
	if s := stats.BatchSize.Snapshot(); s.Count != batches || s.Sum != int64(batches*messages) {
		t.Errorf("BatchSize: %d batches of %d messages in all; want %d of %d", s.Count, s.Sum, batches, batches*messages)
	}
	// Two shards: each records each batch once.
	if s := stats.FlushToWrite.Snapshot(); s.Count != 2*batches || s.Sum < 0 || time.Duration(s.Sum) > 2*batches*time.Since(start) {
		t.Errorf("FlushToWrite: %d observations summing to %v; want %d, each within the test's %v", s.Count, time.Duration(s.Sum), 2*batches, time.Since(start))
	}
	// The rig's entries carry IDs of November 2023: far in the past.
	floor := start.Sub(time.UnixMilli(1700000000000))
	if s := stats.EndToEnd.Snapshot(); s.Count != 2*batches || time.Duration(s.Sum) < 2*batches*floor {
		t.Errorf("EndToEnd: %d observations summing to %v; want %d, each from the entries' ID time", s.Count, time.Duration(s.Sum), 2*batches)
	}
}

// TestStatsAllocs locks in that counting adds no allocation to a batch:
// with the hub's counters and histograms recording, delivering to 10 000
// viewers allocates as much per batch as delivering to one. Counting is
// always on; what it adds per recipient is one atomic add per shard.
func TestStatsAllocs(t *testing.T) {
	one, many := newFlushRig(t, 2), newFlushRig(t, 10000)
	perOne := testing.AllocsPerRun(20, one.deliver)
	perMany := testing.AllocsPerRun(20, many.deliver)
	if many.hub.Stats().FramesDelivered.Load() == 0 {
		t.Fatal("FramesDelivered did not move: the counters were not on")
	}
	if !raceEnabled && perOne != perMany {
		t.Errorf("a batch allocates %v times for 2 viewers and %v for 10 000; want the same", perOne, perMany)
	}
}
