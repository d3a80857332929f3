// Package edge is the WebSocket server viewers connect to: a gnet v2 event
// loop server speaking RFC 6455 through gobwas/ws, with no goroutine per
// connection. It speaks two protocols (docs/protocol.md): danmu's JSON
// protocol on /ws, with permessage-deflate when the client offers it, and
// the Bilibili-compatible binary protocol on /sub. Before an upgrade it
// checks the Origin allow-list and, when configured, a viewer token (from
// Authorization or ?token= on /ws, from the enter packet's key on /sub),
// closing with 1008 when the token expires. Handshakes, frames,
// heartbeats, idle timeouts, slow viewers and the drain on shutdown are
// all handled on the event loops; each loop owns its connections and its
// fanout.Shard.
//
// It imports fanout, codec, auth (tokens) and metric of this module, and
// nothing of storage.
package edge
