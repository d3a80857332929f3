// Package codec owns the message and the wire formats (docs/protocol.md).
//
// The message: a comment (Message) with its validation rules, the ids of
// rooms, users and comments, stream entry IDs (ID, the one syntax of
// "<ms>-<seq>"), the stored record a comment becomes in its room's stream
// (AppendStored: a header with version, prio, cid, author and extensions
// such as the post's trace context, then the JSON body, written by hand)
// and the stream's control records (deletes), and the decoded form every
// encoder uses (DecodeEntry, once per entry per node).
//
// The wire formats: WebSocket frames and close bodies, permessage-deflate,
// the native JSON protocol (client messages, joined, left and error
// replies, batch, delete and online messages), the packets and commands of
// the Bilibili-compatible protocol with their zlib and brotli compression,
// and JSON (sonic).
//
// It is pure: no I/O, no goroutines, and it imports no other package of
// this module.
package codec
