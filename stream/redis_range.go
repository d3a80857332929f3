package stream

import (
	"context"
	"slices"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/redis/rueidis"
)

// lastPossibleID is the greatest ID; nothing can follow it, and Redis
// rejects it as an exclusive range start.
var lastPossibleID = codec.ID{MS: ^uint64(0), Seq: ^uint64(0)}

// Range returns the entries q selects, oldest first: XRANGE, or XREVRANGE
// for the newest Limit ones, followed by XINFO STREAM in the same round trip
// to tell whether entries after q.After are missing (see classify). If they
// are, Gap is set; and after a reset whose IDs went back below q.After, the
// entries are taken from the beginning of the stream, with one more round
// trip. XINFO STREAM comes second so that trimming between the two can only
// add a Gap, never hide one.
func (r *Redis) Range(ctx context.Context, q Query) (Page, error) {
	page := Page{Room: q.Room}
	if q.After == lastPossibleID {
		return page, nil
	}
	ctx, cancel := r.bound(ctx, 0)
	defer cancel()
	key := r.key(q.Room)
	start := time.Now()
	res := r.client.DoMulti(ctx,
		r.rangeCommand(key, q.After, q.Through, q.Limit, q.Newest),
		r.client.B().XinfoStream().Key(key).Build())
	r.stats.RoundTrip.ObserveSince(start)
	info, err := parseStreamInfo(res[1])
	if err != nil {
		return Page{}, unavailable("range of", q.Room, err)
	}
	v := info.classify(q.After)
	entries := res[0]
	if info.exists && info.lastGenerated.Less(q.After) {
		entries = r.client.Do(ctx, r.rangeCommand(key, codec.ID{}, q.Through, q.Limit, q.Newest))
	}
	page.Entries, page.Gap, err = rangeEntries(entries, q.Limit, q.Newest)
	if err != nil {
		return Page{}, unavailable("range of", q.Room, err)
	}
	page.Gap = page.Gap || v != intact
	return page, nil
}

// rangeCommand returns the XRANGE of key's entries after after and, unless
// through is zero, at or before through: the oldest limit of them, or with
// newest the XREVRANGE of the newest limit+1, the extra one telling whether
// older ones were cut (zero or less means all).
func (r *Redis) rangeCommand(key string, after, through codec.ID, limit int, newest bool) rueidis.Completed {
	start, end := "-", "+"
	if !after.IsZero() {
		start = "(" + after.String()
	}
	if !through.IsZero() {
		end = through.String()
	}
	b := r.client.B()
	switch {
	case limit > 0 && newest:
		return b.Xrevrange().Key(key).End(end).Start(start).Count(int64(limit) + 1).Build()
	case limit > 0:
		return b.Xrange().Key(key).Start(start).End(end).Count(int64(limit)).Build()
	default:
		return b.Xrange().Key(key).Start(start).End(end).Build()
	}
}

// rangeEntries returns the entries of the reply to rangeCommand, oldest
// first, and whether the newest limit cut older ones.
func rangeEntries(res rueidis.RedisResult, limit int, newest bool) (entries []Entry, cut bool, err error) {
	msg, err := res.ToMessage()
	if err != nil {
		return nil, false, err
	}
	if entries, err = appendEntries(nil, &msg); err != nil {
		return nil, false, err
	}
	if limit > 0 && newest {
		slices.Reverse(entries)
		if len(entries) > limit {
			entries, cut = entries[len(entries)-limit:], true
		}
	}
	return entries, cut, nil
}
