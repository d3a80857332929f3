package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/danmu-dev/danmu/admin"
	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/edge"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/ingest"
	"github.com/danmu-dev/danmu/internal/telemetry"
	"github.com/danmu-dev/danmu/presence"
	"github.com/danmu-dev/danmu/rdb"
	"github.com/danmu-dev/danmu/stream"
	"github.com/danmu-dev/danmu/web"
)

// roles says which parts a process runs.
type roles struct {
	edge   bool // the WebSocket edge and its fan-out
	ingest bool // the HTTP API
}

// shutdownTimeout bounds how long the HTTP API waits for in-flight requests.
const shutdownTimeout = 10 * time.Second

// traceFlushTimeout bounds how long a stopping node tries to export the
// spans it still holds: a collector that is down never holds it up longer.
const traceFlushTimeout = 2 * time.Second

// name returns the role of a node running r, as tracing names it
// (danmu-<name>).
func (r roles) name() string {
	switch {
	case r.edge && r.ingest:
		return "serve"
	case r.edge:
		return "edge"
	default:
		return "ingest"
	}
}

// runNode runs the parts r names until ctx ends, then shuts down: /readyz
// fails from then on, the API stops accepting and finishes in-flight
// posts, the edge closes its viewers with 1001 over --drain-period while
// the fan-out keeps delivering to those left, and this node's online
// counts are withdrawn. The admin address serves until the end.
func runNode(ctx context.Context, o options, r roles, stdout io.Writer, logger *slog.Logger) error {
	o.finish()
	// Tracing, when the OTEL_* environment turns it on, ends last: the
	// spans of the last posts and batches are exported on the way out.
	tracer, err := telemetry.Setup(ctx, r.name(), logger)
	if err != nil {
		return usageError{err}
	}
	if tracer != nil {
		logger = slog.New(telemetry.LogHandler(logger.Handler()))
		o.ingest.Tracer, o.fanout.Tracer = tracer, tracer
		defer func() {
			flushCtx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
			defer cancel()
			if err := tracer.Shutdown(flushCtx); err != nil {
				logger.Warn("tracing: spans not exported at shutdown", "err", err)
			}
		}()
	}
	var keySet *auth.KeySet
	if r.ingest || o.viewerTokens {
		var err error
		if keySet, err = openKeys(ctx, &o, logger); err != nil {
			return err
		}
	}
	// The one Redis client, closed last: after the API, the edge and the
	// background parts that use it have stopped.
	client, err := openRedis(o)
	if err != nil {
		return err
	}
	if client != nil {
		defer client.Close()
	}
	log := openLog(o, client)
	opsLn, err := listenAdmin(o.admin.Addr)
	if err != nil {
		return err
	}
	if opsLn != nil {
		defer opsLn.Close() // in case the node fails before it serves
	}
	ops := admin.New(o.admin, logger)
	b := buildInfo()
	ops.Register(admin.BuildCollector(b.Version, b.Commit, b.Go))
	if rl, ok := log.(*stream.Redis); ok {
		ops.Register(admin.RedisCollector(rl.Stats()))
		ops.AddCheck("redis", rl.Ping)
	}
	var fleet *presence.Redis
	if client != nil {
		fleet = presence.NewRedis(client, o.presence)
	}

	var ln net.Listener
	var hooks webhooks
	if r.ingest {
		if err := openPolicy(&o, client, logger); err != nil {
			return err
		}
		if hooks, err = openWebhooks(&o, logger); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp", o.ingest.Addr); err != nil {
			return fmt.Errorf("http api: %w", err)
		}
		defer ln.Close()
	}

	// Background parts stop when stopBackground is called, after the
	// API and the edge have finished.
	background, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// Deferred calls run last first: stop the background parts, then
	// wait for them (a node that fails to start returns through here).
	defer wg.Wait()
	defer stopBackground()
	if o.ingest.Policy.Filter != nil {
		reloadOnHangup(background, &wg, o.ingest.Policy.Filter, logger)
	}
	if keySet != nil {
		wg.Go(func() { keySet.Run(background, logger) })
	}
	if hooks.stored != nil {
		wg.Go(func() { hooks.stored.Run(background) })
	}

	var hub *fanout.Hub
	var ws *edge.Server
	// The edge stops first, on its own context: the hub goes on
	// delivering to the viewers it has not closed yet.
	edgeCtx, stopEdge := context.WithCancel(context.Background())
	defer stopEdge()
	edgeErr := make(chan error, 1)
	if r.edge {
		if fleet != nil {
			o.fanout.Counter = fleet
		}
		if o.viewerTokens {
			v, err := auth.NewVerifier(o.auth)
			if err != nil {
				return fmt.Errorf("token keys: %w", err)
			}
			o.edge.Tokens = v
		}
		hub = fanout.New(o.fanout, log, logger)
		ws = edge.New(o.edge, hub, logger)
		ops.Register(admin.EdgeCollector(ws), admin.FanoutCollector(hub))
		wg.Go(func() { _ = hub.Run(background) })
		if fleet != nil {
			wg.Go(func() { _ = fleet.Run(background, hub.Counts, logger) })
		}
		go func() { edgeErr <- ws.Serve(edgeCtx) }()
		select {
		case <-ws.Ready():
		case err := <-edgeErr:
			return err
		}
	}

	var api *ingest.Server
	apiErr := make(chan error, 1)
	if r.ingest {
		var online ingest.Presence = hub
		if fleet != nil {
			online = fleet
		}
		o.ingest.Bili.ViewerTokens = o.viewerTokens
		if ws != nil {
			o.ingest.Bili.EdgeAddr = ws.Addr
		}
		api = ingest.New(o.ingest, log, online, logger)
		api.Use(hooks.hooks()...)
		ops.Register(admin.IngestCollector(api.Stats()))
		page := web.Config{WebSocketURL: o.public.pageWebSocket()}
		if ws != nil {
			page.EdgeAddr = ws.Addr
		}
		web.Register(api, page)
		go func() { apiErr <- api.Serve(ln) }()
	}
	opsAddr, stopOps := serveAdmin(ops, opsLn, logger)
	defer stopOps()
	printBanner(stdout, logger, o.logFormat, banner{ws: ws, api: ln, ops: opsAddr, redis: fleet != nil, public: o.public})

	var failure error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "drain_period", o.edge.DrainPeriod)
	case failure = <-edgeErr:
		ws = nil
	case failure = <-apiErr:
	}
	ops.SetDraining()
	if api != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := api.Shutdown(shutdownCtx); err != nil {
			logger.Warn("http api shutdown", "err", err)
		}
	}
	stopEdge()
	if ws != nil {
		failure = errors.Join(failure, <-edgeErr)
	}
	stopBackground()
	return failure
}

// openRedis connects to Redis when --redis is set, and returns nil
// without it. Its client is the only one of the process: the stream, the
// online counts and the policy state share it.
func openRedis(o options) (*rdb.Client, error) {
	if len(o.redis.Addrs) == 0 {
		return nil, nil
	}
	tlsConfig, err := o.redisTLS.config()
	if err != nil {
		return nil, err
	}
	o.redis.TLS = tlsConfig
	return rdb.New(o.redis)
}

// openLog returns Redis Streams on client, or the embedded log without
// one.
func openLog(o options, client *rdb.Client) stream.Log {
	if client == nil {
		return stream.NewMemory(o.memory)
	}
	return stream.NewRedis(client, o.redisStream)
}
