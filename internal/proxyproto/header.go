package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// MaxHeaderBytes bounds a header, version 2 TLVs included: a longer one is
// malformed. A version 1 header is at most 107 bytes; HAProxy's version 2
// headers are 28 (IPv4) or 52 (IPv6) bytes, plus the TLVs it is asked to
// add (ALPN, SNI, unique id, TLS details), far below this.
const MaxHeaderBytes = 4096

// maxV1Bytes is the longest version 1 header, CRLF included (the spec's
// "PROXY UNKNOWN ffff:...:ffff ffff:...:ffff 65535 65535\r\n").
const maxV1Bytes = 107

// The errors of Parse and Resolve. ErrMalformed is wrapped with what was
// wrong.
var (
	// ErrIncomplete: the bytes so far begin a header, or may; wait for
	// more.
	ErrIncomplete = errors.New("proxyproto: incomplete header")
	// ErrMissing: the connection does not begin with a header.
	ErrMissing = errors.New("proxyproto: no PROXY protocol header")
	// ErrMalformed: it begins with a header's signature, but what follows
	// is not a valid header.
	ErrMalformed = errors.New("proxyproto: malformed header")
	// ErrUntrusted: a header came from an address that may not send one.
	ErrUntrusted = errors.New("proxyproto: PROXY protocol header from an untrusted address")
)

// Signatures of the two versions.
var (
	sigV1 = []byte("PROXY ")
	sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

// Header is a parsed header.
type Header struct {
	// Version is 1 or 2.
	Version int
	// Source and Destination are the client's address and the address it
	// connected to, IPv4-mapped IPv6 unmapped. Both are the zero
	// AddrPort when the header carries no address: a version 2 LOCAL
	// command (the balancer's own connection, such as a health check), an
	// UNSPEC or UNIX address family, or version 1's UNKNOWN.
	Source      netip.AddrPort
	Destination netip.AddrPort
}

// Parse parses the header at the start of b, and returns it with its
// length in bytes. When b is too short to hold the whole header yet, it
// returns ErrIncomplete; when b does not begin with either signature,
// ErrMissing; when it does but the rest is not a header, an error wrapping
// ErrMalformed. Parse keeps no reference to b.
func Parse(b []byte) (Header, int, error) {
	switch {
	case hasPrefix(b, sigV2):
		return parseV2(b)
	case hasPrefix(b, sigV1):
		return parseV1(b)
	case isPrefix(b, sigV1) || isPrefix(b, sigV2):
		return Header{}, 0, ErrIncomplete
	}
	return Header{}, 0, ErrMissing
}

// hasPrefix reports whether b begins with sig.
func hasPrefix(b, sig []byte) bool { return bytes.HasPrefix(b, sig) }

// isPrefix reports whether b, shorter than sig, is the start of sig.
func isPrefix(b, sig []byte) bool { return len(b) < len(sig) && bytes.HasPrefix(sig, b) }

// parseV1 parses "PROXY TCP4 <src> <dst> <sport> <dport>\r\n", with TCP6
// for IPv6, or "PROXY UNKNOWN ...\r\n", whose rest is ignored.
func parseV1(b []byte) (Header, int, error) {
	end := bytes.Index(b[:min(len(b), maxV1Bytes)], []byte("\r\n"))
	if end < 0 {
		if len(b) >= maxV1Bytes {
			return Header{}, 0, fmt.Errorf("%w: version 1 header longer than %d bytes", ErrMalformed, maxV1Bytes)
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return Header{}, 0, fmt.Errorf("%w: version 1 header ends without CR LF", ErrMalformed)
		}
		return Header{}, 0, ErrIncomplete
	}
	h := Header{Version: 1}
	line := b[len(sigV1):end]
	if bytes.ContainsAny(line, "\r\n") {
		return Header{}, 0, fmt.Errorf("%w: version 1 header ends without CR LF", ErrMalformed)
	}
	var fields [5][]byte
	n := 0
	for field := range bytes.SplitSeq(line, []byte(" ")) {
		if n < len(fields) {
			fields[n] = field
		}
		n++
	}
	switch string(fields[0]) {
	case "UNKNOWN":
		return h, end + 2, nil
	case "TCP4", "TCP6":
	default:
		return Header{}, 0, fmt.Errorf("%w: version 1 protocol %q", ErrMalformed, fields[0])
	}
	if n != 5 {
		return Header{}, 0, fmt.Errorf("%w: version 1 header has %d fields; want 5", ErrMalformed, n)
	}
	v6 := fields[0][3] == '6'
	src, err1 := v1AddrPort(fields[1], fields[3], v6)
	dst, err2 := v1AddrPort(fields[2], fields[4], v6)
	if err := errors.Join(err1, err2); err != nil {
		return Header{}, 0, err
	}
	h.Source, h.Destination = src, dst
	return h, end + 2, nil
}

// v1AddrPort parses an address and a port of a version 1 header: an IPv4
// address for TCP4, an IPv6 one for TCP6 (without a zone), and a decimal
// port from 0 to 65535.
func v1AddrPort(addr, port []byte, v6 bool) (netip.AddrPort, error) {
	ip, err := netip.ParseAddr(string(addr))
	if err != nil || ip.Is6() != v6 || ip.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%w: version 1 address %q", ErrMalformed, addr)
	}
	if len(port) == 0 || len(port) > 5 || (len(port) > 1 && port[0] == '0') {
		return netip.AddrPort{}, fmt.Errorf("%w: version 1 port %q", ErrMalformed, port)
	}
	p := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return netip.AddrPort{}, fmt.Errorf("%w: version 1 port %q", ErrMalformed, port)
		}
		p = p*10 + int(c-'0')
	}
	if p > 65535 {
		return netip.AddrPort{}, fmt.Errorf("%w: version 1 port %q", ErrMalformed, port)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// Version 2's command, address families and transports.
const (
	v2Local  = 0x20
	v2Proxy  = 0x21
	afUnspec = 0x0
	afInet   = 0x1
	afInet6  = 0x2
	afUnix   = 0x3
)

// parseV2 parses a version 2 header: the signature, the version and
// command, the address family and transport, the length of the rest, then
// the addresses and any TLVs, which are skipped.
func parseV2(b []byte) (Header, int, error) {
	const fixed = 16
	if len(b) < fixed {
		return Header{}, 0, ErrIncomplete
	}
	verCmd, famProto := b[12], b[13]
	length := int(binary.BigEndian.Uint16(b[14:16]))
	if verCmd != v2Local && verCmd != v2Proxy {
		return Header{}, 0, fmt.Errorf("%w: version 2 version and command 0x%02x", ErrMalformed, verCmd)
	}
	family, transport := famProto>>4, famProto&0xf
	if family > afUnix || transport > 2 {
		return Header{}, 0, fmt.Errorf("%w: version 2 family and transport 0x%02x", ErrMalformed, famProto)
	}
	if fixed+length > MaxHeaderBytes {
		return Header{}, 0, fmt.Errorf("%w: version 2 header of %d bytes; the most is %d", ErrMalformed, fixed+length, MaxHeaderBytes)
	}
	need := 0
	switch family {
	case afInet:
		need = 12
	case afInet6:
		need = 36
	case afUnix:
		need = 216
	}
	if length < need {
		return Header{}, 0, fmt.Errorf("%w: version 2 address block of %d bytes; family 0x%x needs %d", ErrMalformed, length, family, need)
	}
	if len(b) < fixed+length {
		return Header{}, 0, ErrIncomplete
	}
	h := Header{Version: 2}
	if verCmd == v2Local {
		return h, fixed + length, nil
	}
	a := b[fixed:]
	switch family {
	case afInet:
		h.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), binary.BigEndian.Uint16(a[8:10]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), binary.BigEndian.Uint16(a[10:12]))
	case afInet6:
		h.Source = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])).Unmap(), binary.BigEndian.Uint16(a[32:34]))
		h.Destination = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])).Unmap(), binary.BigEndian.Uint16(a[34:36]))
	}
	return h, fixed + length, nil
}
