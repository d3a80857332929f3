package fanout

import (
	"slices"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

func TestRateTier(t *testing.T) {
	tests := []struct {
		perSecond int
		want      Tier
		rate      int
		name      string
	}{
		{0, TierFull, 0, "full"},
		{-5, TierFull, 0, "full"},
		{1, tierRate, 1, "rate_1"},
		{4, tierRate + 1, 2, "rate_2"},
		{5, tierRate + 2, 5, "rate_5"},
		{20, tierRate + 4, 20, "rate_20"},
		{499, tierRate + 7, 200, "rate_200"},
		{500, tierRate + 8, 500, "rate_500"},
		{501, TierFull, 0, "full"},
	}
	for _, tt := range tests {
		got := RateTier(tt.perSecond)
		if got != tt.want || got.Rate() != tt.rate || got.String() != tt.name || got.Thinned() != (tt.rate > 0) {
			t.Errorf("RateTier(%d) = %v (rate %d, %q); want %v (rate %d, %q)", tt.perSecond, got, got.Rate(), got.String(), tt.want, tt.rate, tt.name)
		}
	}
	if TierPriority.Thinned() || TierPriority.String() != "priority" || Tier(Tiers).String() != "unknown" {
		t.Error("TierPriority is not thinned and named priority; a tier past the last is unknown")
	}
}

func TestRateBudget(t *testing.T) {
	var b tierState
	start := time.Unix(1000, 0)
	// A new budget holds a second's worth.
	if got := b.take(5, 100, start); got != 5 {
		t.Errorf("first take = %d; want 5", got)
	}
	// 100 ms later: half a comment; 200 ms later: one.
	if got := b.take(5, 100, start.Add(100*time.Millisecond)); got != 0 {
		t.Errorf("take after 100 ms = %d; want 0", got)
	}
	if got := b.take(5, 100, start.Add(200*time.Millisecond)); got != 1 {
		t.Errorf("take after 200 ms = %d; want 1", got)
	}
	// A long pause refills at most a second's worth; fewer comments than
	// the budget spend only what they use.
	if got := b.take(5, 3, start.Add(time.Hour)); got != 3 {
		t.Errorf("take of 3 after an hour = %d; want 3", got)
	}
	if got := b.take(5, 100, start.Add(time.Hour)); got != 2 {
		t.Errorf("take of the rest = %d; want 2", got)
	}
	// Over a minute of flushes every 50 ms, the tier sends its rate.
	sent := 0
	now := start.Add(2 * time.Hour)
	b = tierState{}
	for range 1200 {
		now = now.Add(50 * time.Millisecond)
		sent += b.take(20, 50, now)
	}
	if sent < 60*20 || sent > 60*20+20 {
		t.Errorf("sent %d in 60 s at 20/s; want 1200 and at most a second's burst more", sent)
	}
}

func TestThin(t *testing.T) {
	items := func(prio, normal int) []codec.Item {
		var out []codec.Item
		for i := range prio + normal {
			it := codec.Item{ID: codec.ID{MS: 1, Seq: uint64(i)}}
			if i < prio {
				it.Message.Prio = 1
			}
			out = append(out, it)
		}
		return out
	}
	seqs := func(b *codec.Batch) []uint64 {
		var out []uint64
		for _, it := range b.Items {
			out = append(out, it.ID.Seq)
		}
		return out
	}
	b := &codec.Batch{Room: "r", Items: items(2, 10), Dropped: 3}
	if got := thin(b, 2, 10, 0); got != b {
		t.Errorf("thin keeping everything returned a copy")
	}
	got := thin(b, 2, 3, 0)
	if want := []uint64{0, 1, 3, 7, 10}; !slices.Equal(seqs(got), want) || got.Dropped != 3+7 {
		t.Errorf("thin(2 priority, keep 3 of 10) = %v dropped %d; want %v dropped 10", seqs(got), got.Dropped, want)
	}
	if got := thin(b, 2, 10, 1); got == b || got.Dropped != 4 || len(got.Items) != 12 {
		t.Errorf("thin keeping everything but owing 1 = %+v; want a copy, dropped 4", got)
	}
	if len(b.Items) != 12 || b.Dropped != 3 {
		t.Errorf("thin changed its input: %d items, dropped %d", len(b.Items), b.Dropped)
	}
	got = thin(b, 2, 0, 4)
	if want := []uint64{0, 1}; !slices.Equal(seqs(got), want) || got.Dropped != 17 {
		t.Errorf("priority tier owed 4 = %v dropped %d; want %v dropped 17", seqs(got), got.Dropped, want)
	}
	if got := thin(&codec.Batch{Items: items(0, 4)}, 0, 0, 0); got != nil {
		t.Errorf("a tier with nothing to send got %+v; want nil", got)
	}
	if got := thin(&codec.Batch{Items: items(0, 4), Deletes: []string{"1-1"}}, 0, 0, 0); got == nil || len(got.Items) != 0 || got.Dropped != 4 {
		t.Errorf("a delete alone = %+v; want the delete, 4 dropped", got)
	}
	if got := thin(&codec.Batch{Items: items(0, 4), Gap: true}, 0, 0, 0); got == nil || !got.Gap {
		t.Errorf("a gap alone = %+v; want the gap", got)
	}
}
