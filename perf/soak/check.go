package soak

import (
	"slices"
)

// Growth is the growth check of one series (a process's RSS or
// goroutines) over the samples after the warmup.
type Growth struct {
	Samples int     `json:"samples"`
	First   float64 `json:"first"` // median of the first third
	Last    float64 `json:"last"`  // median of the last third
	Max     float64 `json:"max"`
	Limit   float64 `json:"limit"` // the largest Last allowed
	// Judged is false when there were fewer than 3 samples: no verdict.
	Judged bool `json:"judged"`
	OK     bool `json:"ok"`
}

// checkGrowth compares the median of the last third of values with the
// median of the first third: it may exceed it by relative of it plus
// absolute. Medians make one outlier (a GC cycle, a burst) harmless, and
// comparing thirds rather than the ends catches a steady climb.
func checkGrowth(values []float64, relative, absolute float64) Growth {
	g := Growth{Samples: len(values), OK: true}
	if len(values) == 0 {
		return g
	}
	g.Max = slices.Max(values)
	if len(values) < 3 {
		return g
	}
	third := len(values) / 3
	g.First = median(values[:third])
	g.Last = median(values[len(values)-third:])
	g.Limit = g.First*(1+relative) + absolute
	g.Judged, g.OK = true, g.Last <= g.Limit
	return g
}

// median returns the median of values, which must not be empty.
func median(values []float64) float64 {
	sorted := slices.Sorted(slices.Values(values))
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Stream memory per room that docs/deploy.md ("Retention and memory")
// measured on Redis 7.0: a stream's fixed cost, and the cost of an entry
// beyond its stored bytes.
const (
	streamBytes   = 4700
	entryOverhead = 70
)

// redisLimit is the most Redis memory the retention allows: used_memory
// before the first comment plus, for every room, a full stream
// (retention + nodeEntries entries, since MAXLEN ~ trims whole nodes) of
// entries of stored bytes, times factor, plus slack.
func redisLimit(base int64, rooms, retention, nodeEntries int, stored int64, b Bounds) int64 {
	perRoom := float64(streamBytes) + float64(retention+nodeEntries)*float64(stored+entryOverhead)
	return base + int64(b.RedisFactor*float64(rooms)*perRoom) + b.RedisSlack
}
