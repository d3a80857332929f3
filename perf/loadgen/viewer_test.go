package loadgen

import (
	"slices"
	"testing"
)

func TestOnMessageCountsAndSamples(t *testing.T) {
	w := &worker{}
	w.lat.total, w.lat.interval = newHist(), newHist()
	counter := &viewer{w: w}
	sampled := &viewer{w: w, sample: &sample{}}
	// The two batches of recordedDanmu, a batch whose older messages the
	// server dropped, the baseline's newline-joined messages (one of them a
	// duplicate) and a comment the generator did not write.
	frames := []string{
		`{"type":"batch","room":"demo","msgs":[{"id":"1795634664077-0","uid":"anonymous","name":"guest","text":"p0:7:1700000000000000000","color":"#ffffff","mode":"scroll","ts":1795634664075}]}`,
		`{"type":"batch","room":"demo","msgs":[{"id":"1795634664099-0","uid":"anonymous","name":"ann","text":"p1:8:1700000000000000001","color":"#ffffff","mode":"scroll","ts":1795634664099}]}`,
		`{"type":"batch","room":"demo","msgs":[{"id":"9-0","text":"p0:9:1700000000000000000"},{"id":"9-1","text":"p0:10:1700000000000000000"}],"dropped":12}`,
		`{"type":"batch","room":"demo","msgs":[{"id":"10-0","text":"p0:11:1700000000000000000"}]}` + "\n" +
			`{"type":"batch","room":"demo","msgs":[{"id":"10-1","text":"p0:7:1700000000000000000"}]}`,
		`{"type":"batch","room":"demo","msgs":[{"id":"11-0","text":"hello"}],"dropped":1,"gap":true}`,
	}
	readAt := int64(1700000000000000000 + 25e6) // 25 ms after the send time
	for _, f := range frames {
		counter.onMessage([]byte(f), readAt)
		sampled.onMessage([]byte(f), readAt)
	}
	if counter.msgs != 7 || sampled.msgs != 7 {
		t.Errorf("counted %d and %d messages; want 7", counter.msgs, sampled.msgs)
	}
	if got := w.counters.dropped.Load(); got != 2*13 {
		t.Errorf("dropped = %d; want %d", got, 2*13)
	}
	if got := w.counters.frames.Load(); got != 2*int64(len(frames)) {
		t.Errorf("frames = %d; want %d", got, 2*len(frames))
	}
	s := sampled.sample
	var seqs []int64
	s.received.Each(func(i int64) { seqs = append(seqs, i) })
	if !slices.Equal(seqs, []int64{7, 8, 9, 10, 11}) {
		t.Errorf("received %v; want 7..11", seqs)
	}
	if s.dups != 1 || s.foreign != 1 || w.counters.malformed.Load() != 0 {
		t.Errorf("dups %d, foreign %d, malformed %d; want 1, 1, 0", s.dups, s.foreign, w.counters.malformed.Load())
	}
	if q := quantiles(w.lat.total); q.Count != 5 || q.P50 < 24.9 || q.Max > 25.1 {
		t.Errorf("latency %+v; want 5 samples of 25ms", q)
	}
	sampled.onMessage([]byte(`{"type":"batch","msgs":[{"id":"x"`), readAt)
	if got := w.counters.malformed.Load(); got != 1 {
		t.Errorf("malformed = %d after a truncated frame; want 1", got)
	}
}
