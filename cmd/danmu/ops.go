package main

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/danmu-dev/danmu/admin"
)

// adminShutdownTimeout bounds how long the admin address waits for a
// scrape or probe in flight when the node stops.
const adminShutdownTimeout = 2 * time.Second

// serveAdmin serves ops on addr and returns the address it listens on and
// a func that stops it. An empty addr turns the admin address off. An
// address that cannot be bound (a second node on one machine) is logged,
// not fatal: metrics and probes are the operator's, and a node without
// them still serves viewers; a probe that cannot connect fails loudly
// enough.
func serveAdmin(ops *admin.Server, addr string, logger *slog.Logger) (net.Addr, func()) {
	if addr == "" {
		return nil, func() {}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("admin address unavailable: no metrics, probes nor pprof", "addr", addr, "err", err)
		return nil, func() {}
	}
	served := make(chan error, 1)
	go func() { served <- ops.Serve(ln) }()
	return ln.Addr(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminShutdownTimeout)
		defer cancel()
		if err := ops.Shutdown(ctx); err != nil {
			logger.Warn("admin shutdown", "err", err)
		}
		if err := <-served; err != nil {
			logger.Warn("admin", "err", err)
		}
	}
}
