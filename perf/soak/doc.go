// Package soak runs danmu's soak test against a fleet that scripts/soak.sh
// started: viewers on every edge, paced publishers on the ingest node, and
// a sampler that records every Interval the resident memory and goroutines
// of each danmu process and Redis's used_memory.
//
// A run fails when a comment answered 201 never reached one of its room's
// viewers, a viewer was disconnected, saw a duplicate, a gap or a dropped
// message, a process exited, the RSS or goroutines of a process grew
// beyond the bounds of Bounds (the median of the last third of the samples
// against the first third's), or Redis held more memory or longer streams
// than the retention allows. It writes report.txt, samples.csv and
// soak.png (gonum/plot) into Config.OutDir.
//
// Of the server's module it imports only codec, for the JSON decoder; of
// perf, only perf/loadgen, for its Bitset, /proc reader and SleepCtx.
package soak
