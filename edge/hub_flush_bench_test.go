package edge_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/edge"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/stream"
)

// sink is a viewer doing what a connection's write does, minus the
// syscall: it copies the frame into its own reusable buffer.
type sink struct {
	// Owned by its loop.
	buf    []byte
	frames int
	bytes  int
	joined bool
}

func (s *sink) Send(frame []byte, _ bool) bool {
	s.buf = append(s.buf[:0], frame...)
	s.frames++
	s.bytes += len(frame)
	return true
}

func (s *sink) Joined(string) { s.joined = true }

func (s *sink) Drained() bool { return true }

// pageLog is a Memory whose follower reads return the pages a test hands
// it, one slice per Read, so that the hub flushes a batch when the test
// says. The follower's next Read reports on pushed that the pages of the
// one before were pushed.
type pageLog struct {
	*stream.Memory
	pages  chan []stream.Page
	pushed chan struct{}
	// taken is set when a Read returned pages; only the follower touches it.
	taken bool
}

func newPageLog() *pageLog {
	return &pageLog{Memory: newMemory(0), pages: make(chan []stream.Page), pushed: make(chan struct{}, 1)}
}

func (l *pageLog) Read(ctx context.Context, _ []stream.Cursor, _ int, _ time.Duration) ([]stream.Page, error) {
	if l.taken {
		l.taken = false
		l.pushed <- struct{}{}
	}
	select {
	case pages := <-l.pages:
		l.taken = true
		return pages, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// flushRig is a Hub with viewers of one room spread over two shards, each
// on its own loop. Its follower reads what deliver hands it: one batch,
// which deliver waits for every shard to write to all its viewers.
type flushRig struct {
	hub     *fanout.Hub
	log     *pageLog
	page    []stream.Page
	loops   []*loop
	sinks   [][]*sink // per shard
	entries []stream.Entry
	// barrier, run on each loop after the batch was queued, reports on done
	// that the loop has delivered it. Made once so that waiting allocates
	// nothing.
	barrier func()
	done    chan struct{}
	// batches counts the calls of deliver.
	batches int
	// tiers are the viewers' tiers: viewer i of a shard is in
	// tiers[i%len(tiers)].
	tiers []fanout.Tier
	// shards are the loops' registries.
	shards []*edge.Shard
}

// sampleEntries returns n entries holding realistic stored messages, one
// in every prioEvery (if not zero) with a priority.
func sampleEntries(n, prioEvery int) []stream.Entry {
	entries := make([]stream.Entry, n)
	for i := range entries {
		prio := 0
		if prioEvery > 0 && i%prioEvery == 0 {
			prio = 1
		}
		data, err := codec.EncodeStored(codec.Message{
			UID: "u1234567", Name: "viewer", Text: strings.Repeat("弾幕コメント", 3), Prio: prio,
			Color: codec.DefaultColor, Mode: codec.ModeScroll, TS: 1700000000000 + int64(i),
		})
		if err != nil {
			panic(err)
		}
		entries[i] = stream.Entry{ID: codec.ID{MS: 1700000000000, Seq: uint64(i)}, Data: data}
	}
	return entries
}

func newFlushRig(tb testing.TB, viewers int) *flushRig {
	tb.Helper()
	return newFlushRigConfig(tb, viewers, fanout.Config{})
}

// newFlushRigConfig is newFlushRig with the hub's config cfg, whose flush
// windows it sets.
func newFlushRigConfig(tb testing.TB, viewers int, cfg fanout.Config) *flushRig {
	tb.Helper()
	return newTierRigConfig(tb, viewers, sampleEntries(20, 0), cfg, fanout.TierFull)
}

// newTierRig is a flushRig whose batches hold entries, its viewers spread
// evenly over tiers.
func newTierRig(tb testing.TB, viewers int, entries []stream.Entry, tiers ...fanout.Tier) *flushRig {
	tb.Helper()
	return newTierRigConfig(tb, viewers, entries, fanout.Config{}, tiers...)
}

// newTierRigConfig is newTierRig with the hub's config cfg, whose flush
// windows it sets.
func newTierRigConfig(tb testing.TB, viewers int, entries []stream.Entry, cfg fanout.Config, tiers ...fanout.Tier) *flushRig {
	tb.Helper()
	// A flush window shorter than any time between two deliveries makes
	// every push flush at once, on the follower's goroutine.
	log := newPageLog()
	cfg.FlushInterval, cfg.MaxFlushInterval, cfg.OnlineInterval = time.Nanosecond, time.Nanosecond, time.Hour
	hub := fanout.New(cfg, log, nil)
	enc := hub.RegisterEncoder(jsonEncoding)
	rig := &flushRig{hub: hub, log: log, entries: entries, done: make(chan struct{}, 2), tiers: tiers}
	rig.page = []stream.Page{{Room: "room", Entries: rig.entries}}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		hub.Run(ctx)
		close(stopped)
	}()
	tb.Cleanup(func() {
		cancel()
		<-stopped
	})
	rig.barrier = func() { rig.done <- struct{}{} }
	for s := range 2 {
		l := newLoop(tb)
		shard := edge.NewShard(hub, l)
		sinks := make([]*sink, viewers/2+s*(viewers%2))
		l.Do(func() {
			for i := range sinks {
				sinks[i] = new(sink)
				shard.JoinTier("room", sinks[i], enc, tiers[i%len(tiers)], nil)
			}
		})
		rig.shards = append(rig.shards, shard)
		rig.loops = append(rig.loops, l)
		rig.sinks = append(rig.sinks, sinks)
	}
	waitFor(tb, "every viewer to join", func() bool {
		joined := 0
		for s, l := range rig.loops {
			l.Do(func() {
				for _, v := range rig.sinks[s] {
					if v.joined {
						joined++
					}
				}
			})
		}
		return joined == viewers
	})
	return rig
}

func (r *flushRig) deliver() {
	r.page[0].Entries = r.entries
	r.log.pages <- r.page
	<-r.log.pushed
	for _, l := range r.loops {
		l.Execute(r.barrier)
	}
	for range r.loops {
		<-r.done
	}
	r.batches++
}

// frameSize returns the size of the frame of one batch.
func (r *flushRig) frameSize() int {
	items := make([]codec.Item, len(r.entries))
	for i, e := range r.entries {
		items[i] = codec.DecodeEntry(e.ID, e.Data).Item
	}
	return len(codec.AppendBatchJSON(nil, &codec.Batch{Room: "room", Items: priorityFirst(items)}))
}

// check fails tb unless every viewer of the full tier got every batch,
// whole.
func (r *flushRig) check(tb testing.TB) {
	tb.Helper()
	size := r.frameSize()
	for s, l := range r.loops {
		l.Do(func() {
			for i, v := range r.sinks[s] {
				if r.tiers[i%len(r.tiers)] != fanout.TierFull {
					continue
				}
				if v.frames != r.batches || len(v.buf) != size {
					tb.Errorf("shard %d viewer %d got %d frames, the last of %d bytes; want %d of %d", s, i, v.frames, len(v.buf), r.batches, size)
					return
				}
			}
		})
	}
}

// priorityFirst orders items as a batch does: the priority ones first.
func priorityFirst(items []codec.Item) []codec.Item {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b codec.Item) int { return b.Message.Prio - a.Message.Prio })
	return out
}

// BenchmarkFlush10kViewers delivers one batch of 20 messages to 10 000
// viewers of a room spread over two shards: one encoding, then one copy per
// viewer. ns/viewer is the cost of one recipient.
func BenchmarkFlush10kViewers(b *testing.B) {
	const viewers = 10000
	rig := newFlushRig(b, viewers)
	rig.deliver() // grows the viewers' buffers
	b.SetBytes(int64(rig.frameSize() * viewers))
	b.ReportAllocs()
	for b.Loop() {
		rig.deliver()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers), "ns/viewer")
	rig.check(b)
}

// TestFlushAllocsDoNotGrowWithViewers locks in that delivering a batch
// allocates nothing per recipient: a batch to 10 000 viewers allocates as
// much as one to 100.
//
// With the race detector, sync.Pool drops a quarter of what is put back, so
// a delivery makes a few more allocations at random (refilling the pools of
// the flush buffers and of sonic's validator). The counts are then only
// required to be close: one allocation per recipient would add 9 900.
func TestFlushAllocsDoNotGrowWithViewers(t *testing.T) {
	testFlushAllocs(t, newFlushRig(t, 100), newFlushRig(t, 10000))
}

// TestTierAllocsDoNotGrowWithViewers: the same with the viewers spread
// over the full tier and two thinned ones. Each batch holds a priority
// comment, so that every thinned tier builds its own batch for each.
func TestTierAllocsDoNotGrowWithViewers(t *testing.T) {
	entries := sampleEntries(20, 20)
	tiers := []fanout.Tier{fanout.TierFull, fanout.RateTier(20), fanout.RateTier(5)}
	small, large := newTierRig(t, 99, entries, tiers...), newTierRig(t, 9999, entries, tiers...)
	// The first batches spend the budgets thinned tiers start with.
	small.deliver()
	large.deliver()
	testFlushAllocs(t, small, large)
}

func testFlushAllocs(t *testing.T, small, large *flushRig) {
	perSmall := testing.AllocsPerRun(20, small.deliver)
	perLarge := testing.AllocsPerRun(20, large.deliver)
	t.Logf("allocations per batch: %v for 100 viewers, %v for 10 000", perSmall, perLarge)
	switch {
	case !raceEnabled && perSmall != perLarge:
		t.Errorf("a batch allocates %v times for 100 viewers and %v for 10 000; want the same", perSmall, perLarge)
	case raceEnabled && math.Abs(perLarge-perSmall) > 50:
		t.Errorf("a batch allocates %v times for 100 viewers and %v for 10 000; want about the same", perSmall, perLarge)
	}
	small.check(t)
	large.check(t)
}
