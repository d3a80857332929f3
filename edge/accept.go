package edge

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/danmu-dev/danmu/internal/listen"
	"github.com/danmu-dev/danmu/internal/proxyproto"
)

// The edge accepts connections itself and hands them to gnet's event loops
// (Engine.Register), rather than letting gnet accept: gnet ends its engine
// on any accept error other than EAGAIN, EINTR and resets, so one burst of
// connections past the file descriptor limit (EMFILE) would stop the
// server. This accept loop backs off and retries instead (package listen),
// and refuses
// connections past MaxConns and MaxConnsPerIP before they cost the loops
// anything. It is one goroutine for the whole server, not one per
// connection.

// refusal is the answer to a connection refused before its handshake. The
// client may not have sent its request yet; it gets a complete HTTP
// response all the same, which WebSocket clients report.
var refusal = appendHTTPError(nil, 503, "Service Unavailable", "too many connections")

// admission counts the connections the accept loop let in, in all and per
// client address, until OnClose (or a failed registration) gives them back.
type admission struct {
	// Immutable after newAdmission.
	maxConns, maxPerIP int

	mu struct {
		sync.Mutex
		total int
		perIP map[netip.Addr]int
	}
}

func newAdmission(maxConns, maxPerIP int) *admission {
	a := &admission{maxConns: maxConns, maxPerIP: maxPerIP}
	a.mu.perIP = make(map[netip.Addr]int)
	return a
}

// admit takes a place for a connection from ip, or returns the reason it
// is refused. The zero Addr takes a place in the total alone: the
// connection of a trusted load balancer, whose client is not known until
// its PROXY protocol header is read (admitAddr then).
func (a *admission) admit(ip netip.Addr) (Refusal, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mu.total >= a.maxConns {
		return RefusedMaxConns, false
	}
	if ip.IsValid() && a.maxPerIP > 0 && a.mu.perIP[ip] >= a.maxPerIP {
		return RefusedMaxConnsPerIP, false
	}
	a.mu.total++
	if ip.IsValid() {
		a.mu.perIP[ip]++
	}
	return 0, true
}

// admitAddr takes a per-address place for a connection admitted with the
// zero Addr, now known to come from ip, or reports that ip holds
// MaxConnsPerIP already.
func (a *admission) admitAddr(ip netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.maxPerIP > 0 && a.mu.perIP[ip] >= a.maxPerIP {
		return false
	}
	a.mu.perIP[ip]++
	return true
}

// release gives back the place of a connection admitted under ip (the
// zero Addr: in the total alone).
func (a *admission) release(ip netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mu.total--
	if !ip.IsValid() {
		return
	}
	if n := a.mu.perIP[ip] - 1; n > 0 {
		a.mu.perIP[ip] = n
	} else {
		delete(a.mu.perIP, ip)
	}
}

// countedAt returns the address a connection from peer is counted under
// when it is accepted: peer itself, or the zero Addr for a load balancer
// trusted to send a PROXY protocol header, whose connections are counted
// under their clients' addresses once the header is read.
func (s *Server) countedAt(peer netip.Addr) netip.Addr {
	if proxyproto.Trusted(peer, s.cfg.ProxyProtocol) {
		return netip.Addr{}
	}
	return peer
}

// peerIP returns the address of a connection's TCP peer, IPv4 unmapped.
func peerIP(addr net.Addr) netip.Addr {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(tcp.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// registration is a connection handed to an event loop whose outcome is
// not known yet.
type registration struct {
	result <-chan gnet.RegisteredResult
	ip     netip.Addr
}

// acceptLoop accepts connections on ln until it is closed, handing each
// admitted one to an event loop.
func (s *Server) acceptLoop(ln *net.TCPListener) {
	pending := make(chan registration, 1024)
	defer close(pending)
	go s.reapRegistrations(pending)
	accepting := &listen.Retrying{Listener: ln, OnError: s.acceptFailed}
	for {
		conn, err := accepting.Accept()
		if err != nil {
			return // closed
		}
		c := conn.(*net.TCPConn)
		ip := s.countedAt(peerIP(c.RemoteAddr()))
		if s.draining.Load() {
			s.refuse(c, RefusedDraining)
			continue
		}
		if why, ok := s.admission.admit(ip); !ok {
			s.refuse(c, why)
			continue
		}
		result, err := s.engine.Register(gnet.NewNetConnContext(context.Background(), c))
		if err != nil {
			s.admission.release(ip)
			s.refuse(c, RefusedRegister)
			continue
		}
		pending <- registration{result: result, ip: ip}
	}
}

// acceptFailed counts a failed accept (EMFILE, ENFILE, ENOBUFS, ENOMEM:
// the connection waits in the listen queue until a descriptor is free)
// and logs it when it is not the descriptor limit or it persists.
func (s *Server) acceptFailed(err error, retryIn time.Duration) {
	s.stats.AcceptErrors.Add(1)
	if listen.Noteworthy(err, retryIn) {
		s.logger.Warn("edge: accept failed; retrying", "err", err, "retry_in", retryIn)
	}
}

// reapRegistrations waits for the outcome of each registration in turn and
// gives back the place of those that failed (OnOpen never ran for them, so
// OnClose never will). gnet closes the accepted socket either way: it
// keeps a duplicate of its descriptor.
func (s *Server) reapRegistrations(pending <-chan registration) {
	for r := range pending {
		if res := <-r.result; res.Err != nil {
			s.admission.release(r.ip)
			s.stats.countRefused(RefusedRegister)
			s.logger.Debug("edge: could not hand a connection to an event loop", "err", res.Err)
		}
	}
}

// refuse answers a connection that is not let in and closes it. The write
// cannot block for long: the socket is new and its send buffer empty.
func (s *Server) refuse(c *net.TCPConn, why Refusal) {
	s.stats.countRefused(why)
	s.logger.Debug("edge: connection refused", "client", peerIP(c.RemoteAddr()), "reason", why)
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	_, _ = c.Write(refusal)
	_ = c.Close()
}

// fdLimit returns the process's limit of open files, or zero when it
// cannot be read.
func fdLimit() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<30 {
		return 0
	}
	return int(lim.Cur)
}

// defaultMaxConns derives MaxConns from the descriptor limit: all of it
// but a reserve for the HTTP API, Redis, logs and the descriptors a
// registration duplicates for a moment.
func defaultMaxConns(limit int) int {
	if limit <= 0 {
		return DefaultMaxConnsUnknownLimit
	}
	reserve := min(max(limit/8, 64), 1024)
	return max(limit-reserve, 1)
}
