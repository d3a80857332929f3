package edge

import (
	"errors"
	"net"
	"net/netip"

	"github.com/danmu-dev/danmu/internal/proxyproto"
)

// readProxy reads the PROXY protocol header a connection begins with, on
// the loop like the rest of its bytes: a partial header stays in gnet's
// inbound buffer until more bytes come, it is at most
// proxyproto.MaxHeaderBytes long, and the sweep closes a connection whose
// header is not complete within HandshakeTimeout. From a trusted load
// balancer the client becomes the address the header carries, which then
// takes its per-address place (MaxConnsPerIP); from anyone else a header
// is refused. readProxy reports whether the connection went on to its
// handshake.
func (cn *conn) readProxy() bool {
	s := cn.loop.server
	buf, _ := cn.c.Peek(-1)
	r, err := proxyproto.Resolve(addrPort(cn.c.RemoteAddr()), buf, s.cfg.ProxyProtocol)
	if err == proxyproto.ErrIncomplete {
		return false
	}
	if err != nil {
		cn.refuseProxy(err)
		return false
	}
	if r.Length > 0 {
		// Not Discard(0): gnet discards everything buffered for n <= 0.
		cn.c.Discard(r.Length)
	}
	if r.Proxied {
		cn.peer = r.Client.Addr()
		if !cn.counted.IsValid() {
			if !s.admission.admitAddr(cn.peer) {
				s.stats.countRefused(RefusedMaxConnsPerIP)
				s.logger.Debug("edge: connection refused", "client", cn.peer, "reason", RefusedMaxConnsPerIP)
				cn.closeReason = CloseHandshake
				cn.c.Discard(cn.c.InboundBuffered())
				if cn.put(refusal) {
					cn.state = stateClosing
					cn.shut()
				}
				return false
			}
			cn.counted = cn.peer
		}
	}
	cn.state = stateHandshake
	return true
}

// refuseProxy closes a connection whose PROXY protocol header was refused
// (err is Resolve's), without an answer: what it sent is not HTTP, and
// neither a balancer nor a client sending a header it may not would read
// one.
func (cn *conn) refuseProxy(err error) {
	s := cn.loop.server
	why := RefusedProxyMalformed
	switch {
	case errors.Is(err, proxyproto.ErrUntrusted):
		why = RefusedProxyUntrusted
	case errors.Is(err, proxyproto.ErrMissing), errors.Is(err, proxyproto.ErrIncomplete):
		why = RefusedProxyMissing
	}
	s.stats.countRefused(why)
	s.logger.Debug("edge: connection refused", "client", cn.peer, "reason", why, "err", err)
	cn.closeReason = CloseHandshake
	cn.state = stateClosing
	cn.c.Discard(cn.c.InboundBuffered())
	cn.shut()
}

// addrPort returns the address and port of a TCP address.
func addrPort(addr net.Addr) netip.AddrPort {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.AddrPort()
	}
	return netip.AddrPort{}
}
