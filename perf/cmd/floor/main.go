// Command floor runs the floors of perf/floor. Alone, the HTTP floor: a
// bare fasthttp server that answers every POST with 201 and does nothing
// else,
//
//	floor --http-addr 127.0.0.1:7180
//
// which the load generator drives like danmu, to measure what one HTTP
// request costs on this machine (loadgen ingest --target floor --spawn).
// With --ws-addr, the fan-out floor too (floor.Fanout): viewers open
// WebSockets there, and the comments posted are delivered to them in
// frames per room as danmu's hub flushes them, with nothing else (loadgen
// hot-room --target floor --spawn). With --redis, the floor of ingest with
// Redis instead (floor.AppendHandler): every POST is answered once one
// XADD of its body is acknowledged,
//
//	floor --http-addr 127.0.0.1:7180 --redis 127.0.0.1:6379
//
// (loadgen ingest --target floor --spawn --server-args '--redis ...').
// SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/danmu-dev/danmu/perf/floor"
	"github.com/danmu-dev/danmu/rdb"
)

func main() {
	httpAddr := flag.String("http-addr", "127.0.0.1:7180", "HTTP listen address")
	wsAddr := flag.String("ws-addr", "", "WebSocket listen address of the fan-out floor (empty: none; posts are then only answered)")
	budget := flag.Int("frame-budget", 0, "writes per second the fan-out floor's rooms share, as danmu's --frame-budget (0: danmu's default)")
	redisAddrs := flag.String("redis", "", "comma-separated Redis addresses: answer each POST once one XADD of its body is acknowledged (the floor of ingest with Redis)")
	redisPrefix := flag.String("redis-prefix", "", "key prefix with --redis, as danmu's (empty: danmu's default)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "floor: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if *redisAddrs != "" && *wsAddr != "" {
		fmt.Fprintln(os.Stderr, "floor: --redis and --ws-addr are two floors; run one")
		os.Exit(2)
	}
	if err := run(*httpAddr, *wsAddr, *budget, *redisAddrs, *redisPrefix); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// run connects to Redis when redisAddrs is not empty, then serves.
func run(addr, wsAddr string, budget int, redisAddrs, redisPrefix string) error {
	if redisAddrs == "" {
		return serve(addr, wsAddr, budget, nil)
	}
	client, err := rdb.New(rdb.Config{Addrs: strings.Split(redisAddrs, ","), KeyPrefix: redisPrefix})
	if err != nil {
		return err
	}
	defer client.Close()
	return serve(addr, wsAddr, budget, client)
}

// serve serves the floor on addr, and the fan-out floor of frame budget
// budget on wsAddr unless it is empty, or the append floor when client is
// not nil, until SIGINT or SIGTERM.
func serve(addr, wsAddr string, budget int, client *rdb.Client) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := floor.NewServer()
	errc := make(chan error, 2)
	if wsAddr != "" {
		lfd, _, err := floor.Listen(wsAddr)
		if err != nil {
			return err
		}
		fan := floor.NewFanout(budget)
		srv.Handler = fan.HandlePost
		go func() { errc <- fan.Serve(lfd) }()
		defer func() { fmt.Printf("floor: %d short writes\n", fan.ShortWrites.Load()) }()
		fmt.Printf("floor: fan-out floor on ws://%s/ws?room=R, comments posted to http://%s/v1/rooms/R/danmaku\n", wsAddr, addr)
	}
	if client != nil {
		srv.Handler = floor.AppendHandler(client)
		fmt.Printf("floor: each POST is appended to Redis before it is answered\n")
	}
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("floor is running: every POST to http://%s/ is answered 201\n", addr)
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.ShutdownWithContext(shutdownCtx)
}
