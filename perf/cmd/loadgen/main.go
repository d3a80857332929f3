// Command loadgen runs one load scenario against danmu or the baseline and
// reports what it measured:
//
//	loadgen <scenario> [flags]
//
// Scenarios: idle, hot-room, many-rooms, ingest, connect-storm. With
// --spawn it starts the server itself (bin/danmu or bin/baseline) on free
// loopback ports and stops it at the end; otherwise give --ws-addr,
// --http-addr and --server-pid of a running one. It prints a progress line
// every second to standard error and a table at the end to standard
// output, writes result.json and SVG charts to --out, and appends one JSON
// line to --json-out. "loadgen <scenario> --help" lists the flags.
//
// "loadgen worker" is the worker process the generator starts itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/danmu-dev/danmu/perf/loadgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stderr, "usage: loadgen <scenario> [flags]\nscenarios: %s\n", strings.Join(loadgen.Scenarios, ", "))
		return 2
	}
	if args[0] == "worker" {
		if err := loadgen.RunWorker(ctx, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(stderr, "loadgen worker:", err)
			return 1
		}
		return 0
	}
	if !slices.Contains(loadgen.Scenarios, args[0]) {
		fmt.Fprintf(stderr, "loadgen: unknown scenario %q; want one of %s\n", args[0], strings.Join(loadgen.Scenarios, ", "))
		return 2
	}
	cfg, failOnLoss, err := parseFlags(args[0], args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	cfg.Command = append([]string{"loadgen"}, args...)
	res, err := loadgen.Run(ctx, cfg)
	if res != nil {
		_ = res.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	if failOnLoss {
		if problems := res.Problems(); len(problems) > 0 {
			fmt.Fprintln(stderr, "loadgen: "+strings.Join(problems, "; "))
			return 1
		}
	}
	return 0
}

func parseFlags(scenario string, args []string, stderr io.Writer) (loadgen.Config, bool, error) {
	cfg := loadgen.Config{Scenario: scenario, Progress: stderr}
	fs := flag.NewFlagSet("loadgen "+scenario, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Target, "target", loadgen.TargetDanmu, "server kind: danmu, baseline or floor (bin/floor: for ingest every POST answered 201, after an XADD with --server-args '--redis ADDR'; for viewers the fan-out floor)")
	fs.BoolVar(&cfg.Spawn, "spawn", false, "start the server (bin/<target>) on free loopback ports and stop it at the end")
	fs.StringVar(&cfg.ServerBin, "server-bin", "", "server binary for --spawn (default bin/<target>)")
	serverArgs := fs.String("server-args", "", "extra arguments for the spawned server, space-separated")
	fs.StringVar(&cfg.WSAddr, "ws-addr", "", "WebSocket address of the server")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "", "HTTP address of the server")
	serverPIDs := fs.String("server-pid", "", "comma-separated PIDs of the server processes to sample (without --spawn)")
	fs.IntVar(&cfg.Viewers, "viewers", 0, "WebSocket viewers (default: 1000 idle and connect-storm, 2000 hot-room, 0 ingest)")
	fs.IntVar(&cfg.Rooms, "rooms", 0, "rooms (default 100 many-rooms, else 1)")
	fs.IntVar(&cfg.ViewersPerRoom, "viewers-per-room", 0, "many-rooms: viewers in each room (default 100)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "comments per second per room (default 100 hot-room, 10 many-rooms; ingest: closed loop unless set)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long comments are sent or viewers sit (default 20s; 10s idle, ingest, connect-storm)")
	fs.DurationVar(&cfg.Drain, "drain", 0, "longest wait for the last deliveries (default 15s)")
	fs.DurationVar(&cfg.Settle, "settle", 0, "idle: pause before memory is measured (default 3s)")
	fs.IntVar(&cfg.Lanes, "lanes", 0, "concurrent publishing connections (default 16; ingest 64)")
	fs.IntVar(&cfg.Batch, "batch", 0, "ingest: comments per request, posted to .../danmaku:batch when above 1 (default 1)")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 0, "timeout of one POST (default 10s)")
	fs.IntVar(&cfg.SourceIPs, "source-ips", 0, "viewers connect from 127.0.0.1..127.0.0.N (default 16)")
	fs.IntVar(&cfg.ViewersPerWorker, "viewers-per-worker", 0, "most viewers in one worker process (default 9000)")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", 0, "connects in flight, all workers together (default 256; connect-storm 2000)")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 0, "timeout of one connect and join (default 10s)")
	fs.Float64Var(&cfg.SampleFraction, "sample", 0, "fraction of viewers that decode every frame (default 0.01)")
	fs.IntVar(&cfg.SampleMin, "sample-min", 0, "at least this many sampled viewers (default 50)")
	fs.StringVar(&cfg.OutDir, "out", "", "output directory (default perf/out/<time>-<scenario>-<target>)")
	fs.StringVar(&cfg.JSONOut, "json-out", "", "append the result as one JSON line to this file")
	fs.BoolVar(&cfg.NoCharts, "no-charts", false, "skip the charts")
	fs.StringVar(&cfg.ChartFormat, "chart-format", "svg", "chart format: svg or png")
	quiet := fs.Bool("quiet", false, "no progress line")
	maxRates := fs.String("max-rates", "", "comma-separated max_rate values (thinned streams) the viewers that are not sampled take in turn, 0 for the full stream: 0,20,5 gives a third each")
	failOnLoss := fs.Bool("fail-on-loss", false, "exit 1 when a comment was lost or rejected, or a viewer failed or was disconnected")
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.ServerArgs = strings.Fields(*serverArgs)
	var err error
	if cfg.ServerPIDs, err = intList("server-pid", *serverPIDs); err != nil {
		return cfg, false, err
	}
	if cfg.MaxRates, err = intList("max-rates", *maxRates); err != nil {
		return cfg, false, err
	}
	if *quiet {
		cfg.Progress = nil
	}
	return cfg, *failOnLoss, nil
}

// intList parses the comma-separated integers value of flag name.
func intList(name, value string) ([]int, error) {
	if value == "" {
		return nil, nil
	}
	var out []int
	for field := range strings.SplitSeq(value, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", name, value, err)
		}
		out = append(out, n)
	}
	return out, nil
}
