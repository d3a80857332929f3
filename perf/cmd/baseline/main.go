// Command baseline runs the reference server of perf/baseline, the classic
// gorilla/websocket design danmu is measured against:
//
//	baseline --ws-addr 127.0.0.1:7170 --http-addr 127.0.0.1:7180
//
// Both addresses serve GET /ws?room=R and POST /v1/rooms/{room}/danmaku, as
// danmu's edge and ingest do. SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/danmu-dev/danmu/perf/baseline"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var cfg baseline.Config
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	wsAddr := fs.String("ws-addr", "127.0.0.1:7170", "WebSocket listen address")
	httpAddr := fs.String("http-addr", "127.0.0.1:7180", "HTTP API listen address")
	fs.IntVar(&cfg.SendBuffer, "send-buffer", baseline.DefaultSendBuffer, "messages queued per viewer before it is dropped")
	fs.DurationVar(&cfg.PongWait, "pong-wait", baseline.DefaultPongWait, "close a viewer silent this long; pings go out every 9/10 of it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	handler := baseline.New(cfg)
	var servers []*http.Server
	errc := make(chan error, 2)
	for _, addr := range []string{*wsAddr, *httpAddr} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, srv := range servers {
				_ = srv.Close()
			}
			return err
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(ln) }()
	}
	fmt.Printf("baseline is running\n\n  WebSocket   ws://%s/ws?room=demo\n  HTTP API    http://%s/v1/rooms/demo/danmaku\n", *wsAddr, *httpAddr)

	var failure error
	select {
	case <-ctx.Done():
	case failure = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdownCtx)
	}
	if errors.Is(failure, http.ErrServerClosed) {
		return nil
	}
	return failure
}
