package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/perf/baseline"
	"github.com/danmu-dev/danmu/perf/floor"
)

// workerEnv makes the test binary a worker: TestMain runs RunWorker
// instead of the tests, as "loadgen worker" does.
const workerEnv = "LOADGEN_TEST_WORKER=1"

func TestMain(m *testing.M) {
	if os.Getenv("LOADGEN_TEST_WORKER") == "1" {
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if danmuBuild.dir != "" {
		_ = os.RemoveAll(danmuBuild.dir)
	}
	os.Exit(code)
}

// danmuBuild is bin/danmu, built once for every test that spawns it.
var danmuBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// testConfig is a small run whose workers are this test binary.
func testConfig(t *testing.T, scenario string) Config {
	return Config{
		Scenario:      scenario,
		OutDir:        t.TempDir(),
		SampleMin:     5,
		WorkerCommand: []string{os.Args[0]},
		WorkerEnv:     []string{workerEnv},
	}
}

// startBaseline serves the baseline in this process.
func startBaseline(t *testing.T, cfg *Config) {
	ts := httptest.NewServer(baseline.New(baseline.Config{}))
	t.Cleanup(ts.Close)
	cfg.Target = TargetBaseline
	cfg.WSAddr, cfg.HTTPAddr = ts.Listener.Addr().String(), ts.Listener.Addr().String()
	cfg.ServerPIDs = []int{os.Getpid()}
}

// buildDanmu builds cmd/danmu, once, into a temporary directory. It builds
// in the server's module, the directory perf/go.mod's replace points at:
// perf's go.sum covers only the dependencies of perf's own packages.
func buildDanmu(t *testing.T) string {
	b := &danmuBuild
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "loadgen-test-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "danmu")
		list := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/danmu-dev/danmu")
		var stderr bytes.Buffer
		list.Stderr = &stderr
		root, err := list.Output()
		if err != nil {
			b.err = fmt.Errorf("go list -m github.com/danmu-dev/danmu: %v\n%s", err, stderr.Bytes())
			return
		}
		build := exec.Command("go", "build", "-o", b.bin, "./cmd/danmu")
		build.Dir = strings.TrimSpace(string(root))
		if out, err := build.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/danmu in %s: %v\n%s", build.Dir, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

func checkClean(t *testing.T, res *Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if p := res.Problems(); len(p) > 0 {
		t.Errorf("problems: %v", p)
	}
}

func TestHotRoomAgainstSpawnedDanmuIntegration(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, ScenarioHotRoom)
	cfg.Spawn, cfg.ServerBin = true, buildDanmu(t)
	cfg.Viewers, cfg.Rate, cfg.Duration = 20, 20, 2*time.Second
	cfg.ViewersPerWorker = 10
	cfg.JSONOut = filepath.Join(cfg.OutDir, "runs.jsonl")
	res, err := Run(context.Background(), cfg)
	checkClean(t, res, err)
	if res.Params.Workers != 2 || res.Viewers.Joined != 20 {
		t.Errorf("workers %d, joined %d; want 2 workers, 20 viewers", res.Params.Workers, res.Viewers.Joined)
	}
	if pb := res.Publish; pb.Scheduled != 40 || pb.Accepted != 40 {
		t.Errorf("comments: %+v; want 40 scheduled and accepted", pb)
	}
	d := res.Delivery
	if d.Expected != 800 || d.Delivered != 800 || d.Sampled.Viewers != 5 || d.Sampled.Expected != 200 {
		t.Errorf("delivery %+v; want 800 of 800, 5 sampled viewers expecting 200", d)
	}
	if res.Latency.Count != 200 || res.Latency.Max <= 0 {
		t.Errorf("latency %+v; want 200 samples", res.Latency)
	}
	if res.Server.CPUSeconds <= 0 || res.Server.RSSMax <= 0 || res.Generator.CPUSeconds <= 0 {
		t.Errorf("server %+v, generator %+v; want CPU and memory sampled", res.Server, res.Generator)
	}
	if g := res.GeneratorSplit; g == nil || g.ViewersCPUSeconds <= 0 || g.ViewersCPUMsPer1000 <= 0 {
		t.Errorf("generator split %+v; want the workers' CPU per delivery", g)
	}
	for _, name := range []string{"result.json", "server.log", "latency.svg", "throughput.svg", "cpu.svg", "rss.svg"} {
		if _, err := os.Stat(filepath.Join(cfg.OutDir, name)); err != nil {
			t.Errorf("output: %v", err)
		}
	}
	f, err := os.Open(cfg.JSONOut)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines int
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		var line Result
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Delivery == nil || line.Delivery.Delivered != 800 {
			t.Errorf("JSON line %q: %v", sc.Text(), err)
		}
	}
	if lines != 1 {
		t.Errorf("%s has %d lines; want 1", cfg.JSONOut, lines)
	}
}

// TestIngestBatchAgainstSpawnedDanmuIntegration posts batches to a
// spawned danmu. (Viewers of one room flooded as fast as batches go would
// see the fan-out's per-frame cap drop comments, by design.)
func TestIngestBatchAgainstSpawnedDanmuIntegration(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, ScenarioIngest)
	cfg.Spawn, cfg.ServerBin = true, buildDanmu(t)
	cfg.Lanes, cfg.Batch, cfg.Duration = 2, 10, 300*time.Millisecond
	res, err := Run(context.Background(), cfg)
	checkClean(t, res, err)
	pb := res.Publish
	if pb.Accepted == 0 || pb.Accepted != pb.Sent || pb.Accepted%10 != 0 || res.Params.Batch != 10 {
		t.Errorf("publish %+v, batch %d; want every comment of whole batches of 10 accepted", pb, res.Params.Batch)
	}
	if res.Server.CPUMsPer1000 <= 0 {
		t.Errorf("server %+v; want CPU per 1000 comments", res.Server)
	}
}

func TestManyRoomsAgainstBaselineIntegration(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, ScenarioManyRooms)
	startBaseline(t, &cfg)
	cfg.Rooms, cfg.ViewersPerRoom, cfg.Rate, cfg.Duration = 4, 5, 5, time.Second
	cfg.NoCharts = true
	res, err := Run(context.Background(), cfg)
	checkClean(t, res, err)
	d := res.Delivery
	if res.Publish.Accepted != 20 || d.Delivered != 100 || d.Sampled.Viewers != 8 || d.Sampled.Expected != 40 {
		t.Errorf("accepted %d, delivery %+v; want 20 accepted, 100 delivered, 8 sampled viewers expecting 40", res.Publish.Accepted, d)
	}
}

func TestIdleAndIngestAgainstBaselineIntegration(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, ScenarioIdle)
	startBaseline(t, &cfg)
	cfg.Viewers, cfg.Settle, cfg.Duration = 20, 100*time.Millisecond, 300*time.Millisecond
	res, err := Run(context.Background(), cfg)
	checkClean(t, res, err)
	if res.Viewers.Joined != 20 || res.Idle == nil || res.Idle.RSSAfter <= 0 {
		t.Errorf("idle: viewers %+v, idle %+v; want 20 joined and memory measured", res.Viewers, res.Idle)
	}

	cfg.Scenario, cfg.Viewers, cfg.Lanes, cfg.Duration = ScenarioIngest, 0, 4, 500*time.Millisecond
	cfg.OutDir = t.TempDir()
	res, err = Run(context.Background(), cfg)
	checkClean(t, res, err)
	if pb := res.Publish; pb.Accepted == 0 || pb.Accepted != pb.Sent || pb.PerSec <= 0 || pb.Service.Count != pb.Sent {
		t.Errorf("ingest: %+v; want every sent comment accepted and timed", pb)
	}
}

// TestIngestAgainstFloorIntegration drives perf/floor's bare HTTP server
// as `loadgen ingest --target floor` does, served in this process.
func TestIngestAgainstFloorIntegration(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := floor.NewServer()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	cfg := testConfig(t, ScenarioIngest)
	cfg.Target, cfg.HTTPAddr, cfg.ServerPIDs = TargetFloor, ln.Addr().String(), []int{os.Getpid()}
	cfg.Lanes, cfg.Duration = 4, 300*time.Millisecond
	res, err := Run(context.Background(), cfg)
	checkClean(t, res, err)
	if pb := res.Publish; pb.Accepted == 0 || pb.Accepted != pb.Sent {
		t.Errorf("ingest against the floor: %+v; want every sent comment accepted", pb)
	}
	// With a rate, ingest is paced: exactly rate × duration comments.
	cfg.Rate, cfg.Duration, cfg.OutDir = 200, 500*time.Millisecond, t.TempDir()
	res, err = Run(context.Background(), cfg)
	checkClean(t, res, err)
	if pb := res.Publish; pb.Scheduled != 100 || pb.Accepted != 100 {
		t.Errorf("paced ingest against the floor: %+v; want 100 scheduled and accepted", pb)
	}
	cfg.Rate = 0
	cfg.Viewers = 10
	if _, err := Run(context.Background(), cfg); !errors.Is(err, errConfig) {
		t.Errorf("the floor with viewers: %v; want %v", err, errConfig)
	}
}

func TestConnectStormIntegration(t *testing.T) {
	t.Parallel()
	t.Run("client drop against baseline", func(t *testing.T) {
		cfg := testConfig(t, ScenarioConnectStorm)
		startBaseline(t, &cfg)
		cfg.Viewers = 30
		res, err := Run(context.Background(), cfg)
		checkClean(t, res, err)
		if s := res.Storm; s == nil || s.Handshakes != 30 || s.PerSec <= 0 || s.Reconnected != 30 || s.ReconnectPerSec <= 0 {
			t.Errorf("storm %+v; want 30 handshakes and 30 reconnects", s)
		}
	})
	t.Run("server restart of danmu", func(t *testing.T) {
		cfg := testConfig(t, ScenarioConnectStorm)
		cfg.Spawn, cfg.ServerBin = true, buildDanmu(t)
		cfg.Viewers = 30
		res, err := Run(context.Background(), cfg)
		checkClean(t, res, err)
		if s := res.Storm; s == nil || s.Handshakes != 30 || s.Reconnected != 30 {
			t.Errorf("storm %+v; want 30 handshakes and 30 reconnects", s)
		}
	})
}
