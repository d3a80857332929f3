// Package perf holds what measures danmu end to end: the load generator
// (perf/loadgen, run as perf/cmd/loadgen), the soak test (perf/soak, run as
// perf/cmd/soak), the reference baseline server danmu is compared with
// (perf/baseline, run as perf/cmd/baseline) and the machine's floors
// (perf/floor: a bare HTTP server, run as perf/cmd/floor, and the loopback
// write benchmark). perf is a module of its own,
// github.com/danmu-dev/danmu/perf, so that its dependencies (gonum/plot and
// its fonts, PDF and LaTeX packages, HdrHistogram) stay out of the server's
// go.mod; its replace directive builds it against the server's module in
// the parent directory. Build and test it from here or with go -C perf, as
// the Makefile does. Packages under perf may import the server's packages
// that internal/lint allows; nothing imports perf.
// docs/performance.md records the numbers and the commands behind them.
package perf
