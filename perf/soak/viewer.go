package soak

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/perf/loadgen"
)

// readTimeout bounds one read: a room gets a frame every flush window
// while comments flow and a ping every --ping-interval (25 s) otherwise.
const readTimeout = 2 * time.Minute

var errNotJoined = errors.New("soak: first message is not joined")

// serverMessage is what a viewer decodes of a server message.
type serverMessage struct {
	Type    string `json:"type"`
	Room    string `json:"room"`
	Code    string `json:"code"`
	Dropped int64  `json:"dropped"`
	Gap     bool   `json:"gap"`
	Msgs    []struct {
		Text string `json:"text"`
	} `json:"msgs"`
}

// viewer is one WebSocket viewer of one room on one edge. Its goroutine
// owns the fields below got until run returns.
type viewer struct {
	edge     int
	addr     string
	room     int
	roomName string
	lat      *latencies

	got    atomic.Int64 // distinct comments received so far
	closed atomic.Bool  // the connection ended before the run stopped it

	received loadgen.Bitset // sequence numbers of the room's comments
	dups     int64
	foreign  int64 // texts the soak did not write, or of another room
	dropped  int64 // sum of the frames' "dropped"
	gaps     int64 // frames with "gap":true
	errs     int64 // "error" messages
	// err says why the connection ended before the run stopped it; nil
	// if the run stopped it.
	err    error
	lostAt time.Time
}

// connect dials the edge and waits for the joined message.
func (v *viewer) connect(ctx context.Context) (net.Conn, io.ReadWriter, error) {
	dialer := ws.Dialer{Timeout: 10 * time.Second}
	conn, br, _, err := dialer.Dial(ctx, "ws://"+v.addr+"/ws?room="+v.roomName)
	if err != nil {
		return nil, nil, err
	}
	var src io.Reader = br
	if br == nil {
		src = bufio.NewReaderSize(conn, 4096)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{src, conn}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	data, _, err := wsutil.ReadServerData(rw)
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	var m serverMessage
	if err := codec.JSON.Unmarshal(data, &m); err != nil || m.Type != "joined" || m.Room != v.roomName {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("%w: %.80q", errNotJoined, data)
	}
	return conn, rw, nil
}

// read processes messages until the connection ends; it closes conn when
// ctx ends. A read that fails after ctx ended is the run stopping it.
func (v *viewer) read(ctx context.Context, conn net.Conn, rw io.ReadWriter) {
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer conn.Close()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(readTimeout))
		data, _, err := wsutil.ReadServerData(rw)
		if err != nil {
			if ctx.Err() == nil {
				v.err, v.lostAt = err, time.Now()
				v.closed.Store(true)
			}
			return
		}
		v.onMessage(data, time.Now().UnixNano())
	}
}

// onMessage records the comments of one server message read at readAt.
func (v *viewer) onMessage(data []byte, readAt int64) {
	var m serverMessage
	if err := codec.JSON.Unmarshal(data, &m); err != nil {
		v.errs++
		return
	}
	switch m.Type {
	case "batch":
	case "error":
		v.errs++
		return
	default: // online counts and types this soak does not know
		return
	}
	if m.Room != v.roomName {
		v.foreign += int64(len(m.Msgs))
		return
	}
	v.dropped += m.Dropped
	if m.Gap {
		v.gaps++
	}
	lat := make([]int64, 0, len(m.Msgs))
	for _, msg := range m.Msgs {
		seq, due, ok := parseText(msg.Text)
		switch {
		case !ok:
			v.foreign++
		case v.received.Has(seq):
			v.dups++
		default:
			v.received.Set(seq)
			lat = append(lat, readAt-due)
		}
	}
	v.got.Add(int64(len(lat)))
	v.lat.record(lat)
}

// latencies is the end-to-end latency (frame read time minus the
// comment's due time) of every delivery: over the whole run and since the
// last sample.
type latencies struct {
	mu struct {
		sync.Mutex
		total, window *hdrhistogram.Histogram
	}
}

func newLatencies() *latencies {
	l := &latencies{}
	l.mu.total, l.mu.window = newHist(), newHist()
	return l
}

// newHist covers 1 µs to 10 min with 3 significant digits.
func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(10*time.Minute/time.Microsecond), 3)
}

func (l *latencies) record(ns []int64) {
	if len(ns) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range ns {
		us := max(1, n/1000)
		_ = l.mu.total.RecordValue(us)
		_ = l.mu.window.RecordValue(us)
	}
}

// takeWindow returns the p99 and the maximum (µs) since the last call.
func (l *latencies) takeWindow() (p99, maximum int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p99, maximum = l.mu.window.ValueAtQuantile(99), l.mu.window.Max()
	l.mu.window.Reset()
	return p99, maximum
}

// quantiles returns p50, p99, p99.9 and max (µs) of the whole run.
func (l *latencies) quantiles() (p50, p99, p999, maximum int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.mu.total
	return h.ValueAtQuantile(50), h.ValueAtQuantile(99), h.ValueAtQuantile(99.9), h.Max()
}
