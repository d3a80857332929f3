package soak

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/danmu-dev/danmu/perf/loadgen"
)

// Result is what one soak run found. Failures is empty when it passed.
type Result struct {
	Started  time.Time `json:"started"`
	Command  []string  `json:"command,omitempty"`
	Config   Config    `json:"-"`
	Rooms    []string  `json:"rooms"`
	Viewers  int       `json:"viewers"`
	Seconds  float64   `json:"seconds"` // from the first comment to the last sample
	Failures []string  `json:"failures"`

	Publish  PublishStats  `json:"publish"`
	Delivery DeliveryStats `json:"delivery"`
	// Latency quantiles, end to end, in milliseconds: p50, p99, p99.9, max.
	Latency [4]float64 `json:"latency_ms"`

	RSS        []Growth   `json:"rss"`        // per process, bytes
	Goroutines []Growth   `json:"goroutines"` // per process
	Redis      RedisStats `json:"redis"`
	Samples    []Sample   `json:"samples"`
}

// PublishStats counts what the publishers sent.
type PublishStats struct {
	Scheduled int64            `json:"scheduled"`
	Sent      int64            `json:"sent"`
	Accepted  int64            `json:"accepted"`  // 201
	Uncertain int64            `json:"uncertain"` // 5xx or no answer: maybe stored
	Rejected  int64            `json:"rejected"`  // other answers
	Outcomes  map[string]int64 `json:"outcomes,omitempty"`
	MaxLateMs float64          `json:"max_late_ms"` // send time minus due time
}

// DeliveryStats compares what the viewers received with what was accepted.
type DeliveryStats struct {
	Expected     int64    `json:"expected"` // accepted comments × their room's viewers
	Delivered    int64    `json:"delivered"`
	Lost         int64    `json:"lost"` // accepted, never received, all viewers together
	LossViewers  int      `json:"loss_viewers"`
	LostExamples []string `json:"lost_examples,omitempty"`
	Duplicates   int64    `json:"duplicates"`
	Foreign      int64    `json:"foreign"`
	Dropped      int64    `json:"dropped"`
	Gaps         int64    `json:"gaps"`
	Errors       int64    `json:"errors"`
	Disconnected int      `json:"disconnected"`
	Disconnects  []string `json:"disconnects,omitempty"`
}

// RedisStats is the Redis memory check.
type RedisStats struct {
	BaseUsed    int64 `json:"base_used"` // used_memory before the first comment
	MaxUsed     int64 `json:"max_used"`
	Limit       int64 `json:"limit"`
	StoredBytes int64 `json:"stored_bytes"`
	StreamMax   int64 `json:"stream_max"`
	StreamLimit int64 `json:"stream_limit"`
	MaxRSS      int64 `json:"max_rss"`
}

// exampleLimit caps the examples of lost comments and disconnects in a
// report.
const exampleLimit = 10

// Run runs the soak test and writes its report into cfg.OutDir. The
// error is for a run that could not be carried out (a viewer that could
// not join, an unwritable directory); a run that found problems returns
// them in Result.Failures.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	started := time.Now()
	rooms := roomNames("soak"+strconv.FormatInt(started.UnixMilli(), 36), cfg.Rooms)
	res := &Result{Started: started, Command: cfg.Command, Config: cfg, Rooms: rooms}
	s, err := newSampler(cfg, rooms)
	if err != nil {
		return nil, err
	}
	defer s.close()

	lat := newLatencies()
	viewCtx, stopViewers := context.WithCancel(ctx)
	defer stopViewers()
	viewers, wg, err := startViewers(viewCtx, cfg, rooms, lat)
	if err != nil {
		stopViewers()
		wg.Wait()
		return nil, err
	}
	res.Viewers = len(viewers)
	progress(cfg, "soak: %d viewers joined %d rooms on %d edges; publishing %.0f comments/s for %v",
		len(viewers), len(rooms), len(cfg.EdgeAddrs), cfg.Rate*float64(len(rooms)), cfg.Duration)

	start := time.Now().Add(100 * time.Millisecond)
	pub := newPublisher(cfg.IngestAddr, rooms, cfg.Rate*float64(len(rooms)), cfg.Duration, cfg.Lanes, start)
	r := &run{cfg: cfg, s: s, lat: lat, pub: pub, viewers: viewers, start: start, res: res}
	r.take(ctx, 0)
	res.Redis.BaseUsed = res.Samples[0].Redis.UsedMemory

	pubCtx, stopPublishing := context.WithCancel(ctx)
	defer stopPublishing()
	var publishing sync.WaitGroup
	publishing.Go(func() { pub.run(pubCtx) })
	r.sampleUntil(ctx, start.Add(cfg.Duration), stopPublishing)
	publishing.Wait()
	r.drain(ctx)
	r.take(ctx, time.Since(start))
	stopViewers()
	wg.Wait()

	r.judge()
	return res, r.write()
}

// run is one soak run, owned by Run's goroutine.
type run struct {
	cfg     Config
	s       *sampler
	lat     *latencies
	pub     *publisher
	viewers []*viewer
	start   time.Time
	res     *Result
	// stoppedEarly is set when a process exited during the run.
	stoppedEarly bool
}

// startViewers connects every viewer and starts its reader; it returns
// when all joined, or with the first failure.
func startViewers(ctx context.Context, cfg Config, rooms []string, lat *latencies) ([]*viewer, *sync.WaitGroup, error) {
	var viewers []*viewer
	for e, addr := range cfg.EdgeAddrs {
		for j := range cfg.ViewersPerEdge {
			room := j % len(rooms)
			viewers = append(viewers, &viewer{edge: e, addr: addr, room: room, roomName: rooms[room], lat: lat})
		}
	}
	wg := &sync.WaitGroup{}
	joined := make(chan error, len(viewers))
	slots := make(chan struct{}, 32)
	for _, v := range viewers {
		wg.Go(func() {
			slots <- struct{}{}
			conn, rw, err := v.connect(ctx)
			<-slots
			joined <- err
			if err != nil {
				v.err = err
				return
			}
			v.read(ctx, conn, rw)
		})
	}
	for range viewers {
		if err := <-joined; err != nil {
			return viewers, wg, fmt.Errorf("soak: a viewer could not join: %w", err)
		}
	}
	return viewers, wg, nil
}

// sampleUntil samples every Interval until end (the sample after the
// drain is the last). It stops early, and stops the publishers, when a
// process is gone.
func (r *run) sampleUntil(ctx context.Context, end time.Time, stopPublishing func()) {
	for i := 1; ; i++ {
		at := r.start.Add(time.Duration(i) * r.cfg.Interval)
		if !at.Before(end) || !loadgen.SleepCtx(ctx, time.Until(at)) {
			return
		}
		if gone := r.take(ctx, at.Sub(r.start)); gone != "" {
			r.res.Failures = append(r.res.Failures, gone+": stopped the run early")
			r.stoppedEarly = true
			stopPublishing()
			return
		}
	}
}

// take records one sample at t after the start and prints a progress
// line. It returns a description of a process that is gone, if any.
func (r *run) take(ctx context.Context, t time.Duration) (gone string) {
	procs, redis, self := r.s.sample(ctx)
	p99, maximum := r.lat.takeWindow()
	sample := Sample{T: t.Seconds(), Procs: procs, Redis: redis, Self: self, P99: p99, Max: maximum}
	for _, n := range r.pub.acceptedCounts() {
		sample.Accepted += n
	}
	for _, v := range r.viewers {
		sample.Delivered += v.got.Load()
	}
	sample.Connected = len(r.viewers) - r.disconnected()
	r.res.Samples = append(r.res.Samples, sample)

	line := fmt.Sprintf("soak: t=%4.0fs accepted=%d delivered=%d connected=%d p99=%.1fms",
		sample.T, sample.Accepted, sample.Delivered, sample.Connected, float64(p99)/1000)
	for i, p := range procs {
		line += fmt.Sprintf(" | %s rss=%.1fMiB g=%d", r.cfg.Procs[i].Name, mib(p.RSS), p.Goroutines)
		if p.Err != "" {
			line += " (" + p.Err + ")"
			if _, err := os.Stat("/proc/" + strconv.Itoa(r.cfg.Procs[i].PID)); err != nil {
				gone = fmt.Sprintf("%s (pid %d) exited", r.cfg.Procs[i].Name, r.cfg.Procs[i].PID)
			}
		}
	}
	line += fmt.Sprintf(" | redis used=%.2fMiB xlen=%d", mib(redis.UsedMemory), redis.StreamMax)
	if redis.Err != "" {
		line += " (" + redis.Err + ")"
		if _, err := os.Stat("/proc/" + strconv.Itoa(r.cfg.RedisPID)); r.cfg.RedisPID > 0 && err != nil {
			gone = fmt.Sprintf("redis-server (pid %d) exited", r.cfg.RedisPID)
		}
	}
	progress(r.cfg, "%s", line)
	return gone
}

// disconnected counts the viewers whose connection ended before the run
// stopped them.
func (r *run) disconnected() int {
	n := 0
	for _, v := range r.viewers {
		if v.closed.Load() {
			n++
		}
	}
	return n
}

// drain waits until every viewer received its room's accepted comments,
// deliveries stopped for 5 s, or Drain passed.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Drain)
	var last int64 = -1
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		accepted := r.pub.acceptedCounts()
		done, total := true, int64(0)
		for _, v := range r.viewers {
			got := v.got.Load()
			total += got
			if got < accepted[v.room] && !v.closed.Load() {
				done = false
			}
		}
		if done {
			return
		}
		if total != last {
			last, lastChange = total, time.Now()
		} else if time.Since(lastChange) > 5*time.Second {
			return
		}
		if !loadgen.SleepCtx(ctx, 100*time.Millisecond) {
			return
		}
	}
}

// judge fills the result from the publishers, the viewers (whose
// goroutines have ended) and the samples.
func (r *run) judge() {
	res, pub := r.res, r.pub
	last := res.Samples[len(res.Samples)-1]
	res.Seconds = last.T

	pub.mu.Lock()
	ps := PublishStats{Scheduled: pub.total, Sent: pub.sent.Load(), Rejected: pub.mu.rejected,
		Outcomes: pub.mu.outcomes, MaxLateMs: float64(pub.maxLate.Load()) / 1e6}
	accepted, uncertain := pub.mu.accepted, pub.mu.uncertain
	for room := range accepted {
		ps.Accepted += accepted[room].Count()
		ps.Uncertain += uncertain[room].Count()
	}
	pub.mu.Unlock()
	res.Publish = ps
	if ps.Rejected > 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("%d comments rejected (%v)", ps.Rejected, ps.Outcomes))
	}
	if ps.Sent < ps.Scheduled && len(res.Failures) == 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("the publishers fell behind: %d of %d comments sent", ps.Sent, ps.Scheduled))
	}

	d := &res.Delivery
	for _, v := range r.viewers {
		want := accepted[v.room]
		d.Expected += want.Count()
		d.Delivered += v.received.Count()
		d.Duplicates += v.dups
		d.Foreign += v.foreign
		d.Dropped += v.dropped
		d.Gaps += v.gaps
		d.Errors += v.errs
		if n, first := missing(v.received, want, 3); n > 0 {
			d.Lost += n
			d.LossViewers++
			if len(d.LostExamples) < exampleLimit {
				d.LostExamples = append(d.LostExamples, fmt.Sprintf("edge%d viewer of %s: %d lost, first %v", v.edge+1, v.roomName, n, first))
			}
		}
		if v.err != nil {
			d.Disconnected++
			if len(d.Disconnects) < exampleLimit {
				d.Disconnects = append(d.Disconnects, fmt.Sprintf("edge%d viewer of %s at t=%.0fs: %v", v.edge+1, v.roomName, v.lostAt.Sub(r.start).Seconds(), v.err))
			}
		}
	}
	if d.Lost > 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("%d accepted comments lost, at %d of %d viewers", d.Lost, d.LossViewers, len(r.viewers)))
	}
	if d.Disconnected > 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("%d viewers disconnected", d.Disconnected))
	}
	for _, c := range []struct {
		n    int64
		what string
	}{{d.Duplicates, "duplicate deliveries"}, {d.Gaps, "frames with gap:true"}, {d.Dropped, "messages dropped by the server (dropped:N)"}, {d.Errors, "error or undecodable messages"}, {d.Foreign, "comments of another run or room"}} {
		if c.n > 0 {
			res.Failures = append(res.Failures, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	p50, p99, p999, maximum := r.lat.quantiles()
	res.Latency = [4]float64{float64(p50) / 1000, float64(p99) / 1000, float64(p999) / 1000, float64(maximum) / 1000}

	r.judgeGrowth()
	r.judgeRedis()
}

// judgeGrowth checks the RSS and goroutines of every process over the
// samples after the warmup.
func (r *run) judgeGrowth() {
	res, cfg, b := r.res, r.cfg, r.cfg.Bounds
	for i, p := range cfg.Procs {
		var rss, goroutines []float64
		for _, s := range res.Samples {
			if s.T < cfg.Warmup.Seconds() || s.Procs[i].Err != "" {
				continue
			}
			rss = append(rss, float64(s.Procs[i].RSS))
			goroutines = append(goroutines, float64(s.Procs[i].Goroutines))
		}
		g := checkGrowth(rss, b.RSSRelative, float64(b.RSSAbsolute))
		res.RSS = append(res.RSS, g)
		if !g.OK {
			res.Failures = append(res.Failures, fmt.Sprintf("%s RSS grew: median %.1f MiB in the last third, over the bound %.1f MiB (first third %.1f MiB)",
				p.Name, mib(int64(g.Last)), mib(int64(g.Limit)), mib(int64(g.First))))
		}
		g = checkGrowth(goroutines, b.GoroutinesRelative, float64(b.GoroutinesAbsolute))
		res.Goroutines = append(res.Goroutines, g)
		if !g.OK {
			res.Failures = append(res.Failures, fmt.Sprintf("%s goroutines grew: median %.0f in the last third, over the bound %.0f (first third %.0f)",
				p.Name, g.Last, g.Limit, g.First))
		}
		if len(rss) < 3 && !r.stoppedEarly {
			res.Failures = append(res.Failures, fmt.Sprintf("%s: %d complete samples after the warmup: too few to judge growth", p.Name, len(rss)))
		}
	}
}

// judgeRedis checks every sample's used_memory and stream length against
// what the retention allows.
func (r *run) judgeRedis() {
	res, cfg := r.res, r.cfg
	rs := &res.Redis
	for _, s := range res.Samples {
		if s.Redis.Err != "" {
			res.Failures = append(res.Failures, fmt.Sprintf("redis sample at t=%.0fs: %s", s.T, s.Redis.Err))
			continue
		}
		rs.MaxUsed = max(rs.MaxUsed, s.Redis.UsedMemory)
		rs.MaxRSS = max(rs.MaxRSS, s.Redis.RSS)
		rs.StreamMax = max(rs.StreamMax, s.Redis.StreamMax)
		rs.StoredBytes = max(rs.StoredBytes, s.Redis.StoredBytes)
	}
	rs.Limit = redisLimit(rs.BaseUsed, len(res.Rooms), cfg.Retention, cfg.NodeEntries, rs.StoredBytes, cfg.Bounds)
	rs.StreamLimit = int64(cfg.Retention + cfg.NodeEntries)
	if rs.MaxUsed > rs.Limit {
		res.Failures = append(res.Failures, fmt.Sprintf("Redis used_memory reached %.2f MiB, over the %.2f MiB that --retention %d allows for %d rooms of %d-byte entries",
			mib(rs.MaxUsed), mib(rs.Limit), cfg.Retention, len(res.Rooms), rs.StoredBytes))
	}
	if rs.StreamMax > rs.StreamLimit {
		res.Failures = append(res.Failures, fmt.Sprintf("a stream held %d entries, over --retention %d + %d (one node)", rs.StreamMax, cfg.Retention, cfg.NodeEntries))
	}
}

func progress(cfg Config, format string, args ...any) {
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, format+"\n", args...)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
