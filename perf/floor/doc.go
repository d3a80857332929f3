// Package floor measures the machine's floors, the costs danmu's own
// figures are divided by in docs/performance.md:
//
//   - NewServer is a bare fasthttp server that answers every POST with 201
//     and a body shaped like danmu's: what one HTTP request costs here and
//     nothing else. perf/cmd/floor runs it, and the load generator drives
//     it with the same ingest scenario and the same /proc sampling as
//     danmu (loadgen ingest --target floor).
//
//   - AppendHandler, for NewServer, is the floor of ingest with Redis:
//     every POST answered once one XADD of its body is acknowledged, with
//     danmu's Redis client and nothing else (perf/cmd/floor --redis;
//     loadgen ingest --target floor --server-args '--redis ...').
//
//   - BenchmarkLoopbackWrite writes one frame to N loopback TCP sockets with
//     write(2) and nothing else, its readers in a child process that drains
//     them through one epoll loop (Drainer): what a fan-out write costs
//     the server, and a delivery costs a reader, at the least.
//
//   - Fanout is the floor of danmu's fan-out: WebSocket viewers, comments
//     posted over HTTP, gathered per room and flushed as danmu's hub
//     flushes them, each frame encoded once and written with write(2) by
//     one thread per core, and nothing else. perf/cmd/floor runs it with
//     --ws-addr, and the load generator's hot-room and many-rooms
//     scenarios drive it as they drive danmu (loadgen --target floor):
//     the end-to-end latency and CPU per frame danmu's are compared with.
//
// It imports codec, to build the frames danmu sends, ingest, for its
// server defaults, fanout, for its flush windows, and rdb and stream, for
// danmu's Redis client and stream retention.
package floor
