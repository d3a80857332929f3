package loadgen

import (
	"bytes"
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
	// Batch, above 1, posts that many comments per request to
	// .../danmaku:batch (closed loop, one room).
	Batch int
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
	route := "/danmaku"
	if plan.Batch > 1 {
		route = "/danmaku:batch"
	}
	for _, room := range plan.Rooms {
		p.paths = append(p.paths, "/v1/rooms/"+room+route)
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
	n := int64(max(1, p.plan.Batch)) // comments per request
	for ctx.Err() == nil {
		i := p.claimed.Add(n) - n
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
		p.started.Add(n)
		if n == 1 {
			body = appendComment(body[:0], id, i, due.UnixNano())
		} else {
			body = append(body[:0], `{"comments":[`...)
			for k := range n {
				if k > 0 {
					body = append(body, ',')
				}
				body = appendComment(body, id, i+k, due.UnixNano())
			}
			body = append(body, "]}"...)
		}
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
		var accepted int64
		if n == 1 {
			l.record(i, err, resp.StatusCode())
			if err == nil && resp.StatusCode() == fasthttp.StatusCreated {
				accepted = 1
			}
		} else {
			accepted = l.recordBatch(i, n, err, resp)
		}
		p.accepted.Add(accepted)
		p.failed.Add(n - accepted)
	}
}

// appendComment appends the body of comment seq of lane, due at due
// (unix ns).
func appendComment(dst []byte, lane int, seq, due int64) []byte {
	dst = append(dst, `{"text":"`...)
	dst = appendText(dst, lane, seq, due)
	return append(dst, `"}`...)
}

// recordBatch classifies the answers to comments first..first+n-1, posted
// in one batch, and returns how many were accepted. A batch answered 200
// has one result per comment, in order, each starting {"status":<code>;
// any other answer is every comment's.
func (l *lane) recordBatch(first, n int64, err error, resp *fasthttp.Response) int64 {
	if err != nil || resp.StatusCode() != fasthttp.StatusOK {
		for k := range n {
			l.record(first+k, err, resp.StatusCode())
		}
		return 0
	}
	var accepted int64
	results := resp.Body()
	for k := range n {
		status, rest, ok := nextBatchStatus(results)
		if !ok {
			l.record(first+k, errMalformedBatch, 0)
			continue
		}
		results = rest
		l.record(first+k, nil, status)
		if status == fasthttp.StatusCreated {
			accepted++
		}
	}
	return accepted
}

var errMalformedBatch = errors.New("loadgen: batch answer lacks a result")

// statusMarker starts each result of a batch answer.
var statusMarker = []byte(`{"status":`)

// nextBatchStatus returns the status of the first result in b and what
// follows it.
func nextBatchStatus(b []byte) (status int, rest []byte, ok bool) {
	at := bytes.Index(b, statusMarker)
	if at < 0 {
		return 0, b, false
	}
	b = b[at+len(statusMarker):]
	end := 0
	for end < len(b) && b[end] >= '0' && b[end] <= '9' {
		end++
	}
	status, err := strconv.Atoi(string(b[:end]))
	return status, b[end:], err == nil
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
	case errors.Is(err, errMalformedBatch):
		return "malformed batch answer"
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
