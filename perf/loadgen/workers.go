package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// workerProc is the coordinator's handle on one worker process.
type workerProc struct {
	plan   workerPlan
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	enc    *json.Encoder
	ready  chan workerReport // the ready report
	acks   chan workerReport // one per command but stop
	final  chan workerReport // the final report
	exited chan struct{}     // closed when the report stream ended
}

// startWorkers starts one worker process per part of the viewers.
func (r *run) startWorkers(reconnect bool) error {
	parts := split(r.layout.Viewers, r.cfg.ViewersPerWorker)
	for w, part := range parts {
		plan := workerPlan{
			Worker:          w,
			WSAddr:          r.wsAddr,
			Layout:          r.layout,
			First:           part[0],
			Count:           part[1],
			DialConcurrency: max(1, r.cfg.DialConcurrency/len(parts)),
			ConnectTimeout:  r.cfg.ConnectTimeout,
			Reconnect:       reconnect,
			Tick:            workerTick,
			MaxMessage:      16 << 20,
		}
		cmd := exec.Command(r.cfg.WorkerCommand[0], r.cfg.WorkerCommand[1:]...)
		cmd.Env = append(os.Environ(), r.cfg.WorkerEnv...)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("loadgen: start worker: %w", err)
		}
		wp := &workerProc{plan: plan, cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin),
			ready: make(chan workerReport, 1), acks: make(chan workerReport, 4), final: make(chan workerReport, 1), exited: make(chan struct{})}
		r.mu.Lock()
		r.mu.workers = append(r.mu.workers, wp)
		r.mu.Unlock()
		go r.readReports(wp, stdout)
		if err := wp.enc.Encode(plan); err != nil {
			return fmt.Errorf("loadgen: send plan to worker %d: %w", w, err)
		}
	}
	return nil
}

// workerTick is how often workers report.
const workerTick = 250 * time.Millisecond

func (r *run) readReports(wp *workerProc, stdout io.Reader) {
	defer close(wp.exited)
	dec := json.NewDecoder(stdout)
	for {
		var rep workerReport
		if err := dec.Decode(&rep); err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(os.Stderr, "loadgen: worker %d: %v\n", wp.plan.Worker, err)
			}
			return
		}
		r.onReport(wp, &rep)
		switch rep.Type {
		case reportReady:
			wp.ready <- rep
		case reportAck:
			wp.acks <- rep
		case reportFinal:
			wp.final <- rep
			return
		}
	}
}

// onReport keeps the latest counters of each worker and gathers the
// interval latencies for the progress line.
func (r *run) onReport(wp *workerProc, rep *workerReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.latest[wp.plan.Worker] = *rep
	if err := mergeEncoded(r.mu.interval, rep.Interval); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: worker %d: %v\n", wp.plan.Worker, err)
	}
}

// readyState sums the workers' ready reports.
type readyState struct {
	counters            workerCounters
	firstDial, lastJoin int64
	handshake           *hdrhistogram.Histogram
}

// waitReady waits until every worker's viewers joined or failed for good.
func (r *run) waitReady(ctx context.Context, timeout time.Duration) (readyState, error) {
	st := readyState{handshake: newHist()}
	deadline := time.After(timeout)
	for _, wp := range r.workerList() {
		select {
		case rep := <-wp.ready:
			st.counters.add(rep.Counters)
			if st.firstDial == 0 || (rep.FirstDial != 0 && rep.FirstDial < st.firstDial) {
				st.firstDial = rep.FirstDial
			}
			st.lastJoin = max(st.lastJoin, rep.LastJoin)
			if err := mergeEncoded(st.handshake, rep.Handshake); err != nil {
				return st, err
			}
		case <-wp.exited:
			return st, fmt.Errorf("loadgen: worker %d exited before its viewers joined", wp.plan.Worker)
		case <-deadline:
			return st, fmt.Errorf("loadgen: viewers not joined within %v", timeout)
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
	return st, nil
}

// command sends cmd to every worker and waits until each has applied it.
func (r *run) command(cmd string) error {
	workers := r.workerList()
	for _, wp := range workers {
		if err := wp.enc.Encode(workerCommand{Cmd: cmd}); err != nil {
			return fmt.Errorf("loadgen: send %s to worker %d: %w", cmd, wp.plan.Worker, err)
		}
	}
	deadline := time.After(10 * time.Second)
	for _, wp := range workers {
		select {
		case <-wp.acks:
		case <-wp.exited:
			return fmt.Errorf("loadgen: worker %d exited before applying %s", wp.plan.Worker, cmd)
		case <-deadline:
			return fmt.Errorf("loadgen: worker %d did not apply %s within 10s", wp.plan.Worker, cmd)
		}
	}
	return nil
}

// stopWorkers stops every worker and returns their final reports, in
// worker order.
func (r *run) stopWorkers() ([]workerReport, error) {
	workers := r.workerList()
	var err error
	for _, wp := range workers {
		err = errors.Join(err, wp.enc.Encode(workerCommand{Cmd: cmdStop}))
	}
	finals := make([]workerReport, len(workers))
	deadline := time.After(30 * time.Second)
	for i, wp := range workers {
		select {
		case finals[i] = <-wp.final:
		case <-wp.exited:
			select {
			case finals[i] = <-wp.final:
			default:
				err = errors.Join(err, fmt.Errorf("loadgen: worker %d exited without a final report", wp.plan.Worker))
			}
		case <-deadline:
			err = errors.Join(err, fmt.Errorf("loadgen: worker %d sent no final report within 30s", wp.plan.Worker))
		}
		_ = wp.stdin.Close()
	}
	for _, wp := range workers {
		// Wait closes the pipe: the reader must be done with it first.
		select {
		case <-wp.exited:
		case <-time.After(5 * time.Second):
			_ = wp.cmd.Process.Kill()
			<-wp.exited
		}
		done := make(chan error, 1)
		go func() { done <- wp.cmd.Wait() }()
		select {
		case e := <-done:
			err = errors.Join(err, e)
		case <-time.After(5 * time.Second):
			_ = wp.cmd.Process.Kill()
			<-done
		}
	}
	r.mu.Lock()
	r.mu.workers = nil
	r.mu.Unlock()
	return finals, err
}

func (r *run) workerList() []*workerProc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*workerProc(nil), r.mu.workers...)
}

// counters sums the latest counters of every worker.
func (r *run) counters() (workerCounters, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var c workerCounters
	var lastReconnect int64
	for _, rep := range r.mu.latest {
		c.add(rep.Counters)
		lastReconnect = max(lastReconnect, rep.LastReconnect)
	}
	return c, lastReconnect
}

func (c *workerCounters) add(o workerCounters) {
	c.Joined += o.Joined
	c.Failed += o.Failed
	c.Open += o.Open
	c.Disconnects += o.Disconnects
	c.Reconnects += o.Reconnects
	c.Frames += o.Frames
	c.Msgs += o.Msgs
	c.Bytes += o.Bytes
	c.Dropped += o.Dropped
	c.Malformed += o.Malformed
}
