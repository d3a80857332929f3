// Package fanout follows the stream of every room that has local viewers
// and batches it: one batch per room per flush window, encoded once per
// wire format and tier its viewers use (with codec's encoders, on fanout's
// own goroutines), into immutable, reference-counted Frames. A tier
// (tier.go) is the part of the stream a subscription gets: everything,
// the priority-only part of a viewer that fell behind, or a thinned
// stream of at most a fixed rate, sampled once per batch per rate.
//
// It owns no viewer. The loops that hold viewers (the edge's event loops)
// subscribe them (Hub.Subscribe, Unsubscribe, RequestReplay), and fanout
// hands each loop the Frames of its rooms through the two methods of Loop,
// once per loop, never once per viewer. Nothing else crosses: no code of
// the edge runs on fanout's goroutines, and none of fanout's on a loop but
// those synchronous, non-blocking calls.
//
// Locks, always taken in this order, never the other way:
//
//  1. Hub.mu: the rooms, loops and encoders. The follower holds it while
//     it follows and unfollows rooms (Hub.track), which takes the
//     stream's own locks, never fanout's.
//  2. room.flushing: held through one flush, from taking the pending
//     entries to handing the Frames to the loops.
//  3. room.mu: a room's position, pending entries, counts per loop and
//     per (encoding, tier), the tiers' budgets, replay groups and recent
//     entries.
//  4. replayQueue.mu and room.notices: leaves, taken alone or under
//     room.mu, never holding another.
//
// Frames carry no lock: they are immutable once handed over, and their
// reference count is atomic. A loop's calls (Subscribe and the rest) take
// Hub.mu and room.mu briefly and never block on I/O.
//
// It imports codec, stream and internal/telemetry (a span per traced
// batch, linked to the traces of its comments), and never the edge.
package fanout
