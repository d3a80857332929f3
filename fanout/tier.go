package fanout

import (
	"strconv"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// Tier is the part of its room's stream a subscription receives. The hub
// counts a room's subscriptions per encoding and tier and encodes each
// batch once per (encoding, tier) in use, never once per viewer, so the
// tiers are few: full, priority-only and a fixed set of rates.
type Tier uint8

// The tiers.
const (
	// TierFull is every batch as it is.
	TierFull Tier = iota
	// TierPriority is what a viewer too slow for its tier still gets:
	// the priority comments, the deletes and the gap notices of each
	// batch, the normal comments counted in "dropped". Online counts go
	// to every tier. A batch holding none of those has no frame in it.
	TierPriority
	// tierRate is the first of the thinned tiers, one per rate of
	// rateTiers.
	tierRate
)

// rateTiers are the rates, in comments per second, of the thinned tiers.
// A viewer's max_rate is rounded down to one of them (RateTier), so a room
// has at most len(rateTiers) thinned encodings per format whatever its
// viewers ask for. Above the last one a room is not thinned.
var rateTiers = [...]int{1, 2, 5, 10, 20, 50, 100, 200, 500}

// Tiers is the number of tiers.
const Tiers = int(tierRate) + len(rateTiers)

// RateTier returns the tier of a viewer that asks for at most perSecond
// comments a second: the thinned tier of the largest rate not above it,
// the slowest for less than its rate, or TierFull when perSecond is zero
// or negative (no limit) or above the fastest rate tier.
func RateTier(perSecond int) Tier {
	switch {
	case perSecond <= 0 || perSecond > rateTiers[len(rateTiers)-1]:
		return TierFull
	}
	t := tierRate
	for i, rate := range rateTiers {
		if rate <= perSecond {
			t = tierRate + Tier(i)
		}
	}
	return t
}

// Rate returns the comments per second of a thinned tier, or zero.
func (t Tier) Rate() int {
	if t < tierRate || int(t) >= Tiers {
		return 0
	}
	return rateTiers[t-tierRate]
}

// Thinned reports whether t is a rate tier.
func (t Tier) Thinned() bool { return t.Rate() > 0 }

// String returns the tier's name, as metrics label it: "full",
// "priority" or "rate_N".
func (t Tier) String() string {
	switch {
	case t == TierFull:
		return "full"
	case t == TierPriority:
		return "priority"
	case t.Thinned():
		return "rate_" + strconv.Itoa(t.Rate())
	}
	return "unknown"
}

// variant returns the index of the frames of encoding enc and tier t in
// Frames and in a room's counts.
func variant(enc int, t Tier) int { return enc*Tiers + int(t) }

// tierState is what a room keeps of a tier between batches, under its mu,
// updated once per batch for every viewer of the tier.
type tierState struct {
	// tokens is how many normal comments a thinned tier may still send:
	// a token bucket filled at the tier's rate, holding at most a
	// second's worth, last updated at last.
	tokens float64
	last   time.Time
	// owed counts the normal comments of the batches the tier had no
	// frame for: the next frame counts them in "dropped".
	owed int
}

// take returns how many of n normal comments a batch flushed at now
// keeps for a tier of rate comments a second, and spends them.
func (b *tierState) take(rate, n int, now time.Time) int {
	limit := float64(rate)
	if b.last.IsZero() {
		b.tokens = limit
	} else {
		b.tokens = min(b.tokens+limit*now.Sub(b.last).Seconds(), limit)
	}
	b.last = now
	keep := min(n, int(b.tokens))
	b.tokens -= float64(keep)
	return keep
}

// silent reports whether a tier keeping keep of b's normal comments, b
// holding prio priority ones first, has nothing to send of b.
func silent(b *codec.Batch, prio, keep int) bool {
	return keep < len(b.Items)-prio && prio == 0 && keep == 0 && len(b.Deletes) == 0 && !b.Gap
}

// thin returns the batch of a tier for b, whose Items hold the priority
// comments first (priorityFirst), prio of them: all of b's priority
// comments, and keep of the normal ones spread evenly over the batch, the
// rest counted in Dropped with owed more left out of earlier batches. It
// returns nil when the tier has nothing to send of b (silent).
func thin(b *codec.Batch, prio, keep, owed int) *codec.Batch {
	normal := len(b.Items) - prio
	keep = min(keep, normal)
	switch {
	case silent(b, prio, keep):
		return nil
	case keep == normal && owed == 0:
		return b
	}
	t := *b
	t.Items = make([]codec.Item, prio, prio+keep)
	copy(t.Items, b.Items[:prio])
	for i := range keep {
		// The middle of each of keep equal spans of the normal comments.
		t.Items = append(t.Items, b.Items[prio+(2*i+1)*normal/(2*keep)])
	}
	t.Dropped += normal - keep + owed
	return &t
}
