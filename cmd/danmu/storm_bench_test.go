package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/prometheus/procfs"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// The reconnect storm of BenchmarkReconnectStorm.
const (
	stormRoom = "storm"
	// stormViewersEnv sets the number of viewers; defaultStormViewers is
	// the number the issue asks for.
	stormViewersEnv     = "DANMUTEST_STORM_VIEWERS"
	defaultStormViewers = 10000
	// stormDials bounds the dials and handshakes in flight.
	stormDials = 256
	// stormBacklog is the comments the room holds before the viewers
	// first join, stormLive the comments posted while they watch, before
	// each restart, and stormWhileDown those posted while no edge runs.
	stormBacklog   = 50
	stormLive      = 10
	stormWhileDown = 10
	// stormTimeout bounds each wait for the viewers.
	stormTimeout = 2 * time.Minute
)

// BenchmarkReconnectStorm restarts the edge under the viewers of one room
// (DANMUTEST_STORM_VIEWERS, default 10 000) and measures the storm that
// follows: every viewer reconnects at once with the same since, 20
// comments back (10 it saw live before the restart, 10 posted while no
// edge ran). It reports, per storm:
//
//   - s-to-all-live, s-to-half-live: from the first dial until every
//     viewer, and half of them, had all 20;
//   - server-cpu-s: the new edge's CPU time (a process of its own, from
//     /proc) over that time; clients-cpu-s this process's (the viewers;
//     the in-process ingest is idle), redis-cpu-s Redis's;
//   - redis-round-trips: the edge's Redis requests (its blocking reads
//     aside); redis-range-calls the XRANGE and XREVRANGE Redis ran, and
//     redis-commands all its data commands (connection handling aside);
//   - replay-reads: the edge's stream reads for replays, shared by the
//     viewers resuming from one position; joins-replayed-read and
//     joins-replayed-mem: the joins they served, and those the room's
//     recent entries served with no read.
//
// Every connection must get each comment posted after its position
// exactly once and in order, and the restart must close every connection
// with 1001; anything else fails the benchmark. One iteration is one
// restart and storm: run it with -benchtime=1x. docs/performance.md
// ("Reconnect storm") has results.
func BenchmarkReconnectStorm(b *testing.B) {
	redis := redistest.Start(b)
	s := &storm{
		b:       b,
		redis:   redis,
		api:     startNode(b, "ingest", "--redis", redis.Addr()),
		viewers: make([]*stormViewer, stormViewerCount(b)),
		dials:   make(chan struct{}, stormDials),
	}
	for i := range s.viewers {
		s.viewers[i] = &stormViewer{}
	}
	s.post(stormBacklog)
	s.edge = startProcess(b, "edge", "--redis", redis.Addr())
	s.connect("")
	total := make(map[string]float64)
	for b.Loop() {
		since := s.posted[len(s.posted)-1]
		s.stopEdge()
		s.post(stormWhileDown)
		s.edge = startProcess(b, "edge", "--redis", redis.Addr())
		for unit, v := range s.reconnect(since) {
			total[unit] += v
		}
	}
	s.stopEdge()
	for unit, v := range total {
		b.ReportMetric(v/float64(b.N), unit)
	}
}

// stormViewerCount returns the viewers DANMUTEST_STORM_VIEWERS asks for, or
// the default.
func stormViewerCount(b *testing.B) int {
	v := os.Getenv(stormViewersEnv)
	if v == "" {
		return defaultStormViewers
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q; want a number of viewers", stormViewersEnv, v)
	}
	return n
}

// storm is the state of BenchmarkReconnectStorm, for the benchmark's
// goroutine.
type storm struct {
	b       *testing.B
	redis   *redistest.Server
	api     *node
	edge    *node
	viewers []*stormViewer
	dials   chan struct{} // a slot per dial in flight

	// posted holds the IDs of the comments posted so far, in order;
	// the viewers' connections must get those from index from on.
	posted []string
	from   int
}

// post posts n comments to the room.
func (s *storm) post(n int) {
	for range n {
		text := "comment " + strconv.Itoa(len(s.posted))
		s.posted = append(s.posted, mustPost(s.b, s.api.apiAddr, stormRoom, text))
	}
}

// connect connects every viewer to the edge and returns when each is
// live: with since, once it has every comment posted after since;
// without, once it joined.
func (s *storm) connect(since string) {
	s.b.Helper()
	url := "ws://" + s.edge.wsAddr + "/ws?room=" + stormRoom
	s.from = len(s.posted)
	if since != "" {
		url += "&since=" + since
		s.from = slices.Index(s.posted, since) + 1
	}
	want := len(s.posted) - s.from
	for _, v := range s.viewers {
		v.reset()
		go v.run(url, want, s.dials)
	}
	s.waitViewers("every viewer to be live", func(v *stormViewer) bool { return v.live.Load() })
}

// reconnect is the storm: every viewer reconnects at once after since,
// and it returns, by unit, what that cost until each had every comment
// posted after since.
func (s *storm) reconnect(since string) map[string]float64 {
	s.b.Helper()
	before := s.sample()
	start := time.Now()
	s.connect(since)
	after := s.sample()

	toLive := make([]time.Duration, len(s.viewers))
	for i, v := range s.viewers {
		toLive[i] = v.liveAt.Sub(start)
	}
	slices.Sort(toLive)
	return map[string]float64{
		"viewers":             float64(len(s.viewers)),
		"s-to-all-live":       toLive[len(toLive)-1].Seconds(),
		"s-to-half-live":      toLive[len(toLive)/2].Seconds(),
		"server-cpu-s":        after.edgeCPU - before.edgeCPU,
		"clients-cpu-s":       after.ownCPU - before.ownCPU,
		"redis-cpu-s":         after.redisCPU - before.redisCPU,
		"redis-round-trips":   after.roundTrips - before.roundTrips,
		"redis-range-calls":   after.rangeCalls - before.rangeCalls,
		"redis-commands":      after.commands - before.commands,
		"replay-reads":        after.replayReads - before.replayReads,
		"joins-replayed-read": after.replaysRead - before.replaysRead,
		"joins-replayed-mem":  after.replaysFromMemory - before.replaysFromMemory,
	}
}

// stopEdge posts stormLive comments and waits until every viewer has
// them, stops the edge with SIGTERM, and checks that every connection
// ended with 1001 having received each comment posted since it
// connected, once and in order.
func (s *storm) stopEdge() {
	s.b.Helper()
	s.post(stormLive)
	want := s.posted[s.from:]
	s.waitViewers("the live comments", func(v *stormViewer) bool { return v.got.Load() >= int64(len(want)) })
	if err := s.edge.terminate(); err != nil {
		s.b.Fatalf("danmu edge: SIGTERM: %v", err)
	}
	waitFor(s.b, stormTimeout, "every viewer's connection to end", func() bool {
		return !slices.ContainsFunc(s.viewers, func(v *stormViewer) bool { return !v.ended.Load() })
	})
	wrong := 0
	for i, v := range s.viewers {
		var closed wsutil.ClosedError
		if !errors.As(v.err, &closed) || closed.Code != ws.StatusGoingAway || !slices.Equal(v.ids, want) {
			if wrong == 0 {
				s.b.Errorf("viewer %d: connection ended with %v after the comments %q; want 1001 after %q",
					i, v.err, v.ids, want)
			}
			wrong++
		}
	}
	if wrong > 0 {
		s.b.Fatalf("%d of %d viewers did not get each comment once, in order, then 1001", wrong, len(s.viewers))
	}
}

// waitViewers waits until ready holds for every viewer, failing the
// benchmark when a connection ends first.
func (s *storm) waitViewers(what string, ready func(v *stormViewer) bool) {
	s.b.Helper()
	deadline := time.Now().Add(stormTimeout)
	for {
		waiting := 0
		for i, v := range s.viewers {
			if v.ended.Load() {
				s.b.Fatalf("viewer %d: connection ended while waiting for %s: %v (comments %q)", i, what, v.err, v.ids)
			}
			if !ready(v) {
				waiting++
			}
		}
		if waiting == 0 {
			return
		}
		if time.Now().After(deadline) {
			i := slices.IndexFunc(s.viewers, func(v *stormViewer) bool { return !ready(v) })
			s.b.Fatalf("%d of %d viewers still waiting for %s after %v; viewer %d has %d comments",
				waiting, len(s.viewers), what, stormTimeout, i, s.viewers[i].got.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stormSample is what the storm's processes had done at one time: CPU
// seconds; the edge's Redis round trips (blocking reads aside) and replay
// counters; the range reads (XRANGE, XREVRANGE) and all data commands
// Redis ran.
type stormSample struct {
	edgeCPU, ownCPU, redisCPU                   float64
	roundTrips, rangeCalls, commands            float64
	replaysRead, replayReads, replaysFromMemory float64
}

// sample reads the CPU time of the edge and of this process (viewers and
// ingest) from /proc, Redis's from INFO, the calls of INFO commandstats
// and the edge's /metrics.
func (s *storm) sample() stormSample {
	s.b.Helper()
	var x stormSample
	x.edgeCPU = processCPU(s.b, s.edge.cmd.Process.Pid)
	x.ownCPU = processCPU(s.b, os.Getpid())
	for _, field := range []string{"used_cpu_sys", "used_cpu_user"} {
		v, err := strconv.ParseFloat(s.redis.Info(field), 64)
		if err != nil {
			s.b.Fatalf("INFO %s: %v", field, err)
		}
		x.redisCPU += v
	}
	for command, calls := range commandCalls(s.b, s.redis) {
		switch {
		case command == "xrange" || command == "xrevrange":
			x.rangeCalls += calls
		case command == "hello" || command == "info" || command == "ping" ||
			strings.HasPrefix(command, "client|") || strings.HasPrefix(command, "cluster|"):
			continue // connection handling, and this sampling's own
		}
		x.commands += calls
	}
	m := scrape(s.b, s.edge.adminAddr)
	x.replaysRead = m.value("danmu_fanout_replays_total", "source=queued")
	x.replaysFromMemory = m.value("danmu_fanout_replays_total", "source=memory")
	x.replayReads = m.value("danmu_fanout_replay_reads_total")
	x.roundTrips = m.value("danmu_redis_round_trip_seconds")
	return x
}

// processCPU returns the user and system CPU seconds of process pid.
func processCPU(b *testing.B, pid int) float64 {
	b.Helper()
	p, err := procfs.NewProc(pid)
	if err != nil {
		b.Fatal(err)
	}
	stat, err := p.Stat()
	if err != nil {
		b.Fatal(err)
	}
	return stat.CPUTime()
}

// commandCalls returns the calls of each command Redis ran so far, from
// INFO commandstats ("cmdstat_xrange:calls=3,usec=...").
func commandCalls(b *testing.B, redis *redistest.Server) map[string]float64 {
	b.Helper()
	reply := redis.MustDo("INFO", "commandstats")
	text, err := reply.ToString()
	if err != nil {
		b.Fatalf("INFO commandstats: %v", err)
	}
	calls := make(map[string]float64)
	for line := range strings.Lines(text) {
		name, stats, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(stats, ",")
		v, err := strconv.ParseFloat(n, 64)
		if err != nil {
			b.Fatalf("INFO commandstats: %q: %v", line, err)
		}
		calls[name] = v
	}
	return calls
}

// stormViewer is one viewer of the storm, one connection at a time. Its
// fields belong to run while it runs; the benchmark reads ids, liveAt and
// err once ended is set, and got, live and ended at any time.
type stormViewer struct {
	ids    []string  // the comments of the connection, as received
	liveAt time.Time // when it had the comments it waited for
	err    error     // why the connection ended

	got   atomic.Int64 // len(ids)
	live  atomic.Bool  // liveAt is set
	ended atomic.Bool  // err is set, run returned
}

// reset prepares v for a new connection; v.run must have ended.
func (v *stormViewer) reset() {
	v.ids, v.liveAt, v.err = v.ids[:0], time.Time{}, nil
	v.got.Store(0)
	v.live.Store(false)
	v.ended.Store(false)
}

// run connects to url, holding a slot of dials through the handshake, and
// reads until the connection ends. v is live once it has want comments,
// or has joined when want is zero.
func (v *stormViewer) run(url string, want int, dials chan struct{}) {
	defer v.ended.Store(true)
	dials <- struct{}{}
	conn, br, _, err := ws.Dialer{Timeout: waitTimeout}.Dial(context.Background(), url)
	<-dials
	if err != nil {
		v.err = err
		return
	}
	defer conn.Close()
	if br == nil {
		br = bufio.NewReader(conn)
	}
	// wsutil answers pings and close frames on conn.
	rw := struct {
		io.Reader
		io.Writer
	}{br, conn}
	joined := false
	for {
		data, _, err := wsutil.ReadServerData(rw)
		if err != nil {
			v.err = err
			return
		}
		var m serverMessage
		if err := json.Unmarshal(data, &m); err != nil {
			v.err = fmt.Errorf("undecodable message %.100q: %w", data, err)
			return
		}
		switch {
		case m.Type == "joined" && m.Room == stormRoom && !joined:
			joined = true
		case m.Type == "batch" && m.Room == stormRoom && joined && !m.Gap && m.Dropped == 0:
			for _, msg := range m.Msgs {
				v.ids = append(v.ids, msg.ID)
			}
			v.got.Store(int64(len(v.ids)))
		case m.Type == "online":
			continue
		default:
			v.err = fmt.Errorf("unexpected message %.200s", data)
			return
		}
		if len(v.ids) >= want && !v.live.Load() {
			v.liveAt = time.Now()
			v.live.Store(true)
		}
	}
}
