package edge

import (
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// audience is what a shard writes to: a viewer's connection (conn).
type audience interface {
	// Send writes one frame. The frame is shared with every viewer of the
	// same encoding and tier: it must not be modified, nor kept after
	// Send returns. Send reports false when it skipped the frame (the
	// viewer is too far behind: past SoftOutbound, or for an urgent
	// frame, one of the priority-only tier, past HardOutbound, which
	// cuts it). It may close the connection, which then leaves its rooms
	// before Send returns (shard.leave allows it).
	Send(frame []byte, urgent bool) bool
	// Drained reports whether the viewer's backlog has drained enough
	// for its own tier again.
	Drained() bool
	// Joined reports that the subscription to room is live: every batch
	// after this call reaches the viewer. A replay, if one was asked for,
	// follows at once. It may close the connection too.
	Joined(room string)
}

// executor runs fn on the goroutine that owns a shard, in the order
// Execute was called. fn must not block. An event loop is one.
type executor interface {
	Execute(fn func())
}

// shard is one event loop's registry of viewers: who watches which room,
// in which encoding, and where each stands in its room's sequence. It
// satisfies fanout.Loop: the hub hands it Frames, which it writes to its
// viewers, on its loop. Apart from Deliver and Replay, every method runs
// on the loop.
type shard struct {
	// Immutable after newShard.
	hub   *fanout.Hub
	exec  executor
	index int
	stats *Stats

	// Owned by the loop.
	rooms map[string][]*member
	subs  map[*fanout.Subscription]*member
	// walking counts the walks of a member list in progress; the members
	// that leave meanwhile are removed from their list once none is.
	walking        int
	leftDuringWalk []*member
}

// member is one viewer's subscription to one room.
type member struct {
	// Immutable after join.
	shard  *shard
	sub    *fanout.Subscription
	viewer audience
	room   string
	enc    int

	// Owned by the loop.
	index    int    // position in shard.rooms[room]
	afterSeq uint64 // batches up to this one predate the subscription
	live     bool   // false while a replay is being fetched
	left     bool
	// buffered holds the live batches that arrived during the replay, at
	// most maxBuffered, retained until sent or dropped.
	buffered []*fanout.Frames
	// waitFor is the since of a viewer that knows entries the hub has
	// not delivered yet: it waits, not live, for the first batch that
	// reaches it, and is then replayed up to that batch.
	waitFor *codec.ID
	// missed is set when Send skipped a frame: the next frame is preceded
	// by a gap notice.
	missed bool
	// want is the tier the viewer asked for (full or thinned), and tier
	// the one the hub counts it in: want, or TierPriority while it is
	// too slow for want. The batches numbered up to tierSeq were built
	// for prevTier: a move waits until the loop has seen a batch after
	// tierSeq, so that only one is ever in flight.
	want, tier, prevTier fanout.Tier
	tierSeq              uint64
}

// maxBuffered caps the live batches kept for a viewer waiting for its
// replay: past it they are dropped and the viewer is told of a gap, so a
// replay that waits long in the queue costs no more memory.
const maxBuffered = 64

// newShard returns the registry of the viewers owned by exec, attached to
// hub.
func newShard(hub *fanout.Hub, exec executor, stats *Stats) *shard {
	s := &shard{hub: hub, exec: exec, stats: stats, rooms: make(map[string][]*member), subs: make(map[*fanout.Subscription]*member)}
	s.index = hub.Attach(s)
	return s
}

// join subscribes v to room in the wire format enc (an index the hub's
// RegisterEncoder returned). With since, the viewer first gets what the
// stream still holds after that ID, then the live batches, with nothing
// missed or repeated at the seam. v.Joined reports when the subscription
// is live; it may be called before join returns.
func (s *shard) join(room string, v audience, enc int, tier fanout.Tier, since *codec.ID) *member {
	sub, start := s.hub.Subscribe(room, s.index, enc, tier, since)
	m := &member{shard: s, sub: sub, viewer: v, room: room, enc: enc, afterSeq: start.AfterSeq, waitFor: start.WaitFor,
		want: tier, tier: tier, prevTier: tier}
	s.stats.countMember(tier, 1)
	m.index = len(s.rooms[room])
	s.rooms[room] = append(s.rooms[room], m)
	s.subs[sub] = m
	switch {
	case start.Live:
		m.live = true
		v.Joined(room)
	case start.Replay != nil:
		m.activate(start.Replay)
		start.Replay.Release()
	}
	return m
}

// leave ends m. It is safe to call more than once, and from a viewer's
// Send, during a walk over m's room or another: a failed write closes the
// connection at once and the edge leaves its rooms right there. The walk
// then removes m from the member list when it ends.
func (s *shard) leave(m *member) {
	if m.left {
		return
	}
	m.left = true
	m.dropBuffered()
	s.stats.countMember(m.tier, -1)
	if s.walking > 0 {
		// The member list being walked must not change under the walk:
		// the removal waits for it to end.
		s.leftDuringWalk = append(s.leftDuringWalk, m)
	} else {
		s.remove(m)
	}
	delete(s.subs, m.sub)
	s.hub.Unsubscribe(m.sub)
}

// remove takes m out of its room's member list.
func (s *shard) remove(m *member) {
	list := s.rooms[m.room]
	last := len(list) - 1
	list[m.index] = list[last]
	list[m.index].index = m.index
	list[last] = nil
	if last == 0 {
		delete(s.rooms, m.room)
	} else {
		s.rooms[m.room] = list[:last]
	}
}

// walk calls fn for each member of room that has not left; members may
// leave meanwhile.
func (s *shard) walk(room string, fn func(*member)) {
	s.walking++
	for _, m := range s.rooms[room] {
		if !m.left {
			fn(m)
		}
	}
	s.walking--
	if s.walking == 0 && len(s.leftDuringWalk) > 0 {
		for _, m := range s.leftDuringWalk {
			s.remove(m)
		}
		clear(s.leftDuringWalk)
		s.leftDuringWalk = s.leftDuringWalk[:0]
	}
}

// Deliver hands f to the loop. It satisfies fanout.Loop.
func (s *shard) Deliver(f *fanout.Frames) {
	s.exec.Execute(func() {
		s.deliver(f)
		f.Release()
	})
}

// Replay hands the replay f of subs to the loop. It satisfies fanout.Loop.
func (s *shard) Replay(f *fanout.Frames, subs []*fanout.Subscription) {
	s.exec.Execute(func() {
		for _, sub := range subs {
			m := s.subs[sub]
			switch {
			case m == nil:
				// The viewer left.
			case f.Kind == fanout.KindAhead && m.waitFor == nil:
				// A batch reached the viewer's since meanwhile: its
				// replay is on the way.
			default:
				m.waitFor = nil
				m.activate(f)
			}
		}
		f.Release()
	})
}

// deliver writes an event to the room's viewers on this loop: a batch to
// every viewer it is for, an online count to the live ones.
func (s *shard) deliver(f *fanout.Frames) {
	if f.Kind == fanout.KindEvent {
		s.walk(f.Room, func(m *member) {
			if frame := f.Frame(m.enc); m.live && frame != nil {
				if m.tier == fanout.TierPriority {
					m.viewer.Send(frame, true)
				} else {
					m.send(f, frame)
				}
			}
		})
		return
	}
	sent, messages := 0, 0
	// Counted here, once per batch: an atomic add per recipient on
	// counters the loops share would cost each write a contended cache
	// line.
	var byTier [fanout.Tiers]uint64
	s.walk(f.Room, func(m *member) {
		if f.Seq <= m.afterSeq {
			return
		}
		switch {
		case m.waitFor != nil:
			// Batches before the viewer's since hold nothing new for it;
			// the first one reaching it is replayed, cut at since.
			if f.Last.IsZero() || f.Last.Less(*m.waitFor) {
				return
			}
			since := *m.waitFor
			m.waitFor = nil
			m.afterSeq = f.Seq
			s.hub.RequestReplay(m.sub, since)
		case !m.live:
			if len(m.buffered) == maxBuffered {
				m.dropBuffered()
				m.missed = true
			}
			f.Retain()
			m.buffered = append(m.buffered, f)
		default:
			if ok, t := m.sendBatch(f); ok {
				sent++
				messages += f.Messages(t)
				byTier[t]++
			}
		}
	})
	for t, n := range byTier {
		if n > 0 {
			s.stats.countSent(fanout.Tier(t), n)
		}
	}
	f.Delivered(sent, messages)
}

// activate makes m live: it reports the join, sends the replay f, then the
// live batches held back meanwhile that the replay does not cover.
func (m *member) activate(f *fanout.Frames) {
	if m.left || m.live {
		return
	}
	m.live = true
	m.viewer.Joined(m.room)
	for _, frame := range f.Parts(m.enc) {
		if m.left {
			return
		}
		m.send(f, frame)
	}
	for _, b := range m.buffered {
		if b.Seq > f.Seq && !m.left {
			if ok, t := m.sendBatch(b); ok {
				m.shard.stats.countSent(t, 1)
			}
		}
	}
	m.dropBuffered()
}

// dropBuffered releases the batches held back for m.
func (m *member) dropBuffered() {
	for _, b := range m.buffered {
		b.Release()
	}
	clear(m.buffered)
	m.buffered = m.buffered[:0]
}

// send writes frame, of f, to the viewer, preceded by the room's gap notice
// when an earlier frame was skipped, and reports whether the frame was
// written.
func (m *member) send(f *fanout.Frames, frame []byte) bool {
	if m.missed {
		if notice := f.Notice(m.enc); len(notice) > 0 && !m.viewer.Send(notice, false) {
			return false
		}
		m.missed = false
	}
	m.missed = !m.viewer.Send(frame, false)
	return !m.missed
}

// sendBatch writes the batch f to the viewer in the tier f was built for
// it and reports whether a frame was written, and of which tier (the
// caller counts it). A viewer too slow for its tier moves to the
// priority-only one, where a frame is skipped only when
// the viewer cannot take even that (past HardOutbound, which cuts it); it
// returns to its tier, told of the gap, once its backlog drains.
func (m *member) sendBatch(f *fanout.Frames) (bool, fanout.Tier) {
	if m.tier == fanout.TierPriority && f.Seq > m.tierSeq && m.viewer.Drained() {
		m.setTier(m.want)
		m.shard.stats.TierReturns.Add(1)
	}
	settled := f.Seq > m.tierSeq
	built := m.tier
	if !settled {
		built = m.prevTier
	}
	frame := f.TierFrame(m.enc, built)
	switch {
	case frame == nil:
		// The tier has nothing of this batch.
		return false, built
	case built == fanout.TierPriority:
		return m.viewer.Send(frame, true), built
	case m.tier == fanout.TierPriority:
		// Built for the viewer's own tier before it moved: only what
		// every tier gets is worth writing past SoftOutbound.
		m.missed = true
		return f.Priority && m.viewer.Send(frame, true), built
	case m.send(f, frame):
		return true, built
	case m.left:
		return false, built
	}
	// Too slow for its tier. The frame skipped may hold what every tier
	// gets: it is written all the same, within HardOutbound.
	if settled {
		m.setTier(fanout.TierPriority)
		m.shard.stats.TierMoves.Add(1)
	}
	return f.Priority && m.viewer.Send(frame, true), built
}

// setTier moves m to tier t in the hub's counts.
func (m *member) setTier(t fanout.Tier) {
	stats := m.shard.stats
	stats.countMember(m.tier, -1)
	stats.countMember(t, 1)
	m.prevTier = m.tier
	m.tier = t
	m.tierSeq = m.shard.hub.SetTier(m.sub, t)
}
