package edge_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/fanout"
)

// BenchmarkTiers10kViewers is a room of 10 000 viewers fed 1 000 comments
// a second, two in a hundred with a priority: a batch of 200 every 200 ms,
// the flush window of a 10 000-viewer room (fanout/window.go), delivered in
// real time so that the thinned tiers' budgets fill as they would. One op
// is one batch. The viewers are all in the full tier, or a third each in
// the full tier, max_rate=20 and max_rate=5. Run with -benchtime=Nx: each
// op waits for its turn, so ns/op is the window; the CPU the process used
// (all goroutines: the hub, both loops, the viewers' copies) is reported
// per batch and per frame delivered.
func BenchmarkTiers10kViewers(b *testing.B) {
	const (
		viewers = 10000
		window  = 200 * time.Millisecond
	)
	entries := sampleEntries(200, 50)
	for _, mix := range []struct {
		name  string
		tiers []fanout.Tier
	}{
		{"all-full", []fanout.Tier{fanout.TierFull}},
		{"thirds", []fanout.Tier{fanout.TierFull, fanout.RateTier(20), fanout.RateTier(5)}},
	} {
		b.Run(mix.name, func(b *testing.B) {
			rig := newTierRig(b, viewers, entries, mix.tiers...)
			tick := time.NewTicker(window)
			defer tick.Stop()
			for range 3 { // grows the viewers' buffers, spends the first budgets
				<-tick.C
				rig.deliver()
			}
			frames0, bytes0 := rig.delivered()
			cpu0 := cpuTime(b)
			b.ReportAllocs()
			for b.Loop() {
				<-tick.C
				rig.deliver()
			}
			cpu := cpuTime(b) - cpu0
			frames, bytes := rig.delivered()
			frames, bytes = frames-frames0, bytes-bytes0
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/batch")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(frames), "cpu-ns/delivery")
			b.ReportMetric(float64(frames)/float64(b.N), "deliveries/batch")
			b.ReportMetric(float64(bytes)/float64(frames), "B/delivery")
			b.ReportMetric(float64(rig.hub.Stats().Encoded.Load())/float64(rig.batches), "encodings/batch")
			rig.check(b)
		})
	}
}

// delivered returns the frames and bytes the rig's viewers have taken.
func (r *flushRig) delivered() (frames, bytes int) {
	for s, l := range r.loops {
		l.Do(func() {
			for _, v := range r.sinks[s] {
				frames += v.frames
				bytes += v.bytes
			}
		})
	}
	return frames, bytes
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
