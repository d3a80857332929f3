package fanout

import (
	"context"
	"sync"
	"time"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// room is one followed stream and the count of its viewers per loop and
// encoding. The viewers themselves live in the loops (Loop).
type room struct {
	// Immutable.
	name string
	hub  *Hub

	// flushing is held through each flush, from taking the pending entries
	// to handing the batch to the loops. Flushes run on the flush timer's
	// goroutine and on the follower's; without it, a batch whose encoding
	// outlasts the flush window is overtaken by the next one.
	flushing sync.Mutex

	mu struct {
		sync.Mutex
		// ready is set once the stream's newest ID is known; until then
		// the room is not read and joins wait in waiting.
		ready   bool
		waiting []*Subscription
		// cursor is the newest entry read from the stream; dispatched the
		// newest entry handed to the loops, and seq the number of
		// batches handed to them.
		cursor     codec.ID
		dispatched codec.ID
		seq        uint64
		// pending gathers the entries of the next batch.
		pending   sorted
		dropped   int
		gap       bool
		armed     bool // a flush is scheduled
		lastFlush time.Time

		// recent holds the newest entries read, for replays from memory;
		// replays holds the groups of viewers waiting for a replay read
		// that has not begun, by position, and replaying is set while
		// one of the room's groups is queued or reading (replay.go).
		recent    recent
		replays   map[codec.ID]*replayGroup
		replaying bool

		// seen maps the retry keys of recent messages (their author's
		// uid and cid, see codec.RetryKey) to when they were first
		// read (Unix ns), to drop retried copies.
		seen       map[string]int64
		seenPruned int64

		viewers    int
		emptySince time.Time
		perLoop    []int
		// perVariant counts the viewers per encoding and tier (variant).
		perVariant []int
		// tiers are the tiers' budgets and counts (tierState).
		tiers [Tiers]tierState
		// online is the fleet-wide count last sent to the viewers.
		online int
	}

	// notices are the room's gap notices, one per encoding (notice).
	notices struct {
		sync.Mutex
		frames [][]byte
	}
}

// notice returns the room's gap notice in encoding enc, built on the first
// call and kept.
func (r *room) notice(enc int) []byte {
	_, encoders := r.hub.snapshot()
	if enc >= len(encoders) {
		return nil
	}
	r.notices.Lock()
	defer r.notices.Unlock()
	r.notices.frames = grow(r.notices.frames, enc)
	if r.notices.frames[enc] == nil {
		r.notices.frames[enc] = encoders[enc].AppendBatch([]byte{}, &codec.Batch{Room: r.name, Gap: true})
	}
	return r.notices.frames[enc]
}

// cursor returns the position to read the room from, and false while the
// room is not ready to be read.
func (r *room) cursor() (codec.ID, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.cursor, r.mu.ready
}

// idleSince returns how long the room has had no viewers, or zero.
func (r *room) idleSince(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.viewers > 0 {
		return 0
	}
	return now.Sub(r.mu.emptySince)
}

// countLocked adds delta to the viewer counts of loop and of encoding enc
// in tier t.
func (r *room) countLocked(loop, enc int, t Tier, delta int) {
	v := variant(enc, t)
	r.mu.perLoop = grow(r.mu.perLoop, loop)
	r.mu.perVariant = grow(r.mu.perVariant, v)
	r.mu.perLoop[loop] += delta
	r.mu.perVariant[v] += delta
	r.mu.viewers += delta
	if r.mu.viewers == 0 {
		r.mu.emptySince = time.Now()
	}
}

func grow[T any](s []T, i int) []T {
	for len(s) <= i {
		var zero T
		s = append(s, zero)
	}
	return s
}

// start finds the newest entry of the room's stream, makes the room ready
// to be read from there, and completes the joins that waited for it.
func (r *room) start() {
	h := r.hub
	backoff := 50 * time.Millisecond
	var last codec.ID
	for {
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.IOTimeout)
		id, err := h.log.Last(ctx, r.name)
		cancel()
		if err == nil {
			last = id
			break
		}
		if h.room(r.name) != r {
			return // nobody waits any more
		}
		h.stats.ReadErrors.Add(1)
		h.logger.Warn("fanout: cannot find the newest entry of a room", "room", r.name, "err", err)
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
	r.mu.Lock()
	r.mu.ready = true
	r.mu.cursor = last
	r.mu.dispatched = last
	waiting := r.mu.waiting
	r.mu.waiting = nil
	r.mu.recent.reset(last)
	var now, gap []*Subscription
	for _, sub := range waiting {
		sub.waiting = false
		switch {
		case sub.since == nil || *sub.since == last:
			now = append(now, sub)
		case sub.since.Less(last):
			r.requestReplayLocked(sub, *sub.since)
		default:
			// The log holds no such entry: it was reset, or the ID comes
			// from elsewhere.
			gap = append(gap, sub)
		}
	}
	r.mu.Unlock()
	activateAll(now, &replayed{})
	activateAll(gap, &replayed{gap: true, through: last})
	h.follow()
}

// push adds entries read from the stream and flushes or schedules a flush.
// The entries are decoded before the room's lock is taken.
func (r *room) push(p *stream.Page) {
	h := r.hub
	entries := decode(p.Entries)
	r.mu.Lock()
	r.mu.gap = r.mu.gap || p.Gap
	if n := len(p.Entries); n > 0 {
		r.mu.cursor = p.Entries[n-1].ID
	}
	r.mu.recent.add(entries, p.Gap)
	known := len(r.mu.pending.messages)
	r.mu.pending.add(entries)
	h.skipped.Add(uint64(r.mu.pending.skipped))
	r.mu.pending.skipped = 0
	r.dropRetriesLocked(known)
	var dropped int
	r.mu.pending.messages, dropped = capBatch(r.mu.pending.messages, h.cfg.MaxBatch)
	r.mu.dropped += dropped
	h.stats.Dropped.Add(uint64(dropped))
	flushNow := false
	if (len(r.mu.pending.messages) > 0 || len(r.mu.pending.deletes) > 0 || r.mu.gap) && !r.mu.armed {
		r.mu.armed = true
		if wait := time.Until(r.mu.lastFlush.Add(r.windowLocked())); wait > 0 {
			time.AfterFunc(wait, r.flush)
		} else {
			flushNow = true
		}
	}
	r.mu.Unlock()
	if flushNow {
		r.flush()
	}
}

// dropRetriesLocked removes from the pending messages after index from
// those whose retry key was already read within DedupWindow: the stored
// copies of a retried POST by the same author (see codec.RetryKey).
func (r *room) dropRetriesLocked(from int) {
	h := r.hub
	messages := r.mu.pending.messages
	kept := messages[:from]
	now := time.Now().UnixNano()
	window := int64(h.cfg.DedupWindow)
	for _, it := range messages[from:] {
		if key := codec.RetryKey(&it.Message); key != "" {
			if first, ok := r.mu.seen[key]; ok && now-first < window {
				h.duplicates.Add(1)
				continue
			}
			if r.mu.seen == nil {
				r.mu.seen = make(map[string]int64)
			}
			r.mu.seen[key] = now
		}
		kept = append(kept, it)
	}
	r.mu.pending.messages = kept
	if len(r.mu.seen) > 0 && now-r.mu.seenPruned > window {
		for key, first := range r.mu.seen {
			if now-first >= window {
				delete(r.mu.seen, key)
			}
		}
		r.mu.seenPruned = now
	}
}

// flush hands the pending entries to every loop with viewers of the room,
// encoded once per encoding and tier those viewers use.
func (r *room) flush() {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	r.mu.armed = false
	pending := r.mu.pending
	if len(pending.messages) == 0 && len(pending.deletes) == 0 && !r.mu.gap {
		r.mu.Unlock()
		return
	}
	r.mu.pending = sorted{}
	// The batch covers the stream up to the room's cursor: control
	// records and skipped entries count as delivered too.
	last := r.mu.cursor
	b := codec.Batch{Room: r.name, Dropped: r.mu.dropped, Gap: r.mu.gap, Deletes: pending.deletes, Last: last}
	r.mu.dropped, r.mu.gap = 0, false
	r.mu.dispatched = last
	r.mu.seq++
	seq := r.mu.seq
	flushed := time.Now()
	r.mu.lastFlush = flushed
	targets, need := r.targetsLocked()
	b.Items = priorityFirst(pending.messages)
	prio := countPriority(b.Items)
	// What each tier keeps of the batch, its budget spent and what it
	// left out counted under the room's lock; the batches themselves are
	// built after.
	var keep, owed [Tiers]int
	normal := len(b.Items) - prio
	for t := range Tiers {
		tier, state := Tier(t), &r.mu.tiers[t]
		switch {
		case !usedLocked(need, tier):
			state.owed = 0
			continue
		case tier == TierFull:
			keep[t] = normal
		case tier.Thinned():
			keep[t] = state.take(tier.Rate(), normal, flushed)
		}
		if silent(&b, prio, keep[t]) {
			state.owed += normal
		} else {
			owed[t], state.owed = state.owed, 0
		}
	}
	viewers := r.mu.viewers
	r.mu.Unlock()
	if len(targets) == 0 {
		return
	}
	info := batchInfo{messages: len(pending.messages), flushed: flushed.UnixNano()}
	var first codec.ID
	if n := len(pending.messages); n > 0 {
		first = pending.messages[0].ID
		info.newestMS = pending.messages[n-1].ID.MS
	}
	stats := r.hub.stats
	stats.Batches.Add(1)
	stats.BatchSize.Observe(int64(info.messages))
	// The batch's span ends once every target loop has written it.
	bt := r.startBatchTrace(b.Items, len(targets), need, viewers)
	var tiers [Tiers]*codec.Batch
	for t := range Tiers {
		if usedLocked(need, Tier(t)) {
			tiers[t] = thin(&b, prio, keep[t], owed[t])
		}
	}
	r.dispatch(targets, need, func(dst []byte, e Encoder, t Tier) []byte {
		if tiers[t] == nil {
			return dst
		}
		return e.AppendBatch(dst, tiers[t])
	}, func(t Tier) *codec.Batch { return tiers[t] },
		func(f *Frames) {
			f.Kind, f.Seq, f.First, f.Last = KindBatch, seq, first, last
			f.Priority = prio > 0 || len(b.Deletes) > 0 || b.Gap
			f.stats, f.info, f.trace = stats, info, bt
			for t, tb := range tiers {
				if tb != nil {
					f.messages[t] = int32(len(tb.Items))
				}
			}
		})
}

// countPriority returns how many of items, priority ones first
// (priorityFirst), have a priority.
func countPriority(items []codec.Item) int {
	n := 0
	for n < len(items) && items[n].Priority() {
		n++
	}
	return n
}

// usedLocked reports whether a viewer of any encoding is in tier t, given
// need (targetsLocked).
func usedLocked(need []bool, t Tier) bool {
	for v := int(t); v < len(need); v += Tiers {
		if need[v] {
			return true
		}
	}
	return false
}

// sendOnline hands the room's fleet-wide viewer count to its viewers, in
// the full tier of every encoding they use, whatever their tier.
func (r *room) sendOnline(count int) {
	r.mu.Lock()
	r.mu.online = count
	targets, need := r.targetsLocked()
	r.mu.Unlock()
	for v := range need {
		if need[v] && v%Tiers != int(TierFull) {
			need[v-v%Tiers] = true
			need[v] = false
		}
	}
	r.dispatch(targets, need, func(dst []byte, e Encoder, _ Tier) []byte { return e.AppendOnline(dst, r.name, count) },
		nil, func(f *Frames) { f.Kind = KindEvent })
}

// targetsLocked returns the loops that hold viewers of the room and which
// variants (encoding and tier) those viewers use.
func (r *room) targetsLocked() (targets []int, need []bool) {
	for i, n := range r.mu.perLoop {
		if n > 0 {
			targets = append(targets, i)
		}
	}
	if len(targets) > 0 {
		need = make([]bool, len(r.mu.perVariant))
		for i, n := range r.mu.perVariant {
			need[i] = n > 0
		}
	}
	return targets, need
}

// dispatch builds one frame per needed variant with build into one
// Frames, which fill labels, and hands it to every target loop. same,
// when not nil, returns what a tier's frames are built from: tiers built
// from the same batch share their bytes, encoded once.
func (r *room) dispatch(targets []int, need []bool, build func([]byte, Encoder, Tier) []byte,
	same func(Tier) *codec.Batch, fill func(*Frames)) {
	if len(targets) == 0 {
		return
	}
	loops, encoders := r.hub.snapshot()
	f := newFrames(len(encoders))
	f.Room, f.room = r.name, r
	fill(f)
	encoded := 0
	for i, e := range encoders {
		for t := range Tiers {
			v := variant(i, Tier(t))
			if v >= len(need) || !need[v] {
				continue
			}
			if of, ok := sameAs(i, Tier(t), need, same); ok {
				f.share(v, of)
				continue
			}
			f.encode(v, func(dst []byte) []byte { return build(dst, e, Tier(t)) })
			encoded++
		}
	}
	r.hub.stats.Encoded.Add(uint64(encoded))
	f.seal(len(targets))
	for _, i := range targets {
		loops[i].Deliver(f)
	}
}

// sameAs returns an earlier tier's variant of encoding enc that is built
// from the same batch as tier t, if any.
func sameAs(enc int, t Tier, need []bool, same func(Tier) *codec.Batch) (int, bool) {
	if same == nil {
		return 0, false
	}
	b := same(t)
	for earlier := range t {
		if v := variant(enc, earlier); need[v] && same(earlier) == b {
			return v, true
		}
	}
	return 0, false
}
