package fanout

import (
	"bytes"

	"github.com/danmu-dev/danmu/codec"
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
	since  *codec.ID

	// Owned by the shard's executor.
	index    int    // position in shard.members[room]
	afterSeq uint64 // batches up to this one predate the subscription
	live     bool   // false while a replay is being fetched
	left     bool
	// buffered holds the live frames that arrived during the replay, at
	// most maxBuffered.
	buffered []bufferedFrame
	// waitFor is the since of a viewer that knows entries this hub has
	// not delivered yet: it waits, not live, for the first batch that
	// reaches it, and is then replayed up to that batch.
	waitFor *codec.ID
	// missed is set when Send skipped a frame: the next frame is preceded
	// by a gap notice.
	missed bool

	// Guarded by the room's mu.
	group *replayGroup // the replay the viewer waits for, or nil
}

// bufferedFrame is a live frame kept for a viewer whose replay is not done.
type bufferedFrame struct {
	seq   uint64
	frame []byte
}

// maxBuffered caps the live frames kept for a viewer waiting for its
// replay: past it they are dropped and the viewer is told of a gap, so a
// replay that waits long in the queue costs no more memory.
const maxBuffered = 64

// Room returns the name of the subscribed room.
func (s *Sub) Room() string { return s.room.name }

// Join subscribes v to room in the wire format enc (an index returned by
// RegisterEncoder). With since, the viewer first gets what the stream still
// holds after that ID, then the live batches, with nothing missed or
// repeated at the seam. Viewer.Joined reports when the subscription is
// live; it may be called before Join returns.
func (s *Shard) Join(name string, v Viewer, enc int, since *codec.ID) *Sub {
	h := s.hub
	sub := &Sub{shard: s, viewer: v, enc: enc, since: since}

	h.mu.Lock()
	r := h.mu.rooms[name]
	created := r == nil
	if created {
		r = &room{name: name, hub: h}
		r.mu.recent.capacity = h.cfg.ReplayCache
		h.mu.rooms[name] = r
	}
	sub.room = r
	r.mu.Lock()
	h.mu.Unlock()
	r.countLocked(s.index, enc, 1)
	sub.afterSeq = r.mu.seq
	ready, dispatched := r.mu.ready, r.mu.dispatched
	var fromMemory *replayed
	var entries []codec.Entry
	switch {
	case !ready:
		r.mu.waiting = append(r.mu.waiting, sub)
	case since == nil || *since == dispatched:
	case since.Less(dispatched):
		var ok bool
		if entries, ok = r.mu.recent.span(*since, dispatched); ok {
			fromMemory = &replayed{throughSeq: sub.afterSeq}
		} else {
			r.requestReplayLocked(sub, *since)
		}
	}
	r.mu.Unlock()
	if fromMemory != nil {
		// Sorted out of the room's lock: the flushes need it.
		h.stats.ReplaysFromMemory.Add(1)
		fromMemory.messages, fromMemory.deletes = h.visible(entries)
	}

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
	case fromMemory != nil:
		sub.activate(fromMemory)
	case since.Less(dispatched):
		// The group's read completes the join.
	default:
		sub.waitFor = since
		go h.checkAhead(sub, *since)
	}
	return sub
}

// Leave ends sub. It is safe to call more than once, and from a Viewer's
// Send, during a walk over sub's room or another: a failed write closes
// the connection at once and the edge leaves its rooms right there. The
// walk then removes sub from the member list when it ends.
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
	r.leaveGroupLocked(sub)
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
func (s *Shard) deliver(r *room, seq uint64, last codec.ID, frames [][]byte, info batchInfo) {
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
			r.mu.Lock()
			r.requestReplayLocked(sub, since)
			r.mu.Unlock()
		case !sub.live:
			if len(sub.buffered) == maxBuffered {
				clear(sub.buffered)
				sub.buffered = sub.buffered[:0]
				sub.missed = true
			}
			sub.buffered = append(sub.buffered, bufferedFrame{seq: seq, frame: bytes.Clone(frames[sub.enc])})
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
