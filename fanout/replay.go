package fanout

import (
	"context"
	"sync"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// A viewer that joins with since first gets what the stream holds after
// since, then the live batches. Replays are what a hostile client would
// make the server do for free (join with since=0, leave, again), and what a
// whole room asks for at once after an edge restarts, so they are bounded
// and shared:
//
//   - From memory: a position the room's recent entries cover (recent.go)
//     is replayed at once on the viewer's executor, with no stream read.
//   - Shared: viewers of a room resuming from the same position wait in
//     one replayGroup, served by one read.
//   - Bounded: a room has at most one read in flight, the hub at most
//     Config.ReplayReads; further groups wait in a queue, not in
//     goroutines.
//   - Cancelled: a viewer that leaves leaves its group; a group that
//     loses its last viewer is dropped, its read cancelled.

// replayGroup is the viewers of one room waiting for the replay after one
// position. Its fields are guarded by the room's mu.
type replayGroup struct {
	room  *room
	since codec.ID
	subs  []*Subscription
	// started is set when the read begins: viewers may join the group
	// only before, because the read covers the batches up to the moment
	// it begins (through, throughSeq), and no later.
	started bool
	cancel  context.CancelFunc
}

// replayed is what a joining viewer is sent before the live batches. It is
// shared by the viewers of a group and immutable.
type replayed struct {
	messages []codec.Item
	deletes  []string
	gap      bool
	// through is the stream position the replay covers.
	through codec.ID
	// throughSeq is the room's batch sequence number when the replay's
	// stream position was taken: live batches up to it are covered by
	// the replay.
	throughSeq uint64
}

// replayQueue bounds the stream reads of replays across the hub.
type replayQueue struct {
	mu struct {
		sync.Mutex
		running int
		waiting []*replayGroup
	}
}

// requestReplayLocked makes sub wait for the replay after since: in the
// room's group for since if one has not started reading, or in a new one.
// The room's mu is held.
func (r *room) requestReplayLocked(sub *Subscription, since codec.ID) {
	g := r.mu.replays[since]
	if g == nil {
		g = &replayGroup{room: r, since: since}
		if r.mu.replays == nil {
			r.mu.replays = make(map[codec.ID]*replayGroup)
		}
		r.mu.replays[since] = g
	}
	g.subs = append(g.subs, sub)
	sub.group = g
	r.hub.stats.ReplaysRequested.Add(1)
	if !r.mu.replaying {
		r.mu.replaying = true
		r.hub.queue(g)
	}
}

// leaveGroupLocked takes sub out of the group it waits in. A group left
// empty is dropped, its read cancelled if it began. The room's mu is held.
func (r *room) leaveGroupLocked(sub *Subscription) {
	g := sub.group
	if g == nil {
		return
	}
	sub.group = nil
	for i, s := range g.subs {
		if s == sub {
			g.subs = append(g.subs[:i], g.subs[i+1:]...)
			break
		}
	}
	if len(g.subs) > 0 {
		return
	}
	if g.started {
		g.cancel()
	} else if r.mu.replays[g.since] == g {
		delete(r.mu.replays, g.since)
	}
}

// queue runs g's read now if fewer than ReplayReads run, or later.
func (h *Hub) queue(g *replayGroup) {
	q := &h.replays
	q.mu.Lock()
	if q.mu.running >= h.cfg.ReplayReads {
		q.mu.waiting = append(q.mu.waiting, g)
		q.mu.Unlock()
		return
	}
	q.mu.running++
	q.mu.Unlock()
	go h.runReplays(g)
}

// runReplays reads g's replay, then the next waiting group's, until none
// waits.
func (h *Hub) runReplays(g *replayGroup) {
	q := &h.replays
	for {
		h.readReplay(g)
		q.mu.Lock()
		if len(q.mu.waiting) == 0 {
			q.mu.running--
			q.mu.Unlock()
			return
		}
		g = q.mu.waiting[0]
		q.mu.waiting[0] = nil
		q.mu.waiting = q.mu.waiting[1:]
		q.mu.Unlock()
	}
}

// readReplay reads the replay of g, hands it to g's viewers, and queues the
// room's next group, if any.
func (h *Hub) readReplay(g *replayGroup) {
	r := g.room
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.IOTimeout)
	defer cancel()
	r.mu.Lock()
	if r.mu.replays[g.since] == g {
		delete(r.mu.replays, g.since)
	}
	g.started, g.cancel = true, cancel
	through, throughSeq := r.mu.dispatched, r.mu.seq
	empty := len(g.subs) == 0
	// An earlier read may have brought the position into memory.
	cached, fromMemory := r.mu.recent.span(g.since, through)
	r.mu.Unlock()

	rp := &replayed{throughSeq: throughSeq, through: through}
	switch {
	case empty:
	case fromMemory:
		rp.messages, rp.deletes = h.visible(cached)
	default:
		h.stats.ReplayReads.Add(1)
		page, err := h.log.Range(ctx, stream.Query{
			Room: r.name, After: g.since, Through: through,
			Limit: h.cfg.ReplayLimit, Newest: true,
		})
		switch {
		case err != nil && ctx.Err() == context.Canceled:
			// Every viewer left.
		case err != nil:
			h.stats.ReadErrors.Add(1)
			h.logger.Warn("fanout: replay failed; reporting a gap", "room", r.name, "err", err)
			rp.gap = true
		default:
			entries := decode(page.Entries)
			rp.messages, rp.deletes = h.visible(entries)
			rp.gap = page.Gap
			if !page.Gap {
				r.mu.Lock()
				r.mu.recent.seed(g.since, through, entries)
				r.mu.Unlock()
			}
		}
	}

	r.mu.Lock()
	subs := g.subs
	g.subs = nil
	for _, sub := range subs {
		sub.group = nil
	}
	var next *replayGroup
	for _, pending := range r.mu.replays {
		next = pending
		break
	}
	r.mu.replaying = next != nil
	r.mu.Unlock()
	if next != nil {
		h.queue(next)
	}
	activateAll(subs, rp)
}

// activateAll hands rp to subs on their loops: one Frames, encoded once
// per encoding they use, and one Loop.Replay per loop, however many
// viewers.
func activateAll(subs []*Subscription, rp *replayed) {
	activate(KindReplay, subs, rp)
}

// activate hands rp, as Frames of kind, to subs on their loops.
func activate(kind Kind, subs []*Subscription, rp *replayed) {
	if len(subs) == 0 {
		return
	}
	r := subs[0].room
	byLoop := make(map[int][]*Subscription)
	for _, sub := range subs {
		byLoop[sub.loop] = append(byLoop[sub.loop], sub)
	}
	f := r.encodeReplay(kind, rp, subs, len(byLoop))
	loops, _ := r.hub.snapshot()
	for i, list := range byLoop {
		loops[i].Replay(f, list)
	}
}

// encodeReplay returns the Frames of rp, of kind, for the encodings of
// subs, to be released by holders holders. A replay goes in frames of at
// most MaxBatch messages, the deletes with the last.
func (r *room) encodeReplay(kind Kind, rp *replayed, subs []*Subscription, holders int) *Frames {
	_, encoders := r.hub.snapshot()
	f := newFrames(len(encoders))
	f.Room, f.room, f.Kind, f.Seq = r.name, r, kind, rp.throughSeq
	if len(rp.messages) > 0 || len(rp.deletes) > 0 || rp.gap {
		done := make([]bool, len(encoders))
		for _, sub := range subs {
			if done[sub.enc] {
				continue
			}
			done[sub.enc] = true
			e, v := encoders[sub.enc], variant(sub.enc, TierFull)
			f.encode(v, func(dst []byte) []byte { return appendReplay(dst, f, v, e, rp, r.hub.cfg.MaxBatch) })
		}
	}
	f.seal(holders)
	return f
}

// appendReplay appends the frames of rp in variant v, encoder e, to dst,
// the buffer of f, cutting it after each frame but the last. Each frame
// covers the stream up to its newest message, the last one up to the
// replay's position.
func appendReplay(dst []byte, f *Frames, v int, e Encoder, rp *replayed, maxBatch int) []byte {
	messages, gap := rp.messages, rp.gap
	for first := true; first || len(messages) > 0; first = false {
		if !first {
			f.buf = dst
			f.cut(v)
		}
		n := min(len(messages), maxBatch)
		b := codec.Batch{Room: f.Room, Items: messages[:n], Gap: gap, Last: rp.through}
		if n == len(messages) {
			b.Deletes = rp.deletes
		} else {
			b.Last = messages[n-1].ID
		}
		dst = e.AppendBatch(dst, &b)
		messages, gap = messages[n:], false
	}
	return dst
}

// visible sorts decoded stream entries into what a viewer is replayed,
// counting the entries it leaves out.
func (h *Hub) visible(entries []codec.Entry) (messages []codec.Item, deletes []string) {
	messages, deletes, skipped := codec.Visible(entries)
	h.skipped.Add(uint64(skipped))
	return messages, deletes
}

// checkAhead handles a join whose since is newer than what the room has
// delivered: when the log has no such entry (it was reset, or the ID is
// from elsewhere) the viewer is told of a gap and goes live at once
// (KindAhead); otherwise its loop asks for the replay when a batch
// reaches since.
func (h *Hub) checkAhead(sub *Subscription, since codec.ID) {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.IOTimeout)
	last, err := h.log.Last(ctx, sub.room.name)
	cancel()
	if err == nil && !last.Less(since) {
		return
	}
	if err != nil {
		h.stats.ReadErrors.Add(1)
		h.logger.Warn("fanout: cannot check a join's since; reporting a gap", "room", sub.room.name, "err", err)
	}
	activate(KindAhead, []*Subscription{sub}, &replayed{gap: true, throughSeq: sub.afterSeq, through: last})
}
