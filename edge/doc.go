// Package edge is the WebSocket server viewers connect to: a gnet v2 event
// loop server speaking RFC 6455 through gobwas/ws, with no goroutine per
// connection. It speaks danmu's JSON protocol (docs/protocol.md) on /ws,
// with permessage-deflate when the client offers it, and over Server-Sent
// Events on /sse (plain HTTP, for networks that block WebSocket), and the
// Bilibili-compatible binary protocol on /sub. Before an upgrade (or an
// SSE answer) it checks the Origin allow-list and, when configured, a
// viewer token (from Authorization or ?token= on /ws and /sse, from the
// enter packet's key on /sub), closing when the token expires. Handshakes,
// frames, heartbeats, idle timeouts, slow viewers and the drain on
// shutdown are all handled on the event loops.
//
// A viewer gets its room in a tier (fanout.Tier): full, or thinned to the
// max_rate it asked for. One that falls past SoftOutbound moves to the
// priority-only tier, written up to HardOutbound, and returns to its own
// once its backlog drains (shard.go, sendBatch).
//
// Each loop owns its connections and its registry of viewers (shard): who
// watches which room, in which encoding, and where each stands in its
// room's sequence (held-back batches during a replay, gap notices). It
// subscribes them with the fanout hub and is the hub's fanout.Loop: the
// hub hands it each room's Frames, encoded once per format and tier in
// use, and the loop writes them. The encoders are codec's and run on the hub's goroutines,
// never on a loop.
//
// It imports fanout, codec, auth (tokens) and metric of this module, and
// nothing of storage.
package edge
