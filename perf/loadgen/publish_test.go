package loadgen

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestPacing(t *testing.T) {
	start := time.Unix(1700000000, 0)
	tests := []struct {
		i    int64
		rate float64
		want time.Duration
	}{
		{0, 100, 0},
		{1, 100, 10 * time.Millisecond},
		{250, 100, 2500 * time.Millisecond},
		{3, 3, time.Second},
		{1, 7, time.Second / 7},
	}
	for _, tt := range tests {
		if got := dueAt(start, tt.i, tt.rate).Sub(start); got != tt.want {
			t.Errorf("dueAt(%d at %g/s) = +%v; want +%v", tt.i, tt.rate, got, tt.want)
		}
	}
	due := []struct {
		elapsed time.Duration
		rate    float64
		total   int64
		want    int64
	}{
		{-time.Second, 100, 1000, 0},
		{0, 100, 1000, 1},
		{9 * time.Millisecond, 100, 1000, 1},
		{10 * time.Millisecond, 100, 1000, 2},
		{time.Second, 100, 1000, 101},
		{time.Hour, 100, 1000, 1000},
	}
	for _, tt := range due {
		if got := dueBy(tt.elapsed, tt.rate, tt.total); got != tt.want {
			t.Errorf("dueBy(%v, %g, %d) = %d; want %d", tt.elapsed, tt.rate, tt.total, got, tt.want)
		}
	}
	// Every comment is due exactly when dueBy starts counting it.
	for _, rate := range []float64{37, 100, 1000, 3333.3} {
		for i := int64(1); i < 5000; i++ {
			at := dueAt(start, i, rate).Sub(start)
			if got, before := dueBy(at, rate, 1<<20), dueBy(at-1, rate, 1<<20); got != i+1 || before != i {
				t.Fatalf("comment %d due at +%v at %g/s: dueBy = %d then, %d a nanosecond before; want %d, %d", i, at, rate, got, before, i+1, i)
			}
		}
	}
}

func TestLaneRecord(t *testing.T) {
	l := &lane{outcomes: make(map[string]int64)}
	l.record(0, nil, fasthttp.StatusCreated)
	l.record(1, nil, fasthttp.StatusBadRequest)
	l.record(2, nil, fasthttp.StatusServiceUnavailable)
	l.record(3, fasthttp.ErrTimeout, 0)
	l.record(4, errors.New("connection refused"), 0)
	if !l.accepted.Has(0) || l.accepted.Count() != 1 {
		t.Errorf("accepted = %v; want {0}", l.accepted)
	}
	if l.uncertain.Count() != 3 || !l.uncertain.Has(2) || !l.uncertain.Has(3) || !l.uncertain.Has(4) {
		t.Errorf("uncertain = %v; want {2, 3, 4}", l.uncertain)
	}
	want := map[string]int64{"status 400": 1, "status 503": 1, "timeout": 1, "transport error": 1}
	if l.rejected != 1 || len(l.outcomes) != len(want) {
		t.Fatalf("rejected %d, outcomes %v; want 1, %v", l.rejected, l.outcomes, want)
	}
	for k, v := range want {
		if l.outcomes[k] != v {
			t.Errorf("outcomes[%q] = %d; want %d", k, l.outcomes[k], v)
		}
	}
}

func TestNextBatchStatus(t *testing.T) {
	body := []byte(`{"results":[{"status":201,"id":"1-0","ts":1},{"status":429,"error":{"code":"rate_limited","message":"m"},"retry_after":2},{"status":201,"id":"1-1","ts":1}]}`)
	var got []int
	for {
		status, rest, ok := nextBatchStatus(body)
		if !ok {
			break
		}
		got = append(got, status)
		body = rest
	}
	if want := []int{201, 429, 201}; !slices.Equal(got, want) {
		t.Errorf("statuses %v; want %v", got, want)
	}
	if _, _, ok := nextBatchStatus([]byte(`{"status":x}`)); ok {
		t.Errorf(`nextBatchStatus({"status":x}) is ok; want not`)
	}
}
