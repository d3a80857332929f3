package soak

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/danmu-dev/danmu/perf/loadgen"
)

var errFormat = errors.New("soak: unexpected format")

// ProcSample is one process at one sample.
type ProcSample struct {
	RSS        int64   `json:"rss"` // bytes
	Goroutines int64   `json:"goroutines"`
	Threads    int64   `json:"threads"`
	CPU        float64 `json:"cpu_seconds"` // user + system since the process started
	// Err says why the sample is incomplete (the process exited, its
	// admin address did not answer).
	Err string `json:"err,omitempty"`
}

// RedisSample is Redis at one sample.
type RedisSample struct {
	UsedMemory  int64  `json:"used_memory"`
	RSS         int64  `json:"rss"`          // of the redis-server process
	StreamMax   int64  `json:"stream_max"`   // longest stream of the run's rooms (XLEN)
	StoredBytes int64  `json:"stored_bytes"` // largest newest entry of the run's rooms
	Err         string `json:"err,omitempty"`
}

// Sample is everything recorded at one sampling time.
type Sample struct {
	// T is the time since the first comment was due, in seconds; the
	// sample taken before it has T = 0.
	T     float64      `json:"t"`
	Procs []ProcSample `json:"procs"` // parallel to Config.Procs
	Redis RedisSample  `json:"redis"`
	Self  ProcSample   `json:"self"` // the soak process
	// Accepted and Delivered are totals so far: comments answered 201 and
	// distinct comments received, all viewers together.
	Accepted  int64 `json:"accepted"`
	Delivered int64 `json:"delivered"`
	Connected int   `json:"connected"` // viewers connected
	// P99 and Max are the end-to-end latency (µs) since the last sample.
	P99 int64 `json:"p99_us"`
	Max int64 `json:"max_us"`
}

// readProc reads the RSS, thread count and CPU time of pid from /proc.
func readProc(pid int) (ProcSample, error) {
	p, err := loadgen.ReadProc(pid)
	if err != nil {
		return ProcSample{}, err
	}
	return ProcSample{RSS: p.RSS, Threads: p.Threads, CPU: p.CPU.Seconds()}, nil
}

// goroutineCount asks a danmu admin address for its goroutine profile and
// returns the total from its first line.
func goroutineCount(ctx context.Context, client *http.Client, adminAddr string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("soak: %s/debug/pprof/goroutine: %s", adminAddr, resp.Status)
	}
	line, err := bufio.NewReader(io.LimitReader(resp.Body, 4096)).ReadString('\n')
	if err != nil {
		return 0, err
	}
	return parseGoroutineTotal(line)
}

// parseGoroutineTotal parses "goroutine profile: total N", the first line
// of /debug/pprof/goroutine?debug=1.
func parseGoroutineTotal(line string) (int64, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("%w: goroutine profile starts %.60q", errFormat, line)
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: goroutine total %.30q", errFormat, rest)
	}
	return n, nil
}

// infoField returns the integer field name of an INFO reply.
func infoField(info, name string) (int64, error) {
	for line := range strings.SplitSeq(info, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && key == name {
			return strconv.ParseInt(value, 10, 64)
		}
	}
	return 0, fmt.Errorf("%w: no %s in INFO", errFormat, name)
}

// sampler takes the samples of one run.
type sampler struct {
	cfg    Config
	keys   []string // the run's stream keys
	redis  rueidis.Client
	client *http.Client // for the admin addresses
}

func newSampler(cfg Config, rooms []string) (*sampler, error) {
	redis, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{cfg.RedisAddr}, DisableCache: true})
	if err != nil {
		return nil, fmt.Errorf("soak: redis %s: %w", cfg.RedisAddr, err)
	}
	s := &sampler{cfg: cfg, redis: redis, client: &http.Client{Timeout: 5 * time.Second}}
	for _, room := range rooms {
		s.keys = append(s.keys, cfg.RedisPrefix+"{"+room+"}:s")
	}
	return s, nil
}

func (s *sampler) close() { s.redis.Close() }

// sample records the processes and Redis now.
func (s *sampler) sample(ctx context.Context) (procs []ProcSample, redis RedisSample, self ProcSample) {
	for _, p := range s.cfg.Procs {
		ps, err := readProc(p.PID)
		if err != nil {
			ps.Err = fmt.Sprintf("process %d: %v", p.PID, err)
		} else if ps.Goroutines, err = goroutineCount(ctx, s.client, p.AdminAddr); err != nil {
			ps.Err = err.Error()
		}
		procs = append(procs, ps)
	}
	redis = s.sampleRedis(ctx)
	self, err := readProc(os.Getpid())
	if err != nil {
		self.Err = err.Error()
	}
	self.Goroutines = int64(runtime.NumGoroutine())
	return procs, redis, self
}

func (s *sampler) sampleRedis(ctx context.Context) RedisSample {
	var r RedisSample
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	fail := func(err error) RedisSample {
		r.Err = err.Error()
		return r
	}
	if s.cfg.RedisPID > 0 {
		ps, err := readProc(s.cfg.RedisPID)
		if err != nil {
			return fail(fmt.Errorf("redis-server %d: %w", s.cfg.RedisPID, err))
		}
		r.RSS = ps.RSS
	}
	info, err := s.redis.Do(ctx, s.redis.B().Info().Section("memory").Build()).ToString()
	if err != nil {
		return fail(err)
	}
	if r.UsedMemory, err = infoField(info, "used_memory"); err != nil {
		return fail(err)
	}
	cmds := make(rueidis.Commands, 0, 2*len(s.keys))
	for _, key := range s.keys {
		cmds = append(cmds, s.redis.B().Xlen().Key(key).Build(),
			s.redis.B().Xrevrange().Key(key).End("+").Start("-").Count(1).Build())
	}
	results := s.redis.DoMulti(ctx, cmds...)
	for i := 0; i < len(results); i += 2 {
		n, err := results[i].AsInt64()
		if err != nil {
			return fail(err)
		}
		r.StreamMax = max(r.StreamMax, n)
		entries, err := results[i+1].AsXRange()
		if err != nil {
			return fail(err)
		}
		for _, e := range entries {
			r.StoredBytes = max(r.StoredBytes, int64(len(e.FieldValues["d"])))
		}
	}
	return r
}
