// Package perf holds what measures danmu end to end: the load generator
// (perf/loadgen, run as perf/cmd/loadgen) and the reference baseline server
// it is compared with (perf/baseline, run as perf/cmd/baseline). Packages
// under perf may import any package of this module; nothing imports perf.
// docs/performance.md records the numbers and the commands behind them.
package perf
