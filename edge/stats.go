package edge

import (
	"sync/atomic"

	"github.com/gobwas/ws"

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
	// FramesSent counts batch frames written to viewers; FramesSkipped
	// those skipped because the viewer's backlog passed SoftOutbound; and
	// SlowClosed the viewers disconnected past HardOutbound.
	FramesSent    atomic.Uint64
	FramesSkipped atomic.Uint64
	SlowClosed    atomic.Uint64
	// RateLimited counts requests past MessageRate (the connection was
	// closed) or JoinRate (the join was refused).
	RateLimited atomic.Uint64
	// LoopLag records how late each event loop ran its periodic sweep
	// after OnTick scheduled it, in nanoseconds: how long work waits
	// for a busy loop.
	LoopLag *metric.Histogram

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
