package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/danmu-dev/danmu/admin"
)

// adminShutdownTimeout bounds how long the admin address waits for a
// scrape or probe in flight when the node stops.
const adminShutdownTimeout = 2 * time.Second

// listenAdmin binds the admin address, or returns nil when addr is empty
// (the admin address is off). An address that cannot be bound is an error:
// a node without its probes and metrics would look dead to its load
// balancer and invisible to its operator, so it must not start.
func listenAdmin(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin address: %w", err)
	}
	return ln, nil
}

// serveAdmin serves ops on ln (nil: off) and returns the address it
// listens on and a func that stops it.
func serveAdmin(ops *admin.Server, ln net.Listener, logger *slog.Logger) (net.Addr, func()) {
	if ln == nil {
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
