package loadgen

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// publishPlan says what the publishers send.
type publishPlan struct {
	HTTPAddr string
	Rooms    []string // comment i goes to Rooms[i % len(Rooms)]
	// Rate is the total comments per second. Comment i is due at
	// Start + i/Rate. Zero means closed loop: every lane sends its next
	// comment as soon as the previous one is answered, until Stop.
	Rate  float64
	Total int64 // comments to send when paced
	Lanes int   // concurrent keep-alive connections
	Start time.Time
	// Stop ends a closed loop; a paced run sends nothing after it, and the
	// comments not sent by then are reported as unsent.
	Stop    time.Time
	Timeout time.Duration // per request
}

// dueAt returns when comment i is due at rate comments/s from start.
func dueAt(start time.Time, i int64, rate float64) time.Time {
	return start.Add(dueOffset(i, rate))
}

func dueOffset(i int64, rate float64) time.Duration {
	return time.Duration(float64(i) * float64(time.Second) / rate)
}

// dueBy returns how many of total comments are due by elapsed: comment i is
// due at dueOffset(i), so comment 0 is due at once.
func dueBy(elapsed time.Duration, rate float64, total int64) int64 {
	if elapsed < 0 {
		return 0
	}
	// The estimate may be one short where float rounding truncated the
	// offset of the next comment.
	last := int64(elapsed.Seconds() * rate)
	if dueOffset(last+1, rate) <= elapsed {
		last++
	}
	return min(total, last+1)
}

// publisher posts comments over keep-alive connections, open loop when
// paced: a comment is sent however late it is, never skipped.
type publisher struct {
	plan   publishPlan
	client *fasthttp.HostClient
	paths  []string // per room

	claimed  atomic.Int64 // next comment number
	started  atomic.Int64 // requests begun
	accepted atomic.Int64 // 201
	failed   atomic.Int64 // anything else
	lanes    []*lane
}

// lane is one connection's sender; its goroutine owns it until run
// returns.
type lane struct {
	accepted  Bitset // comment numbers answered 201
	uncertain Bitset // transport errors and 5xx: maybe stored
	rejected  int64
	outcomes  map[string]int64
	post      *hdrhistogram.Histogram // answer time minus due time
	service   *hdrhistogram.Histogram // answer time minus send time
	lateness  *hdrhistogram.Histogram // send time minus due time
}

func newPublisher(plan publishPlan) *publisher {
	p := &publisher{
		plan: plan,
		client: &fasthttp.HostClient{
			Addr:                plan.HTTPAddr,
			MaxConns:            plan.Lanes,
			ReadTimeout:         plan.Timeout,
			WriteTimeout:        plan.Timeout,
			MaxIdleConnDuration: time.Minute,
		},
	}
	for _, room := range plan.Rooms {
		p.paths = append(p.paths, "/v1/rooms/"+room+"/danmaku")
	}
	return p
}

// due returns the number of comments due now (paced runs).
func (p *publisher) due(now time.Time) int64 {
	return dueBy(now.Sub(p.plan.Start), p.plan.Rate, p.plan.Total)
}

// run sends until every comment is sent (paced), Stop passes or ctx ends.
func (p *publisher) run(ctx context.Context) {
	var wg sync.WaitGroup
	p.lanes = make([]*lane, p.plan.Lanes)
	for i := range p.lanes {
		l := &lane{outcomes: make(map[string]int64), post: newHist(), service: newHist(), lateness: newHist()}
		p.lanes[i] = l
		wg.Go(func() { p.runLane(ctx, i, l) })
	}
	wg.Wait()
}

func (p *publisher) runLane(ctx context.Context, id int, l *lane) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	body := make([]byte, 0, 64)
	paced := p.plan.Rate > 0
	for ctx.Err() == nil {
		i := p.claimed.Add(1) - 1
		var due time.Time
		if paced {
			if i >= p.plan.Total {
				return
			}
			due = dueAt(p.plan.Start, i, p.plan.Rate)
			if !SleepCtx(ctx, time.Until(due)) || time.Now().After(p.plan.Stop) {
				return
			}
		} else {
			due = time.Now()
			if due.After(p.plan.Stop) {
				return
			}
		}
		sent := time.Now()
		p.started.Add(1)
		body = append(body[:0], `{"text":"`...)
		body = appendText(body, id, i, due.UnixNano())
		body = append(body, `"}`...)
		req.Reset()
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetHost(p.plan.HTTPAddr)
		req.SetRequestURI(p.paths[i%int64(len(p.paths))])
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
		err := p.client.DoTimeout(req, resp, p.plan.Timeout)
		answered := time.Now()
		recordMicros(l.lateness, sent.Sub(due).Nanoseconds())
		recordMicros(l.post, answered.Sub(due).Nanoseconds())
		recordMicros(l.service, answered.Sub(sent).Nanoseconds())
		l.record(i, err, resp.StatusCode())
		if err == nil && resp.StatusCode() == fasthttp.StatusCreated {
			p.accepted.Add(1)
		} else {
			p.failed.Add(1)
		}
	}
}

// record classifies the answer to comment i.
func (l *lane) record(i int64, err error, status int) {
	switch {
	case err != nil:
		l.uncertain.Set(i)
		l.outcomes[transportError(err)]++
	case status == fasthttp.StatusCreated:
		l.accepted.Set(i)
	case status >= 500:
		l.uncertain.Set(i)
		l.outcomes["status "+strconv.Itoa(status)]++
	default:
		l.rejected++
		l.outcomes["status "+strconv.Itoa(status)]++
	}
}

func transportError(err error) string {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout):
		return "timeout"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "connection closed"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no free connections"
	}
	return "transport error"
}

// publishOutcome is everything the publishers did, merged over lanes.
type publishOutcome struct {
	accepted, uncertain     Bitset
	acceptedN, uncertainN   int64
	started, rejected       int64
	outcomes                map[string]int64
	post, service, lateness *hdrhistogram.Histogram
}

// outcome merges the lanes; call it after run returned.
func (p *publisher) outcome() publishOutcome {
	o := publishOutcome{outcomes: make(map[string]int64), post: newHist(), service: newHist(), lateness: newHist(), started: p.started.Load()}
	for _, l := range p.lanes {
		o.accepted = orBits(o.accepted, l.accepted)
		o.uncertain = orBits(o.uncertain, l.uncertain)
		o.rejected += l.rejected
		for k, v := range l.outcomes {
			o.outcomes[k] += v
		}
		o.post.Merge(l.post)
		o.service.Merge(l.service)
		o.lateness.Merge(l.lateness)
	}
	o.acceptedN, o.uncertainN = o.accepted.Count(), o.uncertain.Count()
	return o
}

// orBits returns a | b, reusing a.
func orBits(a, b Bitset) Bitset {
	if len(b) > len(a) {
		a, b = append(Bitset(nil), b...), a
	}
	for i, w := range b {
		a[i] |= w
	}
	return a
}
