// Package loadgen is danmu's full-chain load generator: WebSocket viewers
// spread over worker processes and 127.0.0.x source addresses, each worker
// reading its thousands of sockets through a few epoll event loops (no
// goroutine per viewer), paced HTTP publishers in the coordinating process, and the measurements of a run (end-to-end latency, loss,
// duplicates, disconnects, the CPU and memory of the server and of the
// generator itself), reported as a table, one JSON line and SVG charts.
//
// What is measured for whom:
//
//   - Every viewer counts the messages of each frame (occurrences of
//     `{"id":"`) and sums the frames' "dropped" fields. Loss by count is the
//     room's accepted comments minus the viewer's count.
//   - Sampled viewers (a fraction of each room, SampleFraction with at least
//     SampleMin in all) also decode every frame, read the sequence number and
//     send time that the publisher embedded in the text
//     ("p<lane>:<seq>:<unix ns>"), and keep a bitset of sequence numbers:
//     loss and duplicates by ID, and the end-to-end latency histogram
//     (frame read time minus the scheduled send time).
//   - Publishers are open-loop: comment i is due at start + i/rate and is
//     sent however late; lateness and backlog are reported, nothing is
//     skipped. The embedded time is the scheduled one, so a backlogged
//     publisher shows up as latency (no coordinated omission).
//
// Of the server's module it imports only codec, for the JSON decoder.
package loadgen
