package fanout

import (
	"github.com/danmu-dev/danmu/codec"
)

// Subscription is one viewer's subscription to one room, as the hub sees
// it: the loop that holds the viewer, its encoding, and where it waits for
// its replay. The loop keeps the rest (Loop).
type Subscription struct {
	// Immutable after Subscribe.
	room     *room
	loop     int
	enc      int
	since    *codec.ID
	afterSeq uint64 // Start.AfterSeq

	// Guarded by the room's mu.
	tier    Tier         // counted in this tier (SetTier)
	group   *replayGroup // the replay it waits for, or nil
	waiting bool         // in room.mu.waiting, until the room is ready
	left    bool
}

// Start tells a loop how a new subscription begins. Exactly one of these
// holds:
//   - Live: it is live at once; every batch numbered after AfterSeq
//     reaches it.
//   - Replay != nil: its replay, read from memory; send it, then the
//     batches after Replay.Seq. The loop releases Replay.
//   - WaitFor != nil: its since is newer than what the room has
//     delivered: skip the batches until one reaches WaitFor (Frames.Last),
//     then call RequestReplay. A Loop.Replay of KindAhead may end the wait
//     with a gap first.
//   - otherwise a Loop.Replay of KindReplay completes it.
//
// Until it is live, the batches after AfterSeq are for the loop to hold
// back and send after the replay, skipping those the replay covers.
type Start struct {
	AfterSeq uint64
	Live     bool
	Replay   *Frames
	WaitFor  *codec.ID
}

// Room returns the name of the subscribed room.
func (s *Subscription) Room() string { return s.room.name }

// Online returns the number of viewers of the subscribed room: the
// fleet-wide count last sent to them, or this hub's own count when that is
// higher (before the first count is sent, or after joins since). Protocols
// whose clients ask for the count, such as the Bilibili-compatible
// heartbeat, answer with it.
func (s *Subscription) Online() int {
	r := s.room
	r.mu.Lock()
	defer r.mu.Unlock()
	return max(r.mu.online, r.mu.viewers)
}

// Subscribe subscribes a viewer of loop (the index Attach returned) to
// room in encoding enc (an index RegisterEncoder returned) and tier t. With since,
// the viewer first gets what the stream still holds after that ID, then
// the live batches, with nothing missed or repeated at the seam. Start
// says how the subscription begins. Call it on the loop.
func (h *Hub) Subscribe(name string, loop, enc int, t Tier, since *codec.ID) (*Subscription, Start) {
	sub := &Subscription{loop: loop, enc: enc, since: since, tier: t}
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
	r.countLocked(loop, enc, t, 1)
	start := Start{AfterSeq: r.mu.seq}
	sub.afterSeq = start.AfterSeq
	ready, dispatched := r.mu.ready, r.mu.dispatched
	var entries []codec.Entry
	fromMemory := false
	switch {
	case !ready:
		sub.waiting = true
		r.mu.waiting = append(r.mu.waiting, sub)
	case since == nil || *since == dispatched:
		start.Live = true
	case since.Less(dispatched):
		if entries, fromMemory = r.mu.recent.span(*since, dispatched); !fromMemory {
			r.requestReplayLocked(sub, *since)
		}
	default:
		start.WaitFor = since
	}
	r.mu.Unlock()
	switch {
	case created:
		go r.start()
	case fromMemory:
		// Sorted and encoded out of the room's lock: the flushes need it.
		h.stats.ReplaysFromMemory.Add(1)
		rp := &replayed{throughSeq: start.AfterSeq, through: dispatched}
		rp.messages, rp.deletes = h.visible(entries)
		start.Replay = r.encodeReplay(KindReplay, rp, []*Subscription{sub}, 1)
	case start.WaitFor != nil:
		go h.checkAhead(sub, *since)
	}
	return sub, start
}

// RequestReplay asks for the replay after since of a subscription whose
// loop saw the first batch reaching since (Start.WaitFor). The loop then
// holds back the batches after that one until the replay comes.
func (h *Hub) RequestReplay(sub *Subscription, since codec.ID) {
	r := sub.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if !sub.left {
		r.requestReplayLocked(sub, since)
	}
}

// Unsubscribe ends sub. It is safe to call more than once.
func (h *Hub) Unsubscribe(sub *Subscription) {
	r := sub.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if sub.left {
		return
	}
	sub.left = true
	r.leaveGroupLocked(sub)
	r.countLocked(sub.loop, sub.enc, sub.tier, -1)
	if sub.waiting {
		for i, w := range r.mu.waiting {
			if w == sub {
				r.mu.waiting = append(r.mu.waiting[:i], r.mu.waiting[i+1:]...)
				break
			}
		}
	}
}

// SetTier moves sub to tier t and returns the number of the room's last
// batch flushed before: the batches numbered up to it were built for the
// tier sub was in, those after for t. Call it on the loop; it takes the
// room's lock briefly.
func (h *Hub) SetTier(sub *Subscription, t Tier) uint64 {
	r := sub.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if !sub.left && sub.tier != t {
		r.countLocked(sub.loop, sub.enc, sub.tier, -1)
		r.countLocked(sub.loop, sub.enc, t, 1)
		sub.tier = t
	}
	return r.mu.seq
}
