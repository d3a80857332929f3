package loadgen

import (
	"math"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestQuantiles(t *testing.T) {
	h := newHist()
	for ms := int64(1); ms <= 1000; ms++ {
		recordMicros(h, ms*1e6)
	}
	recordMicros(h, -5)    // clamped to 1 µs
	recordMicros(h, 1<<62) // clamped to 10 minutes
	q := quantiles(h)
	near := func(got, want float64) bool { return math.Abs(got-want) <= want/500 }
	if q.Count != 1002 || !near(q.P50, 500) || !near(q.P90, 900) || !near(q.P99, 990) || !near(q.Max, 600_000) {
		t.Errorf("quantiles = %+v; want 1002 samples, p50 500ms, p90 900ms, p99 990ms, max 600s", q)
	}
	if got := quantiles(newHist()); got != (Quantiles{}) {
		t.Errorf("quantiles of an empty histogram = %+v; want zero", got)
	}
}

func TestEncodedHistogramsMerge(t *testing.T) {
	a, b := newHist(), newHist()
	recordMicros(a, 2e6)
	recordMicros(b, 4e6)
	recordMicros(b, 6e6)
	total := newHist()
	for _, h := range []*hdrhistogram.Histogram{a, b} {
		s, err := encodeHist(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := mergeEncoded(total, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := mergeEncoded(total, ""); err != nil {
		t.Errorf("mergeEncoded of nothing: %v", err)
	}
	if q := quantiles(total); q.Count != 3 || q.P50 < 3.99 || q.P50 > 4.01 {
		t.Errorf("merged: %+v; want 3 samples with median 4ms", q)
	}
	if err := mergeEncoded(total, "not base64!"); err == nil {
		t.Error("mergeEncoded of garbage succeeded")
	}
}
