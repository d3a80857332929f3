package edge_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/fanout"
)

// TestThinnedTiers: viewers of one room in the full tier and in two rate
// tiers, over two loops. The full viewers get every comment; a thinned one
// gets every priority comment and at most its rate of the others, the rest
// counted in "dropped", so that nothing is unaccounted for; the viewers of
// one tier get the same frames; and each batch is encoded once per tier in
// use, whatever the number of viewers.
func TestThinnedTiers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fanout.Config{FlushInterval: 50 * time.Millisecond, MaxFlushInterval: 50 * time.Millisecond}, newMemory(0), nil, 2)
	tiers := []fanout.Tier{fanout.TierFull, fanout.RateTier(5), fanout.RateTier(20)}
	const perTier = 20
	viewers := make([][]*viewer, len(tiers))
	for i, tier := range tiers {
		for n := range perTier {
			shard := n % 2
			v := e.viewer(shard, e.jsonEnc)
			e.loops[shard].Do(func() { e.shards[shard].JoinTier("room", v, e.jsonEnc, tier, nil) })
			viewers[i] = append(viewers[i], v)
		}
	}
	for _, list := range viewers {
		for _, v := range list {
			v.waitJoined(t)
		}
	}

	start := time.Now()
	var all, prio []string
	const rounds, perRound = 10, 20
	for r := range rounds {
		for n := range perRound {
			all = append(all, e.append("room", r*perRound+n))
		}
		id := e.appendRaw("room", prioData(-r))
		all, prio = append(all, id), append(prio, id)
		time.Sleep(100 * time.Millisecond)
	}
	// A batch a thinned tier had no frame for is counted in its next
	// frame: a last priority comment makes one.
	id := e.appendRaw("room", prioData(-rounds))
	all, prio = append(all, id), append(prio, id)
	// Priority comments come first in their batch: compare the sets.
	sorted := slices.Sorted(slices.Values(all))
	for _, v := range viewers[0] {
		if got := v.waitIDs(t, len(all)); !slices.Equal(slices.Sorted(slices.Values(got)), sorted) {
			t.Fatalf("full viewer got %v; want %v", got, all)
		}
	}
	elapsed := time.Since(start)
	for i, tier := range tiers[1:] {
		var first []string
		for _, v := range viewers[i+1] {
			waitFor(t, "every comment sent or counted", func() bool {
				kept, dropped := 0, 0
				for _, b := range v.batches(t) {
					kept += len(b.Msgs)
					dropped += b.Dropped
				}
				return kept+dropped == len(all)
			})
			got := v.ids(t)
			if first == nil {
				first = got
			} else if !slices.Equal(got, first) {
				t.Errorf("%v: viewers of one tier got %v and %v", tier, first, got)
			}
		}
		normal := 0
		for _, id := range first {
			if !slices.Contains(prio, id) {
				normal++
			}
		}
		for _, id := range prio {
			if !slices.Contains(first, id) {
				t.Errorf("%v: priority comment %s missing from %v", tier, id, first)
			}
		}
		// A second's worth at the start, then the rate.
		if most := tier.Rate() * (1 + int(elapsed.Seconds()+0.999)); normal > most || normal == 0 {
			t.Errorf("%v: %d normal comments in %v; want some, at most %d", tier, normal, elapsed, most)
		}
		t.Logf("%v: %d of %d normal comments in %v", tier, normal, len(all)-len(prio), elapsed)
	}
	st := e.hub.Stats()
	received := 0
	for _, list := range viewers {
		for _, v := range list {
			received += len(v.ids(t))
		}
	}
	if got := st.MessagesDelivered.Load(); got != uint64(received) {
		t.Errorf("Stats().MessagesDelivered = %d; want %d, what the viewers received", got, received)
	}
	if batches, encoded := st.Batches.Load(), st.Encoded.Load(); encoded > uint64(len(tiers))*batches || encoded < batches {
		t.Errorf("%d batches encoded %d times; want at most once per tier in use (%d), whatever the %d viewers",
			batches, encoded, len(tiers), len(tiers)*perTier)
	}
	if calls, batches := e.counts[e.jsonEnc].calls("room"), int(st.Batches.Load()); calls > len(tiers)*batches {
		t.Errorf("the encoder ran %d times for %d batches; want at most %d", calls, batches, len(tiers)*batches)
	}
}

// TestTierNames: the tiers as metrics and logs name them.
func TestTierNames(t *testing.T) {
	for _, tt := range []struct {
		tier fanout.Tier
		want string
	}{{fanout.TierFull, "full"}, {fanout.TierPriority, "priority"}, {fanout.RateTier(20), "rate_20"}} {
		if got := fmt.Sprint(tt.tier); got != tt.want {
			t.Errorf("%d prints as %q; want %q", tt.tier, got, tt.want)
		}
	}
}
