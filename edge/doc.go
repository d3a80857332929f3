// Package edge is the WebSocket server viewers connect to: a gnet v2 event
// loop server speaking RFC 6455 through gobwas/ws, with no goroutine per
// connection. Handshakes, frames, heartbeats, idle timeouts and slow
// viewers are all handled on the event loops; each loop owns its
// connections and its fanout.Shard.
//
// It imports fanout, codec and stream (for entry IDs) of this module.
package edge
