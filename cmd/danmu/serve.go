package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/danmu-dev/danmu/edge"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/ingest"
	"github.com/danmu-dev/danmu/stream"
)

// serveConfig is everything "danmu serve" is configured with.
type serveConfig struct {
	edge      edge.Config
	ingest    ingest.Config
	fanout    fanout.Config
	memory    stream.MemoryConfig
	logLevel  slog.Level
	logFormat string
}

func serveFlags(fs *flag.FlagSet, c *serveConfig) {
	fs.StringVar(&c.edge.Addr, "ws-addr", edge.DefaultAddr, "WebSocket edge listen address")
	fs.StringVar(&c.ingest.Addr, "http-addr", ingest.DefaultAddr, "HTTP API listen address")
	fs.IntVar(&c.edge.Loops, "loops", 0, "event loops of the edge (0: one per CPU)")
	fs.DurationVar(&c.edge.HandshakeTimeout, "handshake-timeout", edge.DefaultHandshakeTimeout, "time allowed from connect to a complete upgrade request")
	fs.IntVar(&c.edge.MaxHandshakeBytes, "max-handshake-bytes", edge.DefaultMaxHandshakeBytes, "largest upgrade request")
	fs.Int64Var(&c.edge.MaxMessageBytes, "max-message-bytes", edge.DefaultMaxMessageBytes, "largest client WebSocket message (closes with 1009 above)")
	fs.DurationVar(&c.edge.PingInterval, "ping-interval", edge.DefaultPingInterval, "ping a viewer silent for this long")
	fs.DurationVar(&c.edge.IdleTimeout, "idle-timeout", edge.DefaultIdleTimeout, "close a viewer silent (pongs included) for this long")
	fs.IntVar(&c.edge.MaxRooms, "max-rooms-per-conn", edge.DefaultMaxRooms, "rooms one WebSocket connection may watch")
	fs.IntVar(&c.edge.SoftOutbound, "soft-outbound-bytes", edge.DefaultSoftOutbound, "skip frames for a viewer with more unsent bytes than this")
	fs.IntVar(&c.edge.HardOutbound, "hard-outbound-bytes", edge.DefaultHardOutbound, "disconnect (1013) a viewer with more unsent bytes than this")
	fs.DurationVar(&c.edge.SlowTimeout, "slow-timeout", edge.DefaultSlowTimeout, "disconnect (1013) a viewer whose backlog stays above --soft-outbound-bytes this long")
	fs.DurationVar(&c.edge.DrainTimeout, "drain-timeout", edge.DefaultDrainTimeout, "how long shutdown waits for close frames to be written")
	fs.DurationVar(&c.fanout.FlushInterval, "flush-interval", fanout.DefaultFlushInterval, "shortest time between two frames of one room")
	fs.IntVar(&c.fanout.MaxBatch, "max-batch", fanout.DefaultMaxBatch, "most messages in one frame; older ones are dropped and counted")
	fs.IntVar(&c.fanout.ReplayLimit, "replay-limit", fanout.DefaultReplayLimit, "most messages replayed to a viewer joining with since")
	fs.DurationVar(&c.fanout.RoomLinger, "room-linger", fanout.DefaultRoomLinger, "keep following a room this long after its last local viewer left")
	fs.IntVar(&c.memory.MaxLen, "retention", stream.DefaultMaxLen, "messages kept per room in the stream")
	fs.IntVar(&c.ingest.MaxTextRunes, "max-text-runes", ingest.DefaultMaxTextRunes, "longest comment text, in characters")
	fs.IntVar(&c.ingest.MaxBodyBytes, "max-body-bytes", ingest.DefaultMaxBodyBytes, "largest POST body")
	fs.DurationVar(&c.ingest.AppendTimeout, "append-timeout", ingest.DefaultAppendTimeout, "a comment not stored within this gets 503")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
}

func newLogger(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: want text or json", format)}
}

// serve runs the edge, the ingest API and the embedded stream in one
// process until SIGINT or SIGTERM.
func serve(args []string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(fs, &cfg)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	logger, err := newLogger(stderr, cfg.logLevel, cfg.logFormat)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runServe(ctx, cfg, stream.NewMemory(cfg.memory), stdout, logger)
}

// runServe runs every part on log until ctx ends, then shuts down: the API
// stops accepting and finishes in-flight posts, the edge closes every
// viewer with 1001.
func runServe(ctx context.Context, cfg serveConfig, log stream.Log, stdout io.Writer, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.ingest.Addr)
	if err != nil {
		return fmt.Errorf("http api: %w", err)
	}
	hub := fanout.New(cfg.fanout, log, logger)
	ws := edge.New(cfg.edge, hub, logger)
	api := ingest.New(cfg.ingest, log, hub, logger)

	hubCtx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	var wg sync.WaitGroup
	wg.Go(func() { _ = hub.Run(hubCtx) })
	defer wg.Wait()

	edgeCtx, stopEdge := context.WithCancel(context.Background())
	defer stopEdge()
	edgeErr := make(chan error, 1)
	go func() { edgeErr <- ws.Serve(edgeCtx) }()
	apiErr := make(chan error, 1)
	go func() { apiErr <- api.Serve(ln) }()

	select {
	case <-ws.Ready():
		printURLs(stdout, ws.Addr().String(), ln.Addr().String())
	case err := <-edgeErr:
		_ = ln.Close()
		return err
	}

	var failure error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case failure = <-edgeErr:
		edgeErr <- failure
	case failure = <-apiErr:
		apiErr <- failure
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.Shutdown(shutdownCtx); err != nil {
		logger.Warn("http api shutdown", "err", err)
	}
	stopEdge()
	stopHub()
	return errors.Join(failure, <-edgeErr)
}

func printURLs(w io.Writer, wsAddr, httpAddr string) {
	fmt.Fprintf(w, `danmu is running (embedded stream; Ctrl-C stops it)

  WebSocket   ws://%[1]s/ws?room=demo
  HTTP API    http://%[2]s/v1/rooms/demo/danmaku
  Health      http://%[2]s/healthz

Post a comment:
  curl -X POST -H 'Content-Type: application/json' -d '{"text":"hello"}' http://%[2]s/v1/rooms/demo/danmaku
`, wsAddr, httpAddr)
}
