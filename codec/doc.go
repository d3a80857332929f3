// Package codec encodes and decodes wire formats (docs/protocol.md):
// WebSocket frames and close bodies, permessage-deflate, the native JSON
// protocol (client messages, joined, left and error replies, batch,
// delete and online messages), comments with their validation rules and
// stored form, stream entry IDs (ID, the one syntax of "<ms>-<seq>"), the stream's control records (deletes), the packets and
// commands of the Bilibili-compatible protocol with their zlib and brotli
// compression, and JSON (sonic). It is pure: no I/O, no goroutines, and it
// imports no other package of this module.
package codec
