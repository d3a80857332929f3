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
// hot-room --target floor --spawn). SIGINT or SIGTERM stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/danmu-dev/danmu/perf/floor"
)

func main() {
	httpAddr := flag.String("http-addr", "127.0.0.1:7180", "HTTP listen address")
	wsAddr := flag.String("ws-addr", "", "WebSocket listen address of the fan-out floor (empty: none; posts are then only answered)")
	budget := flag.Int("frame-budget", 0, "writes per second the fan-out floor's rooms share, as danmu's --frame-budget (0: danmu's default)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "floor: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := serve(*httpAddr, *wsAddr, *budget); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// serve serves the floor on addr, and the fan-out floor of frame budget
// budget on wsAddr unless it is empty, until SIGINT or SIGTERM.
func serve(addr, wsAddr string, budget int) error {
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
