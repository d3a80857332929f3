package fanout

import (
	"bytes"
	"context"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/stream"
)

// Shard holds the viewers owned by one Executor. All its methods must be
// called on that Executor.
type Shard struct {
	// Immutable after NewShard.
	hub   *Hub
	exec  Executor
	index int

	// Owned by exec.
	members map[*room][]*Sub
	// walking counts the walks of a member list in progress; the members
	// that leave meanwhile are removed from their list once none is.
	walking        int
	leftDuringWalk []*Sub
	scratch        []byte // replay frames; valid until the next replay
	notice         []byte // gap notices; valid until the next notice
}

// Sub is one viewer's subscription to one room.
type Sub struct {
	// Immutable after Join.
	room   *room
	shard  *Shard
	viewer Viewer
	enc    int
	since  *stream.ID

	// Owned by the shard's executor.
	index    int    // position in shard.members[room]
	afterSeq uint64 // batches up to this one predate the subscription
	live     bool   // false while a replay is being fetched
	left     bool
	buffered [][]byte // live frames that arrived during the replay
	// waitFor is the since of a viewer that knows entries this hub has
	// not delivered yet: it waits, not live, for the first batch that
	// reaches it, and is then replayed up to that batch.
	waitFor *stream.ID
	// missed is set when Send skipped a frame: the next frame is preceded
	// by a gap notice.
	missed bool
}

// Room returns the name of the subscribed room.
func (s *Sub) Room() string { return s.room.name }

// Join subscribes v to room in the wire format enc (an index returned by
// RegisterEncoder). With since, the viewer first gets what the stream still
// holds after that ID, then the live batches, with nothing missed or
// repeated at the seam. Viewer.Joined reports when the subscription is
// live; it may be called before Join returns.
func (s *Shard) Join(name string, v Viewer, enc int, since *stream.ID) *Sub {
	h := s.hub
	sub := &Sub{shard: s, viewer: v, enc: enc, since: since}

	h.mu.Lock()
	r := h.mu.rooms[name]
	created := r == nil
	if created {
		r = &room{name: name, hub: h}
		h.mu.rooms[name] = r
	}
	sub.room = r
	r.mu.Lock()
	h.mu.Unlock()
	r.countLocked(s.index, enc, 1)
	sub.afterSeq = r.mu.seq
	ready, dispatched := r.mu.ready, r.mu.dispatched
	if !ready {
		r.mu.waiting = append(r.mu.waiting, sub)
	}
	r.mu.Unlock()

	sub.index = len(s.members[r])
	s.members[r] = append(s.members[r], sub)
	switch {
	case created:
		go r.start()
	case !ready:
		// r.start completes the join.
	case since == nil || *since == dispatched:
		sub.live = true
		v.Joined(name)
	case since.Less(dispatched):
		go h.replay(sub, *since, dispatched)
	default:
		sub.waitFor = since
		go h.checkAhead(sub, *since)
	}
	return sub
}

// Leave ends sub. It is safe to call more than once, and from a Viewer's
// Send: a failed write closes a connection at once.
func (s *Shard) Leave(sub *Sub) {
	if sub.left {
		return
	}
	sub.left = true
	sub.buffered = nil
	if s.walking > 0 {
		// The member list being walked must not change under the walk:
		// the removal waits for it to end.
		s.leftDuringWalk = append(s.leftDuringWalk, sub)
	} else {
		s.remove(sub)
	}
	r := sub.room
	r.mu.Lock()
	r.countLocked(s.index, sub.enc, -1)
	for i, w := range r.mu.waiting {
		if w == sub {
			r.mu.waiting = append(r.mu.waiting[:i], r.mu.waiting[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
}

// remove takes sub out of its room's member list.
func (s *Shard) remove(sub *Sub) {
	r := sub.room
	list := s.members[r]
	last := len(list) - 1
	list[sub.index] = list[last]
	list[sub.index].index = sub.index
	list[last] = nil
	if last == 0 {
		delete(s.members, r)
	} else {
		s.members[r] = list[:last]
	}
}

// walk calls fn for each member of room r that has not left; members may
// leave meanwhile.
func (s *Shard) walk(r *room, fn func(*Sub)) {
	s.walking++
	for _, sub := range s.members[r] {
		if !sub.left {
			fn(sub)
		}
	}
	s.walking--
	if s.walking == 0 && len(s.leftDuringWalk) > 0 {
		for _, sub := range s.leftDuringWalk {
			s.remove(sub)
		}
		clear(s.leftDuringWalk)
		s.leftDuringWalk = s.leftDuringWalk[:0]
	}
}

// deliver writes one batch's frames to the room's viewers on this shard.
// last is the ID of the batch's newest entry (zero for a gap notice alone).
func (s *Shard) deliver(r *room, seq uint64, last stream.ID, frames [][]byte, info batchInfo) {
	sent := 0
	s.walk(r, func(sub *Sub) {
		if seq <= sub.afterSeq || sub.enc >= len(frames) || frames[sub.enc] == nil {
			return
		}
		switch {
		case sub.waitFor != nil:
			// Batches before the viewer's since hold nothing new for it;
			// the first one reaching it is replayed, cut at since.
			if last.IsZero() || last.Less(*sub.waitFor) {
				return
			}
			since := *sub.waitFor
			sub.waitFor = nil
			sub.afterSeq = seq
			go s.hub.replay(sub, since, last)
		case !sub.live:
			sub.buffered = append(sub.buffered, bytes.Clone(frames[sub.enc]))
		default:
			if sub.send(frames[sub.enc]) {
				sent++
			}
		}
	})
	if sent > 0 {
		s.hub.stats.countDelivery(sent, info)
	}
}

// deliverEvent writes an event that is not part of the room's message
// sequence (an online count) to the room's live viewers on this shard.
func (s *Shard) deliverEvent(r *room, frames [][]byte) {
	s.walk(r, func(sub *Sub) {
		if sub.live && sub.enc < len(frames) && frames[sub.enc] != nil {
			sub.send(frames[sub.enc])
		}
	})
}

// send writes frame to the viewer, preceded by a gap notice when an
// earlier frame was skipped, and reports whether the frame was written.
func (sub *Sub) send(frame []byte) bool {
	if sub.missed {
		s := sub.shard
		_, encoders := s.hub.snapshot()
		b := codec.Batch{Room: sub.room.name, Gap: true}
		s.notice = encoders[sub.enc].AppendBatch(s.notice[:0], &b)
		if !sub.viewer.Send(s.notice) {
			return false
		}
		sub.missed = false
	}
	sub.missed = !sub.viewer.Send(frame)
	return !sub.missed
}

// checkAhead handles a join whose since is newer than what the room has
// delivered: when the log has no such entry (it was reset, or the ID is
// from elsewhere) the viewer is told of a gap and goes live at once;
// otherwise deliver replays the viewer when a batch reaches since.
func (h *Hub) checkAhead(sub *Sub, since stream.ID) {
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
	sub.shard.exec.Execute(func() {
		if sub.waitFor == nil {
			return // a batch reached since meanwhile
		}
		sub.waitFor = nil
		sub.activate(&replayed{gap: true})
	})
}

// replay reads what the stream holds after since, up to through (the last
// entry dispatched before the subscription), and hands it to the viewer's
// executor. It runs on its own goroutine: it does I/O.
func (h *Hub) replay(sub *Sub, since, through stream.ID) {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.IOTimeout)
	page, err := h.log.Range(ctx, stream.Query{
		Room: sub.room.name, After: since, Through: through,
		Limit: h.cfg.ReplayLimit, Newest: true,
	})
	cancel()
	if err != nil {
		h.stats.ReadErrors.Add(1)
		h.logger.Warn("fanout: replay failed; reporting a gap", "room", sub.room.name, "err", err)
		page = stream.Page{Room: sub.room.name, Gap: true}
	}
	messages, deletes, skipped := codec.Visible(items(page.Entries))
	h.skipped.Add(uint64(skipped))
	rp := &replayed{messages: messages, deletes: deletes, gap: page.Gap}
	sub.shard.exec.Execute(func() { sub.activate(rp) })
}

// replayed is what a joining viewer is sent before the live batches.
type replayed struct {
	messages []codec.Item
	deletes  []string
	gap      bool
}

// activate makes sub live: it reports the join, sends the replay in frames
// of at most MaxBatch messages (the deletes with the last), then the live
// frames gathered meanwhile.
func (sub *Sub) activate(rp *replayed) {
	if sub.left || sub.live {
		return
	}
	s := sub.shard
	sub.live = true
	sub.viewer.Joined(sub.room.name)
	if rp != nil && (len(rp.messages) > 0 || len(rp.deletes) > 0 || rp.gap) {
		_, encoders := s.hub.snapshot()
		enc := encoders[sub.enc]
		messages, gap := rp.messages, rp.gap
		for first := true; first || len(messages) > 0; first = false {
			n := min(len(messages), s.hub.cfg.MaxBatch)
			b := codec.Batch{Room: sub.room.name, Items: messages[:n], Gap: gap}
			if n == len(messages) {
				b.Deletes = rp.deletes
			}
			s.scratch = enc.AppendBatch(s.scratch[:0], &b)
			sub.send(s.scratch)
			messages, gap = messages[n:], false
		}
	}
	for _, f := range sub.buffered {
		sub.send(f)
	}
	sub.buffered = nil
}
