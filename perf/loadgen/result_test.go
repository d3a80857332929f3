package loadgen

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestCountLoss(t *testing.T) {
	l := layout{Viewers: 4, Rooms: []string{"a", "b"}}
	// Room a (viewers 0, 1) had 10 accepted, room b (2, 3) had 5 plus 2
	// maybe stored.
	var d DeliveryStats
	countLoss(&l, []int64{10, 7, -1, 8}, []int64{10, 5}, []int64{0, 2}, &d)
	want := DeliveryStats{Expected: 25, Missing: 3, ViewersWithLoss: 1, MaxMissing: 3, Excess: 1}
	if d != want {
		t.Errorf("countLoss = %+v; want %+v", d, want)
	}
}

// TestCountLossThinned: viewers with a max_rate are counted apart, and the
// sampled ones always take the full stream.
func TestCountLossThinned(t *testing.T) {
	l := layout{Viewers: 6, Rooms: []string{"a"}, SamplePerRoom: 2, MaxRates: []int{0, 20, 5}}
	rates := make([]int, l.Viewers)
	for i := range rates {
		rates[i] = l.maxRate(i)
	}
	if want := []int{0, 20, 5, 0, 20, 5}; !slices.Equal(rates, want) {
		t.Fatalf("maxRate = %v; want %v (viewers 0 and 3 are sampled)", rates, want)
	}
	var d DeliveryStats
	countLoss(&l, []int64{10, 10, 1, 9, 4, 2}, []int64{10}, []int64{0}, &d)
	want := DeliveryStats{Expected: 20, Missing: 1, ViewersWithLoss: 1, MaxMissing: 1, Thinned: 17}
	if d != want {
		t.Errorf("countLoss = %+v; want %+v", d, want)
	}
}

func TestSampleLoss(t *testing.T) {
	// Two rooms: comment i went to room i%2. Accepted 0..7, 8 maybe
	// stored, 9 failed.
	var accepted, uncertain, received Bitset
	for i := range int64(8) {
		accepted.Set(i)
	}
	uncertain.Set(8)
	// A viewer of room 0 got 0, 2, 6 (missed 4), the maybe-stored 8, 10
	// (never accepted) and 3 (room 1's).
	for _, i := range []int64{0, 2, 6, 8, 10, 3} {
		received.Set(i)
	}
	var s SampleStats
	sampleLoss(0, 2, received, accepted, uncertain, &s)
	want := SampleStats{Viewers: 1, Expected: 4, Lost: 1, Unexpected: 1, Misrouted: 1}
	if s != want {
		t.Errorf("sampleLoss = %+v; want %+v", s, want)
	}
}

func TestProblemsAndTable(t *testing.T) {
	clean := &Result{
		Scenario: ScenarioHotRoom, Target: TargetDanmu,
		Viewers:  &ViewerStats{Joined: 20},
		Publish:  &PublishStats{Scheduled: 40, Sent: 40, Accepted: 40},
		Delivery: &DeliveryStats{Expected: 800, Delivered: 800, Sampled: SampleStats{Viewers: 20, Expected: 800}},
		Latency:  &Quantiles{Count: 800, P50: 1, P90: 2, P99: 3, P999: 4, Max: 5},
	}
	if p := clean.Problems(); len(p) != 0 {
		t.Errorf("Problems of a clean run = %v", p)
	}
	var out bytes.Buffer
	if err := clean.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hot-room against danmu", "800 of 800 expected", "p99 3.0ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	bad := *clean
	bad.Viewers = &ViewerStats{Joined: 19, Failed: 1, Disconnects: 2}
	bad.Delivery = &DeliveryStats{Missing: 3, Sampled: SampleStats{Lost: 1, Dups: 1}}
	bad.Publish = &PublishStats{Rejected: 1, Unsent: 4}
	if p := bad.Problems(); len(p) != 7 {
		t.Errorf("Problems = %v; want 7 entries", p)
	}
}
