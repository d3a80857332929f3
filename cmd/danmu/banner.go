package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/danmu-dev/danmu/edge"
)

// banner is what a node tells its operator once it serves: where each of
// its parts listens.
type banner struct {
	ws    *edge.Server // nil when the node runs no edge
	api   net.Listener // nil when it runs no HTTP API
	ops   net.Addr     // nil when the admin address is off
	redis bool
}

// printBanner writes b to stdout for a person, or, with --log-format json,
// as one JSON log record like everything else the process prints.
func printBanner(stdout io.Writer, logger *slog.Logger, format string, b banner) {
	mode := "embedded stream"
	if b.redis {
		mode = "Redis Streams"
	}
	if format == "json" {
		attrs := []any{"stream", mode}
		if b.ops != nil {
			attrs = append(attrs, "admin", "http://"+b.ops.String()+"/metrics")
		}
		if b.ws != nil {
			attrs = append(attrs, "websocket", "ws://"+b.ws.Addr().String()+"/ws", "bilibili", "ws://"+b.ws.Addr().String()+"/sub")
		}
		if b.api != nil {
			attrs = append(attrs, "http_api", "http://"+b.api.Addr().String()+"/v1/rooms/{room}/danmaku",
				"bilibili_api", "http://"+b.api.Addr().String())
		}
		logger.Info("danmu is running", attrs...)
		return
	}
	fmt.Fprintf(stdout, "danmu is running (%s; Ctrl-C stops it)\n\n", mode)
	if b.ops != nil {
		fmt.Fprintf(stdout, "  Admin       http://%s/metrics (and /healthz, /readyz, /debug/pprof/)\n", b.ops)
	}
	if b.ws != nil {
		fmt.Fprintf(stdout, "  WebSocket   ws://%s/ws?room=demo\n", b.ws.Addr())
		fmt.Fprintf(stdout, "  Bilibili    ws://%s/sub (enter roomid 42 for room \"42\")\n", b.ws.Addr())
	}
	if b.api != nil {
		addr := b.api.Addr().String()
		fmt.Fprintf(stdout, "  Demo page   http://%s/?room=demo\n", addr)
		fmt.Fprintf(stdout, "  HTTP API    http://%s/v1/rooms/demo/danmaku\n", addr)
		fmt.Fprintf(stdout, "  Bili API    http://%s (API base URL of Bilibili clients: docs/bilibili.md)\n", addr)
		fmt.Fprintf(stdout, "  Health      http://%s/healthz\n\n", addr)
		fmt.Fprintf(stdout, "Post a comment:\n  curl -X POST -H 'Content-Type: application/json' -d '{\"text\":\"hello\"}' http://%s/v1/rooms/demo/danmaku\n", addr)
	}
}
