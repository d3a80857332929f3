package loadgen

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Scenarios.
const (
	ScenarioIdle         = "idle"          // viewers connect and sit: server RSS per viewer
	ScenarioHotRoom      = "hot-room"      // one room, many viewers, paced comments
	ScenarioManyRooms    = "many-rooms"    // many rooms of equal size, paced comments in each
	ScenarioIngest       = "ingest"        // closed-loop POSTs from keep-alive clients
	ScenarioConnectStorm = "connect-storm" // handshakes/s, then a reconnect storm
)

// Scenarios lists every scenario name.
var Scenarios = []string{ScenarioIdle, ScenarioHotRoom, ScenarioManyRooms, ScenarioIngest, ScenarioConnectStorm}

// Targets.
const (
	TargetDanmu    = "danmu"
	TargetBaseline = "baseline"
	// TargetFloor is perf/floor's floors (bin/floor): for the ingest
	// scenario a bare HTTP server that answers every POST with 201, for
	// the others the fan-out floor (floor.Fanout), which delivers the
	// comments posted as danmu's hub batches them and does nothing else.
	TargetFloor = "floor"
)

// httpFloor reports whether c drives the HTTP floor alone: bin/floor,
// which then serves no WebSockets.
func (c Config) httpFloor() bool { return c.Target == TargetFloor && c.Scenario == ScenarioIngest }

var errConfig = errors.New("loadgen: invalid configuration")

// Config describes one run. Zero fields take the defaults stated on them,
// which depend on the scenario.
type Config struct {
	Scenario string
	// Target names the server kind: TargetDanmu, TargetBaseline or
	// TargetFloor. It chooses the spawned binary and its arguments.
	Target string
	// Command is the generator's command line, recorded in the result.
	Command []string

	// WSAddr and HTTPAddr are the server's WebSocket and HTTP addresses:
	// of a running server, or where a spawned one listens (empty: free
	// loopback ports).
	WSAddr, HTTPAddr string
	// ServerPIDs are the server processes to sample from /proc when the
	// generator does not spawn the server.
	ServerPIDs []int
	// Spawn starts the server (ServerBin with the listen flags and
	// ServerArgs) and stops it at the end.
	Spawn bool
	// ServerBin defaults to bin/danmu or bin/baseline.
	ServerBin  string
	ServerArgs []string

	// Viewers is the number of WebSocket viewers: default 1 000 (idle,
	// connect-storm), 2 000 (hot-room), 0 (ingest); many-rooms has
	// Rooms × ViewersPerRoom.
	Viewers int
	// Rooms is the number of rooms: default 100 (many-rooms), 1 otherwise.
	Rooms int
	// ViewersPerRoom is many-rooms' room size. Default 100.
	ViewersPerRoom int
	// Rate is comments per second per room: default 100 (hot-room), 10
	// (many-rooms). ingest is a closed loop (every lane posts again as
	// soon as it is answered) unless Rate is set: then it is paced, so
	// that servers can be compared at the same load.
	Rate float64
	// Duration is how long comments are sent (or viewers sit, for idle).
	// Default 20s; 10s for ingest and idle.
	Duration time.Duration
	// Drain bounds the wait for the last deliveries after the last
	// comment. Default 15s.
	Drain time.Duration
	// Settle is the pause before idle measures memory. Default 3s.
	Settle time.Duration
	// Lanes is the number of concurrent publishing connections. Default 16
	// when paced, 64 for ingest.
	Lanes int
	// RequestTimeout bounds each POST. Default 10s.
	RequestTimeout time.Duration
	// Batch, above 1, makes each request of the ingest scenario carry
	// Batch comments to POST .../danmaku:batch (danmu, one room only).
	// Default 1: one comment per POST .../danmaku.
	Batch int

	// SourceIPs spreads viewers over 127.0.0.1..127.0.0.SourceIPs.
	// Default 16; at most 254.
	SourceIPs int
	// ViewersPerWorker caps the viewers of one worker process (one
	// process may hold at most the open-file limit). Default 9 000.
	ViewersPerWorker int
	// DialConcurrency caps the connects in flight, all workers together.
	// Default 256; 2 000 for connect-storm.
	DialConcurrency int
	// ConnectTimeout bounds one connect, upgrade and join. Default 10s.
	ConnectTimeout time.Duration
	// SampleFraction of the viewers, and at least SampleMin of them,
	// decode every frame. Defaults 0.01 and 50.
	SampleFraction float64
	SampleMin      int
	// MaxRates, when set, are the max_rate values (thinned streams) the
	// viewers that are not sampled ask for in turn, 0 for the full
	// stream: "0,20,5" gives a third each. Their deliveries are counted
	// apart (DeliveryStats.Thinned), not checked against what was
	// posted.
	MaxRates []int

	// OutDir receives result.json, server.log and the charts. Default
	// perf/out/<timestamp>-<scenario>-<target>.
	OutDir string
	// JSONOut, when set, gets the result appended as one JSON line.
	JSONOut string
	// NoCharts skips the charts.
	NoCharts bool
	// ChartFormat is svg (the default) or png.
	ChartFormat string
	// Progress receives a progress line every second. Nil means none.
	Progress io.Writer
	// WorkerCommand starts a worker process (which must run RunWorker on
	// its standard input and output); WorkerEnv is added to its
	// environment. Default: this executable with the argument "worker".
	WorkerCommand []string
	WorkerEnv     []string
}

// withDefaults fills the zero fields and checks the rest.
func (c Config) withDefaults(now time.Time) (Config, error) {
	switch c.Target {
	case "":
		c.Target = TargetDanmu
	case TargetDanmu, TargetBaseline:
	case TargetFloor:
		if c.httpFloor() && c.Viewers > 0 {
			return c, fmt.Errorf("%w: target %s serves the ingest scenario without viewers", errConfig, TargetFloor)
		}
	default:
		return c, fmt.Errorf("%w: target %q: want %s, %s or %s", errConfig, c.Target, TargetDanmu, TargetBaseline, TargetFloor)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDuration := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	switch c.Scenario {
	case ScenarioIdle, ScenarioConnectStorm:
		def(&c.Viewers, 1000)
		def(&c.Rooms, 1)
		defDuration(&c.Duration, 10*time.Second)
	case ScenarioHotRoom:
		def(&c.Viewers, 2000)
		def(&c.Rooms, 1)
		if c.Rate <= 0 {
			c.Rate = 100
		}
	case ScenarioManyRooms:
		def(&c.Rooms, 100)
		def(&c.ViewersPerRoom, 100)
		c.Viewers = c.Rooms * c.ViewersPerRoom
		if c.Rate <= 0 {
			c.Rate = 10
		}
	case ScenarioIngest:
		def(&c.Rooms, 1)
		if c.Batch > 1 && (c.Rooms != 1 || c.Target != TargetDanmu) {
			return c, fmt.Errorf("%w: --batch needs one room and target danmu", errConfig)
		}
		def(&c.Lanes, 64)
		defDuration(&c.Duration, 10*time.Second)
		c.Rate = max(c.Rate, 0)
	default:
		return c, fmt.Errorf("%w: scenario %q: want one of %v", errConfig, c.Scenario, Scenarios)
	}
	if c.Scenario != ScenarioIngest && c.Batch > 1 {
		return c, fmt.Errorf("%w: --batch is for the ingest scenario", errConfig)
	}
	def(&c.Batch, 1)
	if c.Viewers < 0 {
		return c, fmt.Errorf("%w: %d viewers", errConfig, c.Viewers)
	}
	if c.Viewers > 0 && c.Rooms > c.Viewers {
		return c, fmt.Errorf("%w: %d rooms for %d viewers", errConfig, c.Rooms, c.Viewers)
	}
	for _, rate := range c.MaxRates {
		if rate < 0 {
			return c, fmt.Errorf("%w: max rate %d", errConfig, rate)
		}
	}
	defDuration(&c.Duration, 20*time.Second)
	defDuration(&c.Drain, 15*time.Second)
	defDuration(&c.Settle, 3*time.Second)
	defDuration(&c.RequestTimeout, 10*time.Second)
	defDuration(&c.ConnectTimeout, 10*time.Second)
	def(&c.Lanes, 16)
	def(&c.SourceIPs, 16)
	c.SourceIPs = min(c.SourceIPs, 254)
	def(&c.ViewersPerWorker, 9000)
	if c.Scenario == ScenarioConnectStorm {
		def(&c.DialConcurrency, 2000)
	}
	def(&c.DialConcurrency, 256)
	if c.SampleFraction <= 0 {
		c.SampleFraction = 0.01
	}
	def(&c.SampleMin, 50)
	switch c.ChartFormat {
	case "":
		c.ChartFormat = "svg"
	case "svg", "png":
	default:
		return c, fmt.Errorf("%w: chart format %q: want svg or png", errConfig, c.ChartFormat)
	}
	if c.OutDir == "" {
		c.OutDir = filepath.Join("perf", "out", now.Format("20060102-150405")+"-"+c.Scenario+"-"+c.Target)
	}
	if c.Spawn {
		if c.ServerBin == "" {
			c.ServerBin = filepath.Join("bin", c.Target)
		}
		if _, err := os.Stat(c.ServerBin); err != nil {
			return c, fmt.Errorf("%w: server binary: %v (make build baseline)", errConfig, err)
		}
	} else if c.HTTPAddr == "" || (c.WSAddr == "" && !c.httpFloor()) {
		return c, fmt.Errorf("%w: give --ws-addr and --http-addr of a running server, or --spawn", errConfig)
	}
	if len(c.WorkerCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return c, err
		}
		c.WorkerCommand = []string{exe, "worker"}
	}
	return c, nil
}

// roomPrefix names this run's rooms, so that runs against one server
// never share a room.
func roomPrefix(now time.Time) string {
	return "lg" + strconv.FormatInt(now.UnixMilli(), 36)
}
