// Package admin serves the operator's address of a danmu process, apart
// from the public ones: Prometheus metrics, liveness and readiness probes
// and net/http/pprof. It owns the Prometheus client: the core packages
// count with plain atomics and package metric, and admin reads those
// counters only when it is scraped. Only cmd imports it.
package admin
