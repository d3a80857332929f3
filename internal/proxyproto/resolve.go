package proxyproto

import "net/netip"

// Result is what Resolve found at the start of a connection.
type Result struct {
	// Client is the client's address: the one the header carries, or the
	// peer's when there is no header or it carries no address.
	Client netip.AddrPort
	// Proxied is set when Client comes from a header.
	Proxied bool
	// Length is the length of the header: the bytes to skip before the
	// client's own bytes begin. Zero when there is no header.
	Length int
}

// Resolve decides what the first bytes b of a connection from peer are
// when the balancers in trusted put a PROXY protocol header at the start
// of each of their connections and nobody else may:
//
//   - From a trusted peer, b must begin with a header (ErrMissing
//     otherwise). The client is the address it carries, or the peer
//     itself for a header without one (a LOCAL health check).
//   - From any other peer, b must not (ErrUntrusted otherwise): the
//     client is the peer, and there is nothing to skip.
//
// A header that is not valid gives an error wrapping ErrMalformed. While
// b is too short to tell, Resolve returns ErrIncomplete: call it again
// once more bytes came (a header is at most MaxHeaderBytes long, and one
// byte that does not begin a signature settles it for an untrusted peer).
// peer is unmapped first, and so is the client. Resolve keeps no
// reference to b.
func Resolve(peer netip.AddrPort, b []byte, trusted []netip.Prefix) (Result, error) {
	peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	if !Trusted(peer.Addr(), trusted) {
		switch {
		case hasPrefix(b, sigV1) || hasPrefix(b, sigV2):
			return Result{}, ErrUntrusted
		case isPrefix(b, sigV1) || isPrefix(b, sigV2):
			return Result{}, ErrIncomplete
		}
		return Result{Client: peer}, nil
	}
	h, n, err := Parse(b)
	if err != nil {
		return Result{}, err
	}
	if !h.Source.IsValid() {
		return Result{Client: peer, Length: n}, nil
	}
	return Result{Client: h.Source, Proxied: true, Length: n}, nil
}

// Trusted reports whether addr lies in one of the prefixes.
func Trusted(addr netip.Addr, trusted []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
