package proxyproto

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// AppendHeader appends h as a load balancer writes it: the inverse of
// Parse for headers without TLVs. A Source that is the zero AddrPort
// makes version 1's UNKNOWN or version 2's LOCAL; an IPv4 address beside
// an IPv6 one is written mapped to IPv6. danmu itself only reads headers:
// this is for what stands in for a balancer, such as tests.
func AppendHeader(dst []byte, h Header) []byte {
	if h.Version == 1 {
		if !h.Source.IsValid() {
			return append(dst, "PROXY UNKNOWN\r\n"...)
		}
		src, to := h.Source.Addr(), h.Destination.Addr()
		dst = append(dst, "PROXY TCP4 "...)
		if is6(h.Source, h.Destination) {
			dst[len(dst)-2] = '6'
			src, to = netip.AddrFrom16(src.As16()), netip.AddrFrom16(to.As16())
		}
		dst = src.AppendTo(dst)
		dst = to.AppendTo(append(dst, ' '))
		dst = strconv.AppendUint(append(dst, ' '), uint64(h.Source.Port()), 10)
		dst = strconv.AppendUint(append(dst, ' '), uint64(h.Destination.Port()), 10)
		return append(dst, "\r\n"...)
	}
	if !h.Source.IsValid() {
		return appendV2(dst, v2Local, afUnspec<<4, nil, nil)
	}
	family := byte(afInet<<4 | 1)
	if is6(h.Source, h.Destination) {
		family = afInet6<<4 | 1
	}
	return appendV2(dst, v2Proxy, family, appendAddrs(nil, h.Source, h.Destination), nil)
}

// appendV2 appends a version 2 header with version and command verCmd,
// address family and transport famProto, address block addrs and TLVs
// tlvs.
func appendV2(dst []byte, verCmd, famProto byte, addrs, tlvs []byte) []byte {
	dst = append(dst, sigV2...)
	dst = append(dst, verCmd, famProto)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(addrs)+len(tlvs)))
	dst = append(dst, addrs...)
	return append(dst, tlvs...)
}

// appendAddrs appends version 2's address block of src and dst: 12 bytes
// when both are IPv4, else 36.
func appendAddrs(dst []byte, src, to netip.AddrPort) []byte {
	if is6(src, to) {
		s, d := src.Addr().As16(), to.Addr().As16()
		dst = append(append(dst, s[:]...), d[:]...)
	} else {
		s, d := src.Addr().As4(), to.Addr().As4()
		dst = append(append(dst, s[:]...), d[:]...)
	}
	dst = binary.BigEndian.AppendUint16(dst, src.Port())
	return binary.BigEndian.AppendUint16(dst, to.Port())
}

// is6 reports whether either address is IPv6, so that a header of both
// must be an IPv6 one.
func is6(src, to netip.AddrPort) bool { return src.Addr().Is6() || to.Addr().Is6() }
