package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// workerPlan is the first line the coordinator writes to a worker's
// standard input: which viewers it runs and how.
type workerPlan struct {
	Worker          int           `json:"worker"`
	WSAddr          string        `json:"ws_addr"`
	Layout          layout        `json:"layout"`
	First           int           `json:"first"` // global number of the first viewer
	Count           int           `json:"count"`
	DialConcurrency int           `json:"dial_concurrency"`
	ConnectTimeout  time.Duration `json:"connect_timeout"`
	Reconnect       bool          `json:"reconnect"` // reconnect after a lost connection
	Tick            time.Duration `json:"tick"`
	MaxMessage      int           `json:"max_message"`
}

// Commands a worker reads after its plan, one JSON object a line.
const (
	cmdStop      = "stop"      // close every viewer and send the final report
	cmdReconnect = "reconnect" // drop every connection; viewers reconnect
	// cmdExpectDrop announces that the server will close every
	// connection (a restart): those closes are not disconnects.
	cmdExpectDrop = "expect-drop"
)

type workerCommand struct {
	Cmd string `json:"cmd"`
}

// Kinds of worker reports.
const (
	reportReady = "ready" // every viewer joined or failed for good
	reportTick  = "tick"
	reportAck   = "ack" // a command other than stop was applied
	reportFinal = "final"
)

// workerCounters are a worker's cumulative counts.
type workerCounters struct {
	Joined      int64 `json:"joined"`      // viewers whose first join succeeded
	Failed      int64 `json:"failed"`      // viewers that never joined
	Open        int64 `json:"open"`        // connections open now
	Disconnects int64 `json:"disconnects"` // connections ended by the server or network
	Reconnects  int64 `json:"reconnects"`  // joins after a lost connection
	Frames      int64 `json:"frames"`      // data messages read
	Msgs        int64 `json:"msgs"`        // comments counted in them
	Bytes       int64 `json:"bytes"`       // payload bytes of the data messages
	Dropped     int64 `json:"dropped"`     // sum of the frames' "dropped" fields
	Malformed   int64 `json:"malformed"`   // protocol violations and undecodable frames
}

// workerReport is one line a worker writes to its standard output.
type workerReport struct {
	Type     string         `json:"type"`
	Worker   int            `json:"worker"`
	PID      int            `json:"pid"`
	At       int64          `json:"at"` // unix ns
	Counters workerCounters `json:"counters"`
	// Interval is the latency histogram since the previous tick.
	Interval      string `json:"interval,omitempty"`
	LastReconnect int64  `json:"last_reconnect,omitempty"` // unix ns

	// Ready: the first dial, the last join and the connect-to-joined times.
	FirstDial int64  `json:"first_dial,omitempty"`
	LastJoin  int64  `json:"last_join,omitempty"`
	Handshake string `json:"handshake,omitempty"`

	// Final: the latency of the whole run, every viewer's message count
	// (in viewer order; -1 for one that never joined) and the sampled
	// viewers' sets.
	Latency string         `json:"latency,omitempty"`
	Msgs    []int64        `json:"msgs,omitempty"`
	Samples []sampleReport `json:"samples,omitempty"`
}

// sampleReport is what a sampled viewer saw.
type sampleReport struct {
	Viewer   int    `json:"viewer"`
	Received []byte `json:"received"` // bitset of sequence numbers
	Dups     int64  `json:"dups"`
	Foreign  int64  `json:"foreign"`
}

// worker runs a plan's viewers in this process, on a few event loops.
type worker struct {
	plan workerPlan
	out  *reportWriter

	// ready is closed when every viewer's first join succeeded or failed
	// for good; joining counts those still to come.
	ready   chan struct{}
	joining atomic.Int64

	counters struct {
		joined, failed, open, disconnects, reconnects atomic.Int64
		frames, msgs, bytes, dropped, malformed       atomic.Int64
	}
	lastReconnect atomic.Int64
	// forceGen counts cmdReconnect and cmdExpectDrop: a viewer whose
	// connection ended after it changed does not count a disconnect.
	forceGen atomic.Int64
	logged   atomic.Int64

	lat struct {
		sync.Mutex
		total, interval *hdrhistogram.Histogram
	}
	hs struct {
		sync.Mutex
		hist                *hdrhistogram.Histogram
		firstDial, lastJoin int64
	}
}

// reportWriter serializes reports from several goroutines.
type reportWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (rw *reportWriter) write(r *workerReport) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.enc.Encode(r)
}

// RunWorker is the worker process: it reads a plan from in, runs its
// viewers, writes reports to out until told to stop (or in ends), and
// returns after the final report.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	raiseFileLimit()
	dec := json.NewDecoder(in)
	var plan workerPlan
	if err := dec.Decode(&plan); err != nil {
		return fmt.Errorf("loadgen worker: read plan: %w", err)
	}
	w := &worker{plan: plan, out: &reportWriter{enc: json.NewEncoder(out)}}
	w.lat.total, w.lat.interval = newHist(), newHist()
	w.hs.hist = newHist()

	commands := make(chan string, 4)
	go func() {
		defer close(commands)
		for {
			var c workerCommand
			if err := dec.Decode(&c); err != nil {
				return
			}
			commands <- c.Cmd
		}
	}()
	return w.run(ctx, commands)
}

func (w *worker) run(ctx context.Context, commands <-chan string) error {
	viewers := make([]*viewer, w.plan.Count)
	for j := range viewers {
		i := w.plan.First + j
		v := &viewer{w: w, index: i, room: w.plan.Layout.Rooms[w.plan.Layout.roomOf(i)], local: w.plan.Layout.sourceIP(i), first: true, fd: -1}
		if w.plan.Layout.sampled(i) {
			v.sample = &sample{}
		}
		viewers[j] = v
	}
	w.ready = make(chan struct{})
	w.joining.Store(int64(len(viewers)))
	if len(viewers) == 0 {
		close(w.ready)
	}
	// Viewers are dealt to the loops in turn, so that each loop has its
	// share of every room and every source address.
	loops := make([]*loop, min(loopsPerWorker, max(1, len(viewers))))
	for k := range loops {
		var mine []*viewer
		for j := k; j < len(viewers); j += len(loops) {
			mine = append(mine, viewers[j])
		}
		l, err := newLoop(w, mine, w.plan.DialConcurrency/len(loops))
		if err != nil {
			for _, started := range loops[:k] {
				started.close()
			}
			return err
		}
		loops[k] = l
	}
	var running sync.WaitGroup
	for _, l := range loops {
		running.Go(l.run)
	}

	ticker := time.NewTicker(w.plan.Tick)
	defer ticker.Stop()
	ready := w.ready
	var err error
loop:
	for {
		select {
		case <-ready:
			ready = nil
			err = errors.Join(err, w.writeReady())
		case <-ticker.C:
			err = errors.Join(err, w.writeTick())
		case cmd, ok := <-commands:
			if !ok || cmd == cmdStop {
				break loop
			}
			switch cmd {
			case cmdExpectDrop:
				w.forceGen.Add(1)
			case cmdReconnect:
				w.forceGen.Add(1)
				for _, l := range loops {
					l.send(cmdReconnect)
				}
			}
			ack := w.snapshot(reportAck)
			err = errors.Join(err, w.out.write(&ack))
		case <-ctx.Done():
			break loop
		}
	}
	for _, l := range loops {
		l.send(cmdStop)
	}
	running.Wait()
	return errors.Join(err, w.writeFinal(viewers))
}

// joinedOne notes that a viewer's first join succeeded or failed for
// good; after the last, the worker reports ready.
func (w *worker) joinedOne() {
	if w.joining.Add(-1) == 0 {
		close(w.ready)
	}
}

func (w *worker) snapshot(kind string) workerReport {
	c := &w.counters
	return workerReport{
		Type:   kind,
		Worker: w.plan.Worker,
		PID:    os.Getpid(),
		At:     time.Now().UnixNano(),
		Counters: workerCounters{
			Joined: c.joined.Load(), Failed: c.failed.Load(), Open: c.open.Load(),
			Disconnects: c.disconnects.Load(), Reconnects: c.reconnects.Load(),
			Frames: c.frames.Load(), Msgs: c.msgs.Load(), Bytes: c.bytes.Load(),
			Dropped: c.dropped.Load(), Malformed: c.malformed.Load(),
		},
		LastReconnect: w.lastReconnect.Load(),
	}
}

func (w *worker) writeReady() error {
	r := w.snapshot(reportReady)
	w.hs.Lock()
	r.FirstDial, r.LastJoin = w.hs.firstDial, w.hs.lastJoin
	hs, err := encodeHist(w.hs.hist)
	w.hs.Unlock()
	if err != nil {
		return err
	}
	r.Handshake = hs
	return w.out.write(&r)
}

func (w *worker) writeTick() error {
	r := w.snapshot(reportTick)
	w.lat.Lock()
	var err error
	if w.lat.interval.TotalCount() > 0 {
		r.Interval, err = encodeHist(w.lat.interval)
		w.lat.interval.Reset()
	}
	w.lat.Unlock()
	if err != nil {
		return err
	}
	return w.out.write(&r)
}

func (w *worker) writeFinal(viewers []*viewer) error {
	r := w.snapshot(reportFinal)
	w.lat.Lock()
	lat, err := encodeHist(w.lat.total)
	w.lat.Unlock()
	if err != nil {
		return err
	}
	r.Latency = lat
	r.Msgs = make([]int64, len(viewers))
	for j, v := range viewers {
		r.Msgs[j] = v.msgs
		if !v.joined {
			r.Msgs[j] = -1
		}
		if s := v.sample; s != nil {
			r.Samples = append(r.Samples, sampleReport{Viewer: v.index, Received: s.received.bytes(), Dups: s.dups, Foreign: s.foreign})
		}
	}
	return w.out.write(&r)
}

// recordLatency records end-to-end latencies in nanoseconds.
func (w *worker) recordLatency(nanos []int64) {
	if len(nanos) == 0 {
		return
	}
	w.lat.Lock()
	for _, d := range nanos {
		recordMicros(w.lat.total, d)
		recordMicros(w.lat.interval, d)
	}
	w.lat.Unlock()
}

func (w *worker) noteDial(at int64) {
	w.hs.Lock()
	if w.hs.firstDial == 0 || at < w.hs.firstDial {
		w.hs.firstDial = at
	}
	w.hs.Unlock()
}

func (w *worker) noteJoin(start, joined time.Time) {
	w.hs.Lock()
	recordMicros(w.hs.hist, joined.Sub(start).Nanoseconds())
	w.hs.lastJoin = max(w.hs.lastJoin, joined.UnixNano())
	w.hs.Unlock()
}

func (w *worker) noteReconnect(at int64) {
	for {
		last := w.lastReconnect.Load()
		if at <= last || w.lastReconnect.CompareAndSwap(last, at) {
			return
		}
	}
}

// maxLogLines caps a worker's diagnostics: a failing run of thousands of
// viewers would print thousands of lines saying the same thing.
const maxLogLines = 10

// logf writes one of the first maxLogLines diagnostics to standard error,
// which the coordinator passes through.
func (w *worker) logf(format string, args ...any) {
	if n := w.logged.Add(1); n <= maxLogLines {
		fmt.Fprintf(os.Stderr, "loadgen worker %d: %s\n", w.plan.Worker, fmt.Sprintf(format, args...))
	}
}
