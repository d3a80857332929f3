package soak

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danmu-dev/danmu/perf/loadgen"
)

// postTimeout bounds one POST: the ingest answers 503 after its
// --append-timeout (2 s) anyway.
const postTimeout = 10 * time.Second

// publisher posts comments at a fixed total rate over Lanes keep-alive
// connections, open loop: comment i is due at start + i/rate and is sent
// however late, until Stop. Comment i goes to room i % rooms as that
// room's comment number i / rooms.
type publisher struct {
	url   []string // per room
	rate  float64  // total comments per second
	total int64
	start time.Time
	stop  time.Time // nothing is sent after it
	lanes int

	client  *http.Client
	claimed atomic.Int64
	sent    atomic.Int64
	maxLate atomic.Int64 // ns

	mu struct {
		sync.Mutex
		accepted  []loadgen.Bitset // per room: answered 201
		uncertain []loadgen.Bitset // per room: 5xx or no answer, maybe stored
		acceptedN []int64
		rejected  int64
		outcomes  map[string]int64
	}
}

func newPublisher(ingestAddr string, rooms []string, rate float64, duration time.Duration, lanes int, start time.Time) *publisher {
	p := &publisher{
		rate:  rate,
		total: int64(rate * duration.Seconds()),
		start: start,
		stop:  start.Add(duration + 30*time.Second),
		lanes: lanes,
		client: &http.Client{
			Timeout:   postTimeout,
			Transport: &http.Transport{MaxIdleConnsPerHost: lanes, MaxConnsPerHost: lanes},
		},
	}
	for _, room := range rooms {
		p.url = append(p.url, "http://"+ingestAddr+"/v1/rooms/"+room+"/danmaku")
	}
	p.mu.accepted = make([]loadgen.Bitset, len(rooms))
	p.mu.uncertain = make([]loadgen.Bitset, len(rooms))
	p.mu.acceptedN = make([]int64, len(rooms))
	p.mu.outcomes = make(map[string]int64)
	return p
}

// run sends every comment, or until stop passes or ctx ends.
func (p *publisher) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range p.lanes {
		wg.Go(func() { p.runLane(ctx) })
	}
	wg.Wait()
	p.client.CloseIdleConnections()
}

func (p *publisher) runLane(ctx context.Context) {
	rooms := int64(len(p.url))
	var body []byte
	for ctx.Err() == nil {
		i := p.claimed.Add(1) - 1
		if i >= p.total {
			return
		}
		due := p.start.Add(time.Duration(float64(i) * float64(time.Second) / p.rate))
		if !loadgen.SleepCtx(ctx, time.Until(due)) || time.Now().After(p.stop) {
			return
		}
		p.sent.Add(1)
		if late := int64(time.Since(due)); late > p.maxLate.Load() {
			p.maxLate.Store(late)
		}
		room, seq := int(i%rooms), i/rooms
		body = append(body[:0], `{"text":"`...)
		body = appendText(body, seq, due.UnixNano())
		body = append(body, `"}`...)
		status, outcome := p.post(ctx, p.url[room], body)
		p.record(room, seq, status, outcome)
	}
}

// post sends one comment and returns the status (0 when no answer came)
// and a word for the report.
func (p *publisher) post(ctx context.Context, url string, body []byte) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "request error"
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, "stopped"
		}
		return 0, "transport error"
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, "status " + strconv.Itoa(resp.StatusCode)
}

func (p *publisher) record(room int, seq int64, status int, outcome string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case status == http.StatusCreated:
		p.mu.accepted[room].Set(seq)
		p.mu.acceptedN[room]++
		return
	case status == 0 || status >= 500:
		p.mu.uncertain[room].Set(seq)
	default:
		p.mu.rejected++
	}
	p.mu.outcomes[outcome]++
}

// acceptedCounts returns the comments answered 201 so far, per room.
func (p *publisher) acceptedCounts() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int64(nil), p.mu.acceptedN...)
}
