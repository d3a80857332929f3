package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// run is one scenario run, owned by Run's goroutine except for mu.
type run struct {
	cfg              Config
	start            time.Time
	layout           layout
	wsAddr, httpAddr string
	res              *Result
	server           *server // nil unless spawned

	// chartLatency is the latency the CDF chart shows: end to end, or
	// the POSTs' when no viewer measured any.
	chartLatency      *hdrhistogram.Histogram
	chartLatencyTitle string

	mu struct {
		sync.Mutex
		workers    []*workerProc
		latest     map[int]workerReport // newest report of each worker
		interval   *hdrhistogram.Histogram
		serverPIDs []int
		pub        *publisher
		maxBacklog int64
		series     []Point
	}
}

// Run runs one scenario and returns its result, also written to
// cfg.OutDir (result.json and charts) and appended to cfg.JSONOut.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	now := time.Now()
	cfg, err := cfg.withDefaults(now)
	if err != nil {
		return nil, err
	}
	raiseFileLimit()
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, start: now, wsAddr: cfg.WSAddr, httpAddr: cfg.HTTPAddr}
	r.mu.latest = make(map[int]workerReport)
	r.mu.interval = newHist()
	r.mu.serverPIDs = cfg.ServerPIDs
	r.res = &Result{Scenario: cfg.Scenario, Target: cfg.Target, Started: now, Command: cfg.Command, Host: hostInfo(), OutDir: cfg.OutDir}
	if cfg.Spawn {
		if err := r.spawn(ctx); err != nil {
			return nil, err
		}
	}
	rooms := roomNames(roomPrefix(now), cfg.Rooms)
	r.layout = layout{
		Viewers:       cfg.Viewers,
		Rooms:         rooms,
		SamplePerRoom: samplePerRoom(cfg.Viewers, len(rooms), cfg.SampleFraction, cfg.SampleMin),
		SourceIPs:     cfg.SourceIPs,
		MaxRates:      cfg.MaxRates,
	}
	r.res.Params = Params{
		Viewers: cfg.Viewers, Rooms: cfg.Rooms, RatePerRoom: cfg.Rate, Duration: cfg.Duration.Seconds(),
		Lanes: cfg.Lanes, Workers: len(split(cfg.Viewers, cfg.ViewersPerWorker)), SourceIPs: cfg.SourceIPs,
		SamplePerRoom: r.layout.SamplePerRoom, ServerArgs: cfg.ServerArgs, Spawned: cfg.Spawn,
		WSAddr: r.wsAddr, HTTPAddr: r.httpAddr, DialConcurrent: cfg.DialConcurrency,
	}

	if cfg.Batch > 1 {
		r.res.Params.Batch = cfg.Batch
	}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	sampling.Go(func() { r.sample(sampleCtx) })
	switch cfg.Scenario {
	case ScenarioIdle:
		err = r.idle(ctx)
	case ScenarioHotRoom, ScenarioManyRooms:
		err = r.paced(ctx)
	case ScenarioIngest:
		err = r.ingest(ctx)
	case ScenarioConnectStorm:
		err = r.storm(ctx)
	}
	stopSampling()
	sampling.Wait()
	var stopErr error
	if len(r.workerList()) > 0 {
		_, stopErr = r.stopWorkers()
	}
	if r.server != nil {
		stopErr = errors.Join(stopErr, r.server.stop(15*time.Second))
	}
	if err != nil {
		return r.res, errors.Join(err, stopErr)
	}
	// The measurement is complete: keep it even if stopping failed (a
	// server that crashed at the end), and say so in it.
	if stopErr != nil {
		r.res.Error = stopErr.Error()
	}
	return r.res, errors.Join(r.write(), stopErr)
}

// spawn starts the server on the configured or free loopback addresses.
func (r *run) spawn(ctx context.Context) error {
	for _, addr := range []*string{&r.wsAddr, &r.httpAddr} {
		if *addr == "" {
			free, err := freeAddr()
			if err != nil {
				return err
			}
			*addr = free
		}
	}
	listening := []string{r.wsAddr, r.httpAddr}
	wsAddr := r.wsAddr
	if r.cfg.httpFloor() {
		listening, wsAddr = listening[1:], ""
	}
	s, err := startServer(ctx, r.cfg.ServerBin, serverArgs(r.cfg.Target, wsAddr, r.httpAddr, r.cfg.ServerArgs),
		filepath.Join(r.cfg.OutDir, "server.log"), listening...)
	if err != nil {
		return err
	}
	r.server = s
	r.mu.Lock()
	r.mu.serverPIDs = []int{s.pid()}
	r.mu.Unlock()
	return nil
}

// connectTimeout bounds the wait for every viewer to join.
func (r *run) connectTimeout() time.Duration {
	return 30*time.Second + time.Duration(r.layout.Viewers)*2*time.Millisecond
}

// connect starts the workers and waits for their viewers.
func (r *run) connect(ctx context.Context, reconnect bool) (readyState, error) {
	if err := r.startWorkers(reconnect); err != nil {
		return readyState{}, err
	}
	st, err := r.waitReady(ctx, r.connectTimeout())
	if err != nil {
		return st, err
	}
	r.res.Viewers = &ViewerStats{Joined: st.counters.Joined, Failed: st.counters.Failed}
	if st.lastJoin > st.firstDial {
		r.res.Viewers.ConnectSecs = time.Duration(st.lastJoin - st.firstDial).Seconds()
	}
	return st, nil
}

// paced runs hot-room and many-rooms: viewers join, publishers send at the
// fixed rate for Duration, and the run waits for the last deliveries.
func (r *run) paced(ctx context.Context) error {
	if _, err := r.connect(ctx, false); err != nil {
		return err
	}
	if !SleepCtx(ctx, time.Second) {
		return ctx.Err()
	}
	begin := r.mark()
	out := r.publish(ctx, r.cfg.Rate*float64(len(r.layout.Rooms)))
	if err := r.drain(ctx, out); err != nil {
		return err
	}
	end := r.mark()
	finals, err := r.stopWorkers()
	if err != nil {
		return err
	}
	r.window(begin, end, finals)
	r.deliveries(out, finals, end.at.Sub(begin.at))
	return nil
}

// publish sends comments at rate per second in all (0: closed loop) for
// Duration and returns what happened.
func (r *run) publish(ctx context.Context, rate float64) publishOutcome {
	start := time.Now().Add(50 * time.Millisecond)
	plan := publishPlan{
		HTTPAddr: r.httpAddr,
		Rooms:    r.layout.Rooms,
		Rate:     rate,
		Lanes:    r.cfg.Lanes,
		Batch:    r.cfg.Batch,
		Start:    start,
		Stop:     start.Add(r.cfg.Duration),
		Timeout:  r.cfg.RequestTimeout,
	}
	if rate > 0 {
		plan.Total = int64(rate * r.cfg.Duration.Seconds())
		// A late comment is still sent: give the backlog as long again
		// as the run, at least 10s, before the rest is reported unsent.
		plan.Stop = start.Add(2*r.cfg.Duration + 10*time.Second)
	}
	p := newPublisher(plan)
	r.mu.Lock()
	r.mu.pub = p
	r.mu.Unlock()
	p.run(ctx)
	answered := time.Now()
	out := p.outcome()
	r.mu.Lock()
	maxBacklog := r.mu.maxBacklog
	r.mu.Unlock()
	ps := &PublishStats{
		Scheduled:  plan.Total,
		Sent:       out.started,
		Accepted:   out.acceptedN,
		Rejected:   out.rejected,
		Uncertain:  out.uncertainN,
		Outcomes:   out.outcomes,
		PerSec:     float64(out.acceptedN) / answered.Sub(start).Seconds(),
		MaxBacklog: maxBacklog,
		Post:       quantiles(out.post),
		Service:    quantiles(out.service),
		Lateness:   quantiles(out.lateness),
	}
	if rate > 0 {
		ps.Unsent = plan.Total - out.started
	}
	r.res.Publish = ps
	return out
}

// drain waits until viewers counted every accepted comment, deliveries
// stopped for 2s, or Drain passed.
func (r *run) drain(ctx context.Context, out publishOutcome) error {
	accepted := perRoom(out.accepted, len(r.layout.Rooms))
	var expected int64
	for k, n := range accepted {
		expected += n * int64(r.layout.roomSize(k))
	}
	deadline := time.Now().Add(r.cfg.Drain)
	last, lastChange := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		c, _ := r.counters()
		if c.Msgs >= expected {
			break
		}
		if c.Msgs != last {
			last, lastChange = c.Msgs, time.Now()
		} else if time.Since(lastChange) > 2*time.Second {
			break
		}
		if !SleepCtx(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	// Let the workers report what arrived since their last tick.
	if !SleepCtx(ctx, workerTick) {
		return ctx.Err()
	}
	return nil
}

// window fills the CPU and memory figures of the window [begin, end].
func (r *run) window(begin, end mark, finals []workerReport) {
	secs := end.at.Sub(begin.at).Seconds()
	r.res.WindowSeconds = secs
	r.res.Server = procStats(r.serverPIDs(), begin.server, end.server, secs)
	r.res.Generator = procStats(append([]int{os.Getpid()}, workerPIDs(finals)...), begin.gen, end.gen, secs)
	if workers := workerPIDs(finals); len(workers) > 0 {
		r.res.GeneratorSplit = &GeneratorSplit{
			PublisherCPUSeconds: end.gen.cpuOf(begin.gen, os.Getpid()).Seconds(),
			ViewersCPUSeconds:   end.gen.cpuOf(begin.gen, workers...).Seconds(),
		}
	}
	r.res.MachineBusy = machinePercent(begin.machine, end.machine, r.res.Host.CPUs)
	r.mu.Lock()
	for _, p := range r.mu.series {
		t := r.start.Add(time.Duration(p.T * float64(time.Second)))
		if t.Before(begin.at) || t.After(end.at) {
			continue
		}
		r.res.Server.RSSMax = max(r.res.Server.RSSMax, p.ServerRSS)
		r.res.Server.ThreadsMax = max(r.res.Server.ThreadsMax, p.ServerThr)
		r.res.Generator.RSSMax = max(r.res.Generator.RSSMax, p.GenRSS)
	}
	r.mu.Unlock()
	r.res.Server.RSSMax = max(r.res.Server.RSSMax, begin.server.rss, end.server.rss)
	r.res.Generator.RSSMax = max(r.res.Generator.RSSMax, begin.gen.rss, end.gen.rss)
}

func procStats(pids []int, begin, end procTotals, secs float64) ProcStats {
	cpu := end.cpuSince(begin).Seconds()
	return ProcStats{PIDs: pids, CPUSeconds: cpu, CPUPercent: 100 * cpu / secs, ThreadsMax: max(begin.threads, end.threads)}
}

// workerPIDs names the worker processes of the final reports.
func workerPIDs(finals []workerReport) []int {
	pids := make([]int, 0, len(finals))
	for _, f := range finals {
		pids = append(pids, f.PID)
	}
	return pids
}

// deliveries compares what the viewers received with what was accepted.
func (r *run) deliveries(out publishOutcome, finals []workerReport, window time.Duration) {
	rooms := len(r.layout.Rooms)
	accepted, uncertain := perRoom(out.accepted, rooms), perRoom(out.uncertain, rooms)
	d := &DeliveryStats{}
	var c workerCounters
	msgs := make([]int64, 0, r.layout.Viewers)
	latency := newHist()
	for _, f := range finals {
		c.add(f.Counters)
		msgs = append(msgs, f.Msgs...)
		if err := mergeEncoded(latency, f.Latency); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		for _, s := range f.Samples {
			sampleLoss(r.layout.roomOf(s.Viewer), rooms, bitsetFromBytes(s.Received), out.accepted, out.uncertain, &d.Sampled)
			d.Sampled.Dups += s.Dups
			d.Sampled.Foreign += s.Foreign
		}
	}
	countLoss(&r.layout, msgs, accepted, uncertain, d)
	d.Delivered, d.Frames, d.Dropped = c.Msgs, c.Frames, c.Dropped
	d.PerSec = float64(c.Msgs) / window.Seconds()
	if c.Frames > 0 {
		d.PerFrame = float64(c.Msgs) / float64(c.Frames)
	}
	r.res.Delivery = d
	q := quantiles(latency)
	r.res.Latency = &q
	r.res.Viewers.Disconnects, r.res.Viewers.Reconnects, r.res.Viewers.Malformed = c.Disconnects, c.Reconnects, c.Malformed
	if c.Msgs > 0 {
		r.res.Server.CPUMsPer1000 = 1e6 * r.res.Server.CPUSeconds / float64(c.Msgs)
		r.res.Generator.CPUMsPer1000 = 1e6 * r.res.Generator.CPUSeconds / float64(c.Msgs)
		if g := r.res.GeneratorSplit; g != nil {
			g.ViewersCPUMsPer1000 = 1e6 * g.ViewersCPUSeconds / float64(c.Msgs)
		}
	}
	r.chartLatency, r.chartLatencyTitle = latency, "end-to-end latency (sampled viewers)"
}

// idle connects the viewers, lets the server settle and measures its
// memory per viewer while they sit for Duration.
func (r *run) idle(ctx context.Context) error {
	if !SleepCtx(ctx, time.Second) {
		return ctx.Err()
	}
	before := r.mark()
	if _, err := r.connect(ctx, false); err != nil {
		return err
	}
	if !SleepCtx(ctx, r.cfg.Settle) {
		return ctx.Err()
	}
	begin := r.mark()
	if !SleepCtx(ctx, r.cfg.Duration) {
		return ctx.Err()
	}
	end := r.mark()
	c, _ := r.counters()
	finals, err := r.stopWorkers()
	if err != nil {
		return err
	}
	r.window(begin, end, finals)
	r.res.Viewers.Disconnects, r.res.Viewers.Malformed = c.Disconnects, c.Malformed
	joined := max(1, r.res.Viewers.Joined)
	r.res.Idle = &IdleStats{
		RSSBefore:          before.server.rss,
		RSSAfter:           end.server.rss,
		BytesPerViewer:     float64(end.server.rss-before.server.rss) / float64(joined),
		GeneratorPerViewer: float64(end.gen.rss-before.gen.rss) / float64(joined),
	}
	return nil
}

// ingest saturates the POST endpoint from Lanes keep-alive clients for
// Duration, or posts at Rate per room when it is set; viewers, if any,
// receive.
func (r *run) ingest(ctx context.Context) error {
	if r.layout.Viewers > 0 {
		if _, err := r.connect(ctx, false); err != nil {
			return err
		}
	}
	begin := r.mark()
	out := r.publish(ctx, r.cfg.Rate*float64(len(r.layout.Rooms)))
	if r.layout.Viewers > 0 {
		if err := r.drain(ctx, out); err != nil {
			return err
		}
	}
	end := r.mark()
	var finals []workerReport
	if r.layout.Viewers > 0 {
		var err error
		if finals, err = r.stopWorkers(); err != nil {
			return err
		}
	}
	r.window(begin, end, finals)
	if r.layout.Viewers > 0 {
		r.deliveries(out, finals, end.at.Sub(begin.at))
	} else if out.acceptedN > 0 {
		r.chartLatency, r.chartLatencyTitle = out.service, "POST latency"
		r.res.Server.CPUMsPer1000 = 1e6 * r.res.Server.CPUSeconds / float64(out.acceptedN)
		r.res.Generator.CPUMsPer1000 = 1e6 * r.res.Generator.CPUSeconds / float64(out.acceptedN)
	}
	return nil
}

// storm connects every viewer at once, then makes them all reconnect:
// by restarting a spawned server (its drain closes every viewer), or by
// dropping every connection from the client side.
func (r *run) storm(ctx context.Context) error {
	begin := r.mark()
	st, err := r.connect(ctx, true)
	if err != nil {
		return err
	}
	end := r.mark()
	storm := &StormStats{Handshakes: st.counters.Joined, Handshake: quantiles(st.handshake)}
	if st.lastJoin > st.firstDial {
		storm.Seconds = time.Duration(st.lastJoin - st.firstDial).Seconds()
		storm.PerSec = float64(storm.Handshakes) / storm.Seconds
	}
	r.res.Storm = storm
	if !SleepCtx(ctx, time.Second) {
		return ctx.Err()
	}

	var t0 time.Time
	if r.server != nil {
		storm.ReconnectMethod = "server restart (drain, then a new process)"
		if err := r.command(cmdExpectDrop); err != nil {
			return err
		}
		if err := r.server.stop(15 * time.Second); err != nil {
			return err
		}
		r.server = nil
		if err := r.spawn(ctx); err != nil {
			return err
		}
		t0 = time.Now()
	} else {
		storm.ReconnectMethod = "client drop (every viewer closes and reconnects)"
		t0 = time.Now()
		if err := r.command(cmdReconnect); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(r.connectTimeout())
	for {
		c, last := r.counters()
		if c.Reconnects >= st.counters.Joined || time.Now().After(deadline) {
			storm.Reconnected = c.Reconnects
			if last > t0.UnixNano() {
				storm.ReconnectSecs = time.Duration(last - t0.UnixNano()).Seconds()
				storm.ReconnectPerSec = float64(c.Reconnects) / storm.ReconnectSecs
			}
			break
		}
		if !SleepCtx(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	finals, err := r.stopWorkers()
	if err != nil {
		return err
	}
	r.window(begin, end, finals)
	var c workerCounters
	for _, f := range finals {
		c.add(f.Counters)
	}
	r.res.Viewers.Disconnects, r.res.Viewers.Reconnects, r.res.Viewers.Malformed = c.Disconnects, c.Reconnects, c.Malformed
	return nil
}

// resultFile is OutDir/result.json: the result and its series.
type resultFile struct {
	*Result
	Series []Point `json:"series"`
}

// write saves result.json, appends the JSON line and draws the charts.
func (r *run) write() error {
	r.mu.Lock()
	series := slices.Clone(r.mu.series)
	r.mu.Unlock()
	data, err := json.MarshalIndent(resultFile{Result: r.res, Series: series}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.cfg.OutDir, "result.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	if r.cfg.JSONOut != "" {
		line, err := json.Marshal(r.res)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(r.cfg.JSONOut, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		_, err = f.Write(append(line, '\n'))
		if err := errors.Join(err, f.Close()); err != nil {
			return err
		}
	}
	if r.cfg.NoCharts {
		return nil
	}
	return writeCharts(r.cfg.OutDir, r.cfg.ChartFormat, r.res, series, r.chartLatency, r.chartLatencyTitle)
}
