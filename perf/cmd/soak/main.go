// Command soak runs danmu's soak test against a fleet that is already
// running (scripts/soak.sh starts Redis, one ingest node and two edges,
// then runs it):
//
//	soak --ingest 127.0.0.1:7080 --edges 127.0.0.1:7070,127.0.0.1:7071 \
//	     --proc ingest:<pid>:<admin addr> --proc edge1:<pid>:<admin addr> ... \
//	     --redis 127.0.0.1:6379 --redis-pid <pid> --retention 300 --out DIR
//
// It prints a line per sample to standard error and the report to
// standard output, writes report.txt, result.json, samples.csv and
// soak.png to --out, and exits 1 when the soak failed (the reasons are in
// the report), 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/danmu-dev/danmu/perf/soak"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 2
	}
	cfg.Command = append([]string{"soak"}, args...)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := soak.Run(ctx, cfg)
	if errors.Is(err, soak.ErrConfig) {
		fmt.Fprintln(stderr, "soak:", err)
		return 2
	}
	if res != nil {
		_ = res.WriteReport(stdout)
		fmt.Fprintf(stdout, "report    %s/report.txt, chart %s/soak.png\n", cfg.OutDir, cfg.OutDir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		return 1
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "soak: interrupted")
		return 1
	}
	if len(res.Failures) > 0 {
		fmt.Fprintf(stderr, "soak: FAIL: %s\n", strings.Join(res.Failures, "; "))
		return 1
	}
	return 0
}

// procList collects --proc name:pid:admin-addr flags.
type procList []soak.Proc

func (p *procList) String() string { return fmt.Sprint(*p) }

func (p *procList) Set(s string) error {
	name, rest, ok1 := strings.Cut(s, ":")
	pidText, addr, ok2 := strings.Cut(rest, ":")
	pid, err := strconv.Atoi(pidText)
	if !ok1 || !ok2 || err != nil || name == "" || addr == "" || pid <= 0 {
		return fmt.Errorf("want name:pid:admin-host:port, got %q", s)
	}
	*p = append(*p, soak.Proc{Name: name, PID: pid, AdminAddr: addr})
	return nil
}

func parseFlags(args []string, stderr io.Writer) (soak.Config, error) {
	var cfg soak.Config
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.IngestAddr, "ingest", "", "HTTP address of the ingest node")
	edges := fs.String("edges", "", "WebSocket addresses of the edges, comma-separated")
	fs.Var((*procList)(&cfg.Procs), "proc", "a danmu process to sample, name:pid:admin-addr (repeat)")
	fs.StringVar(&cfg.RedisAddr, "redis", "", "address of the fleet's Redis")
	fs.IntVar(&cfg.RedisPID, "redis-pid", 0, "PID of redis-server, to sample its RSS")
	fs.StringVar(&cfg.RedisPrefix, "redis-prefix", "", "the fleet's --redis-prefix (default danmu:)")
	fs.IntVar(&cfg.Retention, "retention", 0, "the fleet's --retention (required)")
	fs.IntVar(&cfg.NodeEntries, "node-entries", 0, "Redis stream-node-max-entries (default 100)")
	fs.IntVar(&cfg.Rooms, "rooms", 0, "rooms (default 4)")
	fs.IntVar(&cfg.ViewersPerEdge, "viewers-per-edge", 0, "viewers on each edge, spread over the rooms (default 100)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "comments per second per room (default 10)")
	fs.IntVar(&cfg.Lanes, "lanes", 0, "concurrent publishing connections (default 4)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long comments are sent (default 30m)")
	fs.DurationVar(&cfg.Interval, "interval", 0, "time between samples (default 10s)")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "samples before this are left out of the growth checks (default duration/10, at least one interval)")
	fs.DurationVar(&cfg.Drain, "drain", 0, "longest wait for the last deliveries (default 15s)")
	fs.StringVar(&cfg.OutDir, "out", "", "output directory (required)")
	quiet := fs.Bool("quiet", false, "no line per sample")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for addr := range strings.SplitSeq(*edges, ",") {
		if addr = strings.TrimSpace(addr); addr != "" {
			cfg.EdgeAddrs = append(cfg.EdgeAddrs, addr)
		}
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	return cfg, nil
}
