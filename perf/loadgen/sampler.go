package loadgen

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"
)

// Point is one second of a run.
type Point struct {
	T           float64 `json:"t"` // seconds since the run started
	Open        int64   `json:"open"`
	Disconnects int64   `json:"disconnects"`
	Sent        int64   `json:"sent"`     // cumulative
	Accepted    int64   `json:"accepted"` // cumulative
	Failed      int64   `json:"failed"`   // cumulative
	Backlog     int64   `json:"backlog"`  // comments due and not sent
	Msgs        int64   `json:"msgs"`     // cumulative deliveries
	MsgsPerSec  float64 `json:"msgs_per_s"`
	AcceptedPS  float64 `json:"accepted_per_s"`
	P99         float64 `json:"p99_ms"` // end to end, this second's samples
	ServerCPU   float64 `json:"server_cpu_pct"`
	ServerRSS   int64   `json:"server_rss"`
	ServerThr   int64   `json:"server_threads"`
	GenCPU      float64 `json:"gen_cpu_pct"`
	GenRSS      int64   `json:"gen_rss"`
	MachineBusy float64 `json:"machine_busy_pct"`
}

// procTotals sums /proc samples over processes.
type procTotals struct {
	cpu     time.Duration
	rss     int64
	threads int64
	perPID  map[int]time.Duration
}

func sampleProcs(pids []int) procTotals {
	t := procTotals{perPID: make(map[int]time.Duration, len(pids))}
	for _, pid := range pids {
		s, err := ReadProc(pid)
		if err != nil {
			continue
		}
		t.cpu += s.CPU
		t.rss += s.RSS
		t.threads += s.Threads
		t.perPID[pid] = s.CPU
	}
	return t
}

// cpuSince returns the CPU time used since prev by the processes sampled
// in both; a process that is new (a restarted server) counts from zero.
func (t procTotals) cpuSince(prev procTotals) time.Duration {
	return t.cpuOf(prev, slices.Collect(maps.Keys(t.perPID))...)
}

// cpuOf returns the CPU time pids used since prev, counting a process
// new since prev from zero.
func (t procTotals) cpuOf(prev procTotals, pids ...int) time.Duration {
	var d time.Duration
	for _, pid := range pids {
		d += t.perPID[pid] - prev.perPID[pid]
	}
	return max(d, 0)
}

// mark is the state of the processes and the machine at one time.
type mark struct {
	at      time.Time
	server  procTotals
	gen     procTotals
	machine machineCPU
	msgs    int64
}

func (r *run) mark() mark {
	c, _ := r.counters()
	m, _ := readMachineCPU()
	return mark{at: time.Now(), server: sampleProcs(r.serverPIDs()), gen: sampleProcs(r.generatorPIDs()), machine: m, msgs: c.Msgs}
}

func (r *run) serverPIDs() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.mu.serverPIDs...)
}

func (r *run) generatorPIDs() []int {
	pids := []int{os.Getpid()}
	for _, wp := range r.workerList() {
		pids = append(pids, wp.cmd.Process.Pid)
	}
	return pids
}

// sample runs every second until ctx ends: it appends a Point to the
// series and prints the progress line.
func (r *run) sample(ctx context.Context) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	prev := r.mark()
	var prevAccepted int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		now := r.mark()
		secs := now.at.Sub(prev.at).Seconds()
		c, _ := r.counters()
		p := Point{
			T:           now.at.Sub(r.start).Seconds(),
			Open:        c.Open,
			Disconnects: c.Disconnects,
			Msgs:        c.Msgs,
			MsgsPerSec:  float64(now.msgs-prev.msgs) / secs,
			ServerCPU:   100 * now.server.cpuSince(prev.server).Seconds() / secs,
			ServerRSS:   now.server.rss,
			ServerThr:   now.server.threads,
			GenCPU:      100 * now.gen.cpuSince(prev.gen).Seconds() / secs,
			GenRSS:      now.gen.rss,
			MachineBusy: machinePercent(prev.machine, now.machine, r.res.Host.CPUs),
		}
		r.mu.Lock()
		if r.mu.interval.TotalCount() > 0 {
			p.P99 = float64(r.mu.interval.ValueAtQuantile(99)) / 1000
			r.mu.interval.Reset()
		}
		if pub := r.mu.pub; pub != nil {
			p.Sent, p.Accepted, p.Failed = pub.started.Load(), pub.accepted.Load(), pub.failed.Load()
			if pub.plan.Rate > 0 {
				p.Backlog = max(0, pub.due(now.at)-p.Sent)
				r.mu.maxBacklog = max(r.mu.maxBacklog, p.Backlog)
			}
			p.AcceptedPS = float64(p.Accepted-prevAccepted) / secs
			prevAccepted = p.Accepted
		}
		r.mu.series = append(r.mu.series, p)
		r.mu.Unlock()
		if r.cfg.Progress != nil {
			fmt.Fprintf(r.cfg.Progress, "[%4.0fs] open %d disc %d | sent %d ok %d err %d backlog %d | deliv %s/s p99 %s | server %.0f%% %s | gen %.0f%% | machine %.0f%%\n",
				p.T, p.Open, p.Disconnects, p.Sent, p.Accepted, p.Failed, p.Backlog, si(p.MsgsPerSec), ms(p.P99),
				p.ServerCPU, mib(p.ServerRSS), p.GenCPU, p.MachineBusy)
		}
		prev = now
	}
}

// machinePercent returns the machine's busy time between two samples in
// percent of one core.
func machinePercent(prev, now machineCPU, cpus int) float64 {
	total := now.Total - prev.Total
	if total <= 0 {
		return 0
	}
	return 100 * float64(cpus) * float64(now.Busy-prev.Busy) / float64(total)
}

// si formats v with a k or M suffix.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
