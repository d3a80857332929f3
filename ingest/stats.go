package ingest

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/danmu-dev/danmu/metric"
	"github.com/valyala/fasthttp"
)

// Methods are the request methods Stats measures apart; any other is
// measured as "other".
var Methods = [...]string{"GET", "POST", "PUT", "DELETE", "OPTIONS", "other"}

// Stats counts the requests a Server answered. All its methods and fields
// are safe for concurrent use, and counting a request allocates nothing.
type Stats struct {
	// Duration records, per method (indexed as Methods), the time from
	// the handler's call (fasthttp's request time, RequestCtx.Time, read
	// just before it) to the answer being ready, in nanoseconds.
	// Requests fasthttp could not read are not routed and not timed.
	Duration [len(Methods)]*metric.Histogram
	// AppendErrors counts the comments whose append to the stream failed
	// or timed out (answered 503 unavailable or too_many_rooms).
	AppendErrors atomic.Uint64
	// AcceptErrors counts failed accepts (running out of file
	// descriptors), after each of which the server backs off and retries.
	AcceptErrors atomic.Uint64
	// ProxyRefused counts the connections closed for their PROXY
	// protocol header (Config.ProxyProtocol): one from an untrusted
	// address, a missing or malformed one, one that did not come within
	// ReadTimeout.
	ProxyRefused atomic.Uint64

	// requests maps a status and error code to its counter. It is
	// replaced, under mu, when a pair is seen for the first time: there
	// are a few dozen pairs, so it settles at once and lookups take no
	// lock.
	requests atomic.Pointer[map[RequestKey]*atomic.Uint64]
	mu       sync.Mutex
}

// RequestKey is what requests are counted by: the HTTP status and, for an
// error answer, its code (see the Code constants).
type RequestKey struct {
	Status int
	Code   string
}

func newStats() *Stats {
	s := &Stats{}
	for i := range s.Duration {
		s.Duration[i] = metric.NewHistogram(metric.LatencyBuckets)
	}
	s.requests.Store(&map[RequestKey]*atomic.Uint64{})
	return s
}

// Requests returns the number of answers per status and error code.
func (s *Stats) Requests() map[RequestKey]uint64 {
	counters := *s.requests.Load()
	out := make(map[RequestKey]uint64, len(counters))
	for k, c := range counters {
		out[k] = c.Load()
	}
	return out
}

// count counts one answer with status and error code.
func (s *Stats) count(status int, code string) {
	key := RequestKey{status, code}
	if c := (*s.requests.Load())[key]; c != nil {
		c.Add(1)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.requests.Load()
	c := old[key]
	if c == nil {
		next := make(map[RequestKey]*atomic.Uint64, len(old)+1)
		for k, v := range old {
			next[k] = v
		}
		c = new(atomic.Uint64)
		next[key] = c
		s.requests.Store(&next)
	}
	c.Add(1)
}

// errorKey is the user value under which writeError leaves the error
// answered, for observe to count its code.
type errorKey struct{}

// observe counts the answer to a routed request that began at start:
// RequestCtx.Time, as fasthttp reads the clock for every request anyway
// (unless its LazyRequestTime defers the reading to this first call).
func (s *Stats) observe(ctx *fasthttp.RequestCtx, start time.Time) {
	code := ""
	if e, ok := ctx.UserValue(errorKey{}).(*Error); ok {
		code = e.code
		ctx.SetUserValue(errorKey{}, nil)
	}
	s.count(ctx.Response.StatusCode(), code)
	s.Duration[methodIndex(ctx.Method())].ObserveSince(start)
}

// methodIndex returns the index of method in Methods.
func methodIndex(method []byte) int {
	for i, m := range Methods[:len(Methods)-1] {
		if string(method) == m {
			return i
		}
	}
	return len(Methods) - 1
}

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return s.stats }
