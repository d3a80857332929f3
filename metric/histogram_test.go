package metric_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/metric"
)

func TestHistogramBuckets(t *testing.T) {
	tests := []struct {
		values []int64
		want   []uint64 // cumulative, per bound 10, 20, 30
		count  uint64
		sum    int64
	}{
		{nil, []uint64{0, 0, 0}, 0, 0},
		{[]int64{10}, []uint64{1, 1, 1}, 1, 10},
		{[]int64{11}, []uint64{0, 1, 1}, 1, 11},
		{[]int64{-5, 0, 10, 20, 25, 30, 31, 1000}, []uint64{3, 4, 6}, 8, 1111},
	}
	for _, tt := range tests {
		h := metric.NewHistogram([]int64{10, 20, 30})
		for _, v := range tt.values {
			h.Observe(v)
		}
		s := h.Snapshot()
		if !slices.Equal(s.Counts, tt.want) || s.Count != tt.count || s.Sum != tt.sum {
			t.Errorf("Observe(%v): Snapshot() = %+v; want counts %v, count %d, sum %d", tt.values, s, tt.want, tt.count, tt.sum)
		}
	}
}

func TestHistogramBadBounds(t *testing.T) {
	for _, bounds := range [][]int64{{2, 1}, {1, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHistogram(%v) did not panic", bounds)
				}
			}()
			metric.NewHistogram(bounds)
		}()
	}
}

func TestHistogramConcurrent(t *testing.T) {
	h := metric.NewHistogram(metric.SizeBuckets)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				h.Observe(int64(g*1000 + i))
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			h.Snapshot()
		}
	})
	wg.Wait()
	if s := h.Snapshot(); s.Count != 4000 || s.Sum != 3999*4000/2 {
		t.Errorf("after 4000 observations of 0..3999: count %d, sum %d", s.Count, s.Sum)
	}
}

// TestObserveAllocs locks in that recording allocates nothing: it runs on
// the fan-out and edge hot paths.
func TestObserveAllocs(t *testing.T) {
	h := metric.NewHistogram(metric.LatencyBuckets)
	start := time.Now()
	if n := testing.AllocsPerRun(100, func() {
		h.Observe(12345)
		h.ObserveSince(start)
	}); n != 0 {
		t.Errorf("Observe and ObserveSince allocate %v times; want 0", n)
	}
}

func BenchmarkObserve(b *testing.B) {
	h := metric.NewHistogram(metric.LatencyBuckets)
	b.ReportAllocs()
	v := int64(0)
	for b.Loop() {
		h.Observe(v)
		v = (v + 7919) % int64(20*time.Millisecond)
	}
}
