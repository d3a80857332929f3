// Command floor runs the HTTP floor of perf/floor, a bare fasthttp server
// that answers every POST with 201 and does nothing else:
//
//	floor --http-addr 127.0.0.1:7180
//
// The load generator drives it like danmu, to measure what one HTTP
// request costs on this machine (loadgen ingest --target floor --spawn).
// SIGINT or SIGTERM stops it.
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
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "floor: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := serve(*httpAddr); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// serve serves the floor on addr until SIGINT or SIGTERM.
func serve(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := floor.NewServer()
	errc := make(chan error, 1)
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
