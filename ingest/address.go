package ingest

import (
	"bytes"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// clientIP returns the address of the client of a request: the TCP peer's,
// or with Config.ClientIPHeader set, the one clientAddr finds in the
// header's lines. The lines only, not the trailers: fasthttp's Peek and
// PeekAll also return a trailer of that name, which the client sends after
// the body, where proxies do not look (fasthttp refuses X-Forwarded-* and
// X-Real-IP trailers, but not other names such as True-Client-IP).
func (s *Server) clientIP(ctx *fasthttp.RequestCtx) netip.Addr {
	peer, _ := netip.AddrFromSlice(ctx.RemoteIP())
	peer = peer.Unmap()
	if s.cfg.ClientIPHeader == "" {
		return peer
	}
	var buf [4][]byte
	lines := buf[:0]
	for key, value := range ctx.Request.Header.All() {
		if bytes.EqualFold(key, []byte(s.cfg.ClientIPHeader)) {
			lines = append(lines, value)
		}
	}
	return clientAddr(peer, lines, s.cfg.TrustedProxies)
}

// clientAddr returns the client address of a request from peer whose
// client address header had lines, in the order received; an address is
// unmapped (IPv4-mapped IPv6 becomes IPv4) and loses its zone.
//
// Each proxy appends the address it got the request from, to the last line
// or in a line of its own, so the addresses read right to left across the
// lines retrace the hops back to the client, and only those added by
// trusted proxies are true: anything to their left may be forged. So:
//
//   - With trusted proxies, the header counts only when peer is one of
//     them. The client is the right-most address that is not a trusted
//     proxy; when all are trusted, the left-most.
//   - Without, peer is taken for the one proxy in front: the client is the
//     right-most address, the one that proxy added.
//   - A value that is not an address (an empty one included) ends the
//     walk: the client is then the nearest address before it, or peer.
//
// A single-address header such as X-Real-IP is the case of one value.
func clientAddr(peer netip.Addr, lines [][]byte, trusted []netip.Prefix) netip.Addr {
	if len(trusted) > 0 && !isTrusted(peer, trusted) {
		return peer
	}
	client := peer
	for i := len(lines) - 1; i >= 0; i-- {
		rest, more := lines[i], true
		for more {
			var value []byte
			if comma := bytes.LastIndexByte(rest, ','); comma >= 0 {
				rest, value = rest[:comma], rest[comma+1:]
			} else {
				value, more = rest, false
			}
			addr, err := netip.ParseAddr(string(bytes.Trim(value, " \t")))
			if err != nil {
				return client
			}
			client = addr.Unmap().WithZone("")
			if !isTrusted(client, trusted) {
				return client
			}
		}
	}
	return client
}

// isTrusted reports whether addr is in one of the trusted prefixes.
func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
