package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/danmu-dev/danmu/edge"
	"github.com/danmu-dev/danmu/web"
)

// banner is what a node tells its operator once it serves: where each of
// its parts listens.
type banner struct {
	ws    *edge.Server // nil when the node runs no edge
	api   net.Listener // nil when it runs no HTTP API
	ops   net.Addr     // nil when the admin address is off
	redis bool
	// public are the URLs clients use through the load balancer; the
	// banner gives them beside the addresses the node listens on.
	public publicURLs
}

// printBanner writes b to stdout for a person, or, with --log-format json,
// as one JSON log record like everything else the process prints.
func printBanner(stdout io.Writer, logger *slog.Logger, format string, b banner) {
	mode := "embedded stream"
	if b.redis {
		mode = "Redis Streams"
	}
	wsBase, httpBase := "", ""
	if b.ws != nil {
		wsBase = "ws://" + b.ws.Addr().String()
	}
	if b.api != nil {
		httpBase = "http://" + b.api.Addr().String()
	}
	publicWS, publicHTTP := wsBase, httpBase
	if len(b.public.ws) > 0 {
		publicWS = b.public.wsBase()
	}
	if b.public.http != "" {
		publicHTTP = b.public.http
	}
	if format == "json" {
		attrs := []any{"stream", mode}
		if b.ops != nil {
			attrs = append(attrs, "admin", "http://"+b.ops.String()+"/metrics")
		}
		if b.ws != nil {
			attrs = append(attrs, "websocket", wsBase+"/ws", "bilibili", wsBase+"/sub", "sse", web.SSEBeside(wsBase+"/ws"))
			if publicWS != wsBase {
				attrs = append(attrs, "public_websocket", publicWS+"/ws", "public_sse", web.SSEBeside(publicWS+"/ws"))
			}
		}
		if b.api != nil {
			attrs = append(attrs, "http_api", httpBase+"/v1/rooms/{room}/danmaku", "bilibili_api", httpBase)
			if publicHTTP != httpBase {
				attrs = append(attrs, "public_http_api", publicHTTP+"/v1/rooms/{room}/danmaku")
			}
		}
		logger.Info("danmu is running", attrs...)
		return
	}
	fmt.Fprintf(stdout, "danmu is running (%s; Ctrl-C stops it)\n\n", mode)
	if b.ops != nil {
		fmt.Fprintf(stdout, "  Admin       http://%s/metrics (and /healthz, /readyz, /debug/pprof/)\n", b.ops)
	}
	if b.ws != nil {
		fmt.Fprintf(stdout, "  WebSocket   %s/ws?room=demo\n", wsBase)
		if publicWS != wsBase {
			fmt.Fprintf(stdout, "  Public WS   %s/ws?room=demo (what clients connect to)\n", publicWS)
		}
		fmt.Fprintf(stdout, "  Bilibili    %s/sub (enter roomid 42 for room \"42\")\n", publicWS)
		fmt.Fprintf(stdout, "  SSE         %s?room=demo (Server-Sent Events, where WebSockets are blocked)\n", web.SSEBeside(publicWS+"/ws"))
	}
	if b.api != nil {
		fmt.Fprintf(stdout, "  Demo page   %s/?room=demo\n", publicHTTP)
		fmt.Fprintf(stdout, "  HTTP API    %s/v1/rooms/demo/danmaku\n", httpBase)
		if publicHTTP != httpBase {
			fmt.Fprintf(stdout, "  Public API  %s/v1/rooms/demo/danmaku (what clients post to)\n", publicHTTP)
		}
		fmt.Fprintf(stdout, "  Bili API    %s (API base URL of Bilibili clients: docs/bilibili.md)\n", publicHTTP)
		fmt.Fprintf(stdout, "  Health      %s/healthz\n\n", httpBase)
		fmt.Fprintf(stdout, "Post a comment:\n  curl -X POST -H 'Content-Type: application/json' -d '{\"text\":\"hello\"}' %s/v1/rooms/demo/danmaku\n", publicHTTP)
	}
}
