package edge

import (
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
	"golang.org/x/sys/cpu"

	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/metric"
)

// Stats counts what the edge did. All fields are safe for concurrent use.
type Stats struct {
	// Accepted counts TCP connections accepted; Open those open now.
	Accepted atomic.Uint64
	Open     atomic.Int64
	// AcceptErrors counts failed accepts (EMFILE and the like), after
	// each of which the accept loop backs off.
	AcceptErrors atomic.Uint64
	// Upgraded counts completed WebSocket handshakes; Rejected the
	// handshakes answered with an HTTP error.
	Upgraded atomic.Uint64
	Rejected atomic.Uint64
	// FramesSkipped counts batch frames skipped because the viewer's
	// backlog passed SoftOutbound (FramesSent those written), and
	// SlowClosed the viewers disconnected past HardOutbound.
	FramesSkipped atomic.Uint64
	SlowClosed    atomic.Uint64
	// TierMoves counts the subscriptions moved to the priority-only tier
	// because their viewer fell behind (past SoftOutbound), and
	// TierReturns those that returned to their own tier once it drained.
	TierMoves   atomic.Uint64
	TierReturns atomic.Uint64
	// RateLimited counts requests past MessageRate (the connection was
	// closed) or JoinRate (the join was refused).
	RateLimited atomic.Uint64
	// LoopLag records how late each event loop ran its periodic sweep
	// after OnTick scheduled it, in nanoseconds: how long work waits
	// for a busy loop.
	LoopLag *metric.Histogram

	// members counts the subscriptions now, by tier class; sentByTier
	// the batch frames written, by tier class.
	members    [tierClasses]atomic.Int64
	sentByTier [tierClasses]atomic.Uint64
	// open counts the open connections by transport, from their
	// handshake on.
	open [Transports]atomic.Int64
	// loops holds each event loop's counters of the frames it wrote
	// (newLoopCounters).
	loops struct {
		sync.Mutex
		all []*loopCounters
	}

	// refused counts the connections refused before their handshake, by
	// reason.
	refused [Refusals]atomic.Uint64
	// closed counts ended connections by reason and close code.
	closed [closeReasons][len(closeCodes) + 1]atomic.Uint64
}

// Refusal says why a connection was refused before its handshake. The
// refusals of the PROXY protocol close the connection without an answer:
// its bytes are not HTTP.
type Refusal uint8

// Reasons a connection is refused.
const (
	// RefusedMaxConns: the edge holds MaxConns connections.
	RefusedMaxConns Refusal = iota
	// RefusedMaxConnsPerIP: the client's address holds MaxConnsPerIP.
	RefusedMaxConnsPerIP
	// RefusedDraining: the server is shutting down.
	RefusedDraining
	// RefusedRegister: no event loop could take it (out of file
	// descriptors for the moment, or shutting down).
	RefusedRegister
	// RefusedProxyUntrusted: a PROXY protocol header came from an address
	// not in Config.ProxyProtocol.
	RefusedProxyUntrusted
	// RefusedProxyMissing: a trusted load balancer's connection did not
	// begin with a PROXY protocol header, or not within
	// HandshakeTimeout.
	RefusedProxyMissing
	// RefusedProxyMalformed: its PROXY protocol header was not valid.
	RefusedProxyMalformed
	// Refusals is the number of reasons.
	Refusals
)

var refusalNames = [Refusals]string{"max_conns", "max_conns_per_ip", "draining", "register", "proxy_untrusted", "proxy_missing", "proxy_malformed"}

// String returns the reason's name, as metrics label it.
func (r Refusal) String() string {
	if r < Refusals {
		return refusalNames[r]
	}
	return "unknown"
}

// Refused returns how many connections were refused for reason.
func (s *Stats) Refused(reason Refusal) uint64 { return s.refused[reason].Load() }

func (s *Stats) countRefused(reason Refusal) { s.refused[reason].Add(1) }

// CloseReason says why a connection ended.
type CloseReason uint8

// Reasons a connection ends.
const (
	// CloseDropped: the socket ended without a closing handshake (the
	// peer vanished, or the server stopped before it was closed).
	CloseDropped CloseReason = iota
	// ClosePeer: the client sent a close frame.
	ClosePeer
	// CloseDrain: the server is shutting down (1001).
	CloseDrain
	// CloseIdle: the client was silent past IdleTimeout (1001).
	CloseIdle
	// CloseSlow: the viewer fell too far behind (1013).
	CloseSlow
	// ClosePolicy: a policy ended it, such as an expired token (1008).
	ClosePolicy
	// CloseProtocol: the client broke the protocol (1002, 1003, 1007,
	// 1009).
	CloseProtocol
	// CloseHandshake: the upgrade was refused with an HTTP error.
	CloseHandshake
	closeReasons
)

var closeReasonNames = [closeReasons]string{"dropped", "peer", "drain", "idle", "slow", "policy", "protocol", "handshake"}

// String returns the reason's name, as metrics label it.
func (r CloseReason) String() string {
	if r < closeReasons {
		return closeReasonNames[r]
	}
	return "unknown"
}

// closeCodes are the close codes counted apart, zero standing for no
// close frame; any other code is counted at index len(closeCodes).
var closeCodes = [...]ws.StatusCode{0, 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1013}

// Close is one count of Stats.Closes: connections ended for Reason with
// close Code (zero when no close frame was sent, -1 for codes not counted
// apart).
type Close struct {
	Reason CloseReason
	Code   int
	Count  uint64
}

// Closes returns the non-zero counts of ended connections by reason and
// close code.
func (s *Stats) Closes() []Close {
	var out []Close
	for r := range s.closed {
		for i := range s.closed[r] {
			n := s.closed[r][i].Load()
			if n == 0 {
				continue
			}
			code := -1
			if i < len(closeCodes) {
				code = int(closeCodes[i])
			}
			out = append(out, Close{Reason: CloseReason(r), Code: code, Count: n})
		}
	}
	return out
}

// countClose counts a connection that ended for reason with code.
func (s *Stats) countClose(reason CloseReason, code ws.StatusCode) {
	i := len(closeCodes)
	for j, c := range closeCodes {
		if c == code {
			i = j
			break
		}
	}
	s.closed[reason][i].Add(1)
}

// reasonFor returns why the server closes a connection with code.
func (s *Server) reasonFor(code ws.StatusCode) CloseReason {
	switch code {
	case ws.StatusGoingAway:
		if s.draining.Load() {
			return CloseDrain
		}
		return CloseIdle
	case statusTryAgainLater:
		return CloseSlow
	case ws.StatusPolicyViolation:
		return ClosePolicy
	}
	return CloseProtocol
}

// Transport is how a viewer is connected.
type Transport uint8

// The transports.
const (
	// TransportWS is the native protocol over WebSocket (/ws).
	TransportWS Transport = iota
	// TransportBili is the Bilibili-compatible protocol (/sub).
	TransportBili
	// TransportSSE is the native protocol over Server-Sent Events (/sse).
	TransportSSE
	// Transports is the number of transports.
	Transports
)

var transportNames = [Transports]string{"ws", "bili", "sse"}

// String returns the transport's name, as metrics label it.
func (t Transport) String() string {
	if t < Transports {
		return transportNames[t]
	}
	return "unknown"
}

// OpenConns returns the connections of transport t open now, past their
// handshake.
func (s *Stats) OpenConns(t Transport) int64 { return s.open[t].Load() }

// loopCounters are the counters one event loop adds to for every frame it
// writes, by transport: written by that loop alone and kept on a cache
// line of their own, so that no write to a viewer contends with another
// loop for a counter. Readers sum the loops' counters.
type loopCounters struct {
	_    cpu.CacheLinePad
	sent [Transports]atomic.Uint64
	_    cpu.CacheLinePad
}

// newLoopCounters returns the counters of a new event loop, counted in s
// from now on.
func (s *Stats) newLoopCounters() *loopCounters {
	c := new(loopCounters)
	s.loops.Lock()
	s.loops.all = append(s.loops.all, c)
	s.loops.Unlock()
	return c
}

// FramesSentBy returns the batch and online frames written to viewers of
// transport t.
func (s *Stats) FramesSentBy(t Transport) uint64 { return s.framesSent(t, t+1) }

// FramesSent returns the batch and online frames written to viewers.
func (s *Stats) FramesSent() uint64 { return s.framesSent(0, Transports) }

// framesSent sums the frames every loop wrote over transports from up to
// to, under one lock.
func (s *Stats) framesSent(from, to Transport) uint64 {
	s.loops.Lock()
	defer s.loops.Unlock()
	var n uint64
	for _, c := range s.loops.all {
		for t := from; t < to; t++ {
			n += c.sent[t].Load()
		}
	}
	return n
}

// Tier classes: the metrics count the thinned tiers together.
const (
	classFull = iota
	classPriority
	classThinned
	tierClasses
)

// TierClasses names the tier classes the metrics count apart, in the order
// of Members and FramesSentByTier.
var TierClasses = [tierClasses]string{"full", "priority", "thinned"}

func classOf(t fanout.Tier) int {
	switch {
	case t == fanout.TierPriority:
		return classPriority
	case t.Thinned():
		return classThinned
	}
	return classFull
}

// Members returns the subscriptions now in each tier class (TierClasses).
func (s *Stats) Members() [tierClasses]int64 {
	var out [tierClasses]int64
	for i := range out {
		out[i] = s.members[i].Load()
	}
	return out
}

// FramesSentByTier returns the batch frames written to viewers in each
// tier class (TierClasses).
func (s *Stats) FramesSentByTier() [tierClasses]uint64 {
	var out [tierClasses]uint64
	for i := range out {
		out[i] = s.sentByTier[i].Load()
	}
	return out
}

func (s *Stats) countMember(t fanout.Tier, delta int64) { s.members[classOf(t)].Add(delta) }

func (s *Stats) countSent(t fanout.Tier, n uint64) { s.sentByTier[classOf(t)].Add(n) }
