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
	scratch []byte // replay frames; valid until the next replay
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
	live := ready && (since == nil || !since.Less(dispatched))
	if !ready {
		r.mu.waiting = append(r.mu.waiting, sub)
	}
	r.mu.Unlock()

	sub.index = len(s.members[r])
	s.members[r] = append(s.members[r], sub)
	switch {
	case created:
		go r.start()
	case live:
		sub.live = true
		v.Joined(name)
	case ready:
		go h.replay(sub, *since, dispatched)
	}
	return sub
}

// Leave ends sub. It is safe to call more than once.
func (s *Shard) Leave(sub *Sub) {
	if sub.left {
		return
	}
	sub.left = true
	sub.buffered = nil
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

// deliver writes one batch's frames to the room's viewers on this shard.
// Send must not join or leave synchronously: the member list is being
// walked.
func (s *Shard) deliver(r *room, seq uint64, frames [][]byte) {
	for _, sub := range s.members[r] {
		if seq <= sub.afterSeq || sub.enc >= len(frames) || frames[sub.enc] == nil {
			continue
		}
		if !sub.live {
			sub.buffered = append(sub.buffered, bytes.Clone(frames[sub.enc]))
			continue
		}
		sub.viewer.Send(frames[sub.enc])
	}
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
		h.logger.Warn("fanout: replay failed; reporting a gap", "room", sub.room.name, "err", err)
		page = stream.Page{Room: sub.room.name, Gap: true}
	}
	kept := page.Entries[:0:0]
	for _, e := range page.Entries {
		if wellFormed(e.Data) {
			kept = append(kept, e)
		} else {
			h.skipped.Add(1)
		}
	}
	page.Entries = kept
	sub.shard.exec.Execute(func() { sub.activate(&page) })
}

// activate makes sub live: it reports the join, sends the replay in frames
// of at most MaxBatch messages, then the live frames gathered meanwhile.
func (sub *Sub) activate(page *stream.Page) {
	if sub.left {
		return
	}
	s := sub.shard
	sub.live = true
	sub.viewer.Joined(sub.room.name)
	if page != nil && (len(page.Entries) > 0 || page.Gap) {
		_, encoders := s.hub.snapshot()
		enc := encoders[sub.enc]
		entries := page.Entries
		gap := page.Gap
		for first := true; first || len(entries) > 0; first = false {
			n := min(len(entries), s.hub.cfg.MaxBatch)
			b := codec.Batch{Room: sub.room.name, Items: items(entries[:n]), Gap: gap}
			s.scratch = enc.AppendBatch(s.scratch[:0], &b)
			sub.viewer.Send(s.scratch)
			entries, gap = entries[n:], false
		}
	}
	for _, f := range sub.buffered {
		sub.viewer.Send(f)
	}
	sub.buffered = nil
}
