// Package floor measures the machine's floors, the costs danmu's own
// figures are divided by in docs/performance.md:
//
//   - NewServer is a bare fasthttp server that answers every POST with 201
//     and a body shaped like danmu's: what one HTTP request costs here and
//     nothing else. perf/cmd/floor runs it, and the load generator drives
//     it with the same ingest scenario and the same /proc sampling as
//     danmu (loadgen ingest --target floor).
//   - BenchmarkLoopbackWrite writes one frame to N loopback TCP sockets with
//     write(2) and nothing else, its readers in a child process that drains
//     them through one epoll loop (Drainer): what a fan-out write costs
//     the server, and a delivery costs a reader, at the least.
//
// It imports codec, to build a frame of the size danmu sends, and ingest,
// for its server defaults.
package floor
