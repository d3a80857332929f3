package proxyproto

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// appendV2 appends a version 2 header with command cmd (0x20 LOCAL, 0x21
// PROXY) and family/transport famProto, whose address block is addrs,
// followed by tlvs.
func appendV2(dst []byte, cmd, famProto byte, addrs, tlvs []byte) []byte {
	dst = append(dst, sigV2...)
	dst = append(dst, cmd, famProto)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(addrs)+len(tlvs)))
	dst = append(dst, addrs...)
	return append(dst, tlvs...)
}

// v2Addrs returns the address block of src and dst: 12 bytes when both are
// IPv4, else 36, an IPv4 address mapped to IPv6.
func v2Addrs(src, dst netip.AddrPort) []byte {
	var b []byte
	if is6(src, dst) {
		s, d := src.Addr().As16(), dst.Addr().As16()
		b = append(append(b, s[:]...), d[:]...)
	} else {
		b = append(append(b, src.Addr().AsSlice()...), dst.Addr().AsSlice()...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

// appendHeader encodes h as Parse reads it: the inverse of Parse for
// headers without TLVs.
func appendHeader(dst []byte, h Header) []byte {
	if h.Version == 1 {
		if !h.Source.IsValid() {
			return append(dst, "PROXY UNKNOWN\r\n"...)
		}
		proto, from, to := "TCP4", h.Source.Addr().String(), h.Destination.Addr().String()
		if is6(h.Source, h.Destination) {
			proto = "TCP6"
			from, to = netip.AddrFrom16(h.Source.Addr().As16()).String(), netip.AddrFrom16(h.Destination.Addr().As16()).String()
		}
		return append(dst, "PROXY "+proto+" "+from+" "+to+" "+
			itoa(h.Source.Port())+" "+itoa(h.Destination.Port())+"\r\n"...)
	}
	if !h.Source.IsValid() {
		return appendV2(dst, v2Local, 0x00, nil, nil)
	}
	fam := byte(0x11)
	if is6(h.Source, h.Destination) {
		fam = 0x21
	}
	return appendV2(dst, v2Proxy, fam, v2Addrs(h.Source, h.Destination), nil)
}

// is6 reports whether either address is IPv6, so that a header of both
// must be an IPv6 one.
func is6(src, dst netip.AddrPort) bool { return src.Addr().Is6() || dst.Addr().Is6() }

func itoa(p uint16) string {
	return netip.AddrPortFrom(netip.IPv4Unspecified(), p).String()[len("0.0.0.0:"):]
}

var (
	client4 = netip.MustParseAddrPort("203.0.113.7:51234")
	server4 = netip.MustParseAddrPort("192.0.2.1:7070")
	client6 = netip.MustParseAddrPort("[2001:db8::7]:51234")
	server6 = netip.MustParseAddrPort("[2001:db8::1]:443")
	mapped  = netip.MustParseAddrPort("[::ffff:203.0.113.7]:51234")
)

func TestParse(t *testing.T) {
	ssl := []byte{0x20, 0x00, 0x05, 0x07, 0x00, 0x00, 0x00, 0x00} // PP2_TYPE_SSL, client bit set
	for _, tc := range []struct {
		name string
		in   string
		want Header
		n    int
		err  error
	}{
		{"v1 tcp4", "PROXY TCP4 203.0.113.7 192.0.2.1 51234 7070\r\nGET /", Header{1, client4, server4}, 45, nil},
		{"v1 tcp6", "PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n", Header{1, client6, server6}, 46, nil},
		{"v1 unknown", "PROXY UNKNOWN\r\n", Header{Version: 1}, 15, nil},
		{"v1 unknown with addresses", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\nX", Header{Version: 1}, 35, nil},
		{"v1 port 0 and 65535", "PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n",
			Header{1, netip.MustParseAddrPort("1.2.3.4:0"), netip.MustParseAddrPort("5.6.7.8:65535")}, 36, nil},
		{"v2 inet", string(appendV2(nil, v2Proxy, 0x11, v2Addrs(client4, server4), nil)) + "GET", Header{2, client4, server4}, 28, nil},
		{"v2 inet6", string(appendV2(nil, v2Proxy, 0x21, v2Addrs(client6, server6), nil)), Header{2, client6, server6}, 52, nil},
		{"v2 inet6 mapped", string(appendV2(nil, v2Proxy, 0x21, v2Addrs(mapped, server6), nil)), Header{2, client4, server6}, 52, nil},
		{"v2 inet with TLV", string(appendV2(nil, v2Proxy, 0x11, v2Addrs(client4, server4), ssl)), Header{2, client4, server4}, 36, nil},
		{"v2 local", string(appendV2(nil, v2Local, 0x00, nil, nil)), Header{Version: 2}, 16, nil},
		{"v2 local with addresses", string(appendV2(nil, v2Local, 0x11, v2Addrs(client4, server4), nil)), Header{Version: 2}, 28, nil},
		{"v2 proxy unspec", string(appendV2(nil, v2Proxy, 0x00, nil, nil)), Header{Version: 2}, 16, nil},
		{"v2 proxy unix", string(appendV2(nil, v2Proxy, 0x31, make([]byte, 216), nil)), Header{Version: 2}, 232, nil},

		{"empty", "", Header{}, 0, ErrIncomplete},
		{"v1 signature start", "PRO", Header{}, 0, ErrIncomplete},
		{"v1 without CRLF yet", "PROXY TCP4 203.0.113.7 192.0.2.1 51234", Header{}, 0, ErrIncomplete},
		{"v2 signature start", "\r\n\r\n\x00", Header{}, 0, ErrIncomplete},
		{"v2 fixed part short", string(sigV2) + "\x21\x11\x00", Header{}, 0, ErrIncomplete},
		{"v2 addresses short", string(appendV2(nil, v2Proxy, 0x11, v2Addrs(client4, server4), nil)[:20]), Header{}, 0, ErrIncomplete},

		{"http", "GET /ws HTTP/1.1\r\n", Header{}, 0, ErrMissing},
		{"POST", "POST /v1/rooms/a/danmaku HTTP/1.1\r\n", Header{}, 0, ErrMissing},
		{"PROXY lower case", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", Header{}, 0, ErrMissing},
		{"TLS hello", "\x16\x03\x01\x02\x00", Header{}, 0, ErrMissing},

		{"v1 too long", "PROXY UNKNOWN " + strings.Repeat("x", 100), Header{}, 0, ErrMalformed},
		{"v1 LF only", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", Header{}, 0, ErrMalformed},
		{"v1 protocol", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", Header{}, 0, ErrMalformed},
		{"v1 missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", Header{}, 0, ErrMalformed},
		{"v1 extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", Header{}, 0, ErrMalformed},
		{"v1 double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", Header{}, 0, ErrMalformed},
		{"v1 tcp4 with IPv6", "PROXY TCP4 ::1 ::2 1 2\r\n", Header{}, 0, ErrMalformed},
		{"v1 tcp6 with IPv4", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", Header{}, 0, ErrMalformed},
		{"v1 zone", "PROXY TCP6 fe80::1%eth0 ::2 1 2\r\n", Header{}, 0, ErrMalformed},
		{"v1 port too large", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", Header{}, 0, ErrMalformed},
		{"v1 port leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", Header{}, 0, ErrMalformed},
		{"v1 port sign", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", Header{}, 0, ErrMalformed},
		{"v1 address leading zero", "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", Header{}, 0, ErrMalformed},
		{"v1 empty", "PROXY \r\n", Header{}, 0, ErrMalformed},
		{"v2 version 1", string(appendV2(nil, 0x11, 0x11, v2Addrs(client4, server4), nil)), Header{}, 0, ErrMalformed},
		{"v2 command 2", string(appendV2(nil, 0x22, 0x11, v2Addrs(client4, server4), nil)), Header{}, 0, ErrMalformed},
		{"v2 family 4", string(appendV2(nil, v2Proxy, 0x41, v2Addrs(client4, server4), nil)), Header{}, 0, ErrMalformed},
		{"v2 transport 3", string(appendV2(nil, v2Proxy, 0x13, v2Addrs(client4, server4), nil)), Header{}, 0, ErrMalformed},
		{"v2 inet block short", string(appendV2(nil, v2Proxy, 0x11, make([]byte, 11), nil)), Header{}, 0, ErrMalformed},
		{"v2 inet6 block short", string(appendV2(nil, v2Proxy, 0x21, make([]byte, 35), nil)), Header{}, 0, ErrMalformed},
		{"v2 too long", string(sigV2) + "\x21\x11\xff\xff", Header{}, 0, ErrMalformed},
	} {
		h, n, err := Parse([]byte(tc.in))
		if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("%s: Parse(%q) error %v; want %v", tc.name, tc.in, err, tc.err)
			continue
		}
		if h != tc.want || n != tc.n {
			t.Errorf("%s: Parse(%q) = %+v, %d; want %+v, %d", tc.name, tc.in, h, n, tc.want, tc.n)
		}
	}
}

// TestParsePrefixes checks that every proper prefix of a valid header is
// incomplete, so that a header split over several reads is waited for.
func TestParsePrefixes(t *testing.T) {
	for _, h := range []Header{{1, client4, server4}, {1, client6, server6}, {Version: 1}, {2, client4, server4}, {2, client6, server6}, {Version: 2}} {
		b := appendHeader(nil, h)
		for k := range len(b) {
			if _, _, err := Parse(b[:k]); err != ErrIncomplete {
				t.Errorf("Parse(%q) = %v; want ErrIncomplete", b[:k], err)
			}
		}
		if got, n, err := Parse(b); err != nil || got != h || n != len(b) {
			t.Errorf("Parse(%q) = %+v, %d, %v; want %+v, %d", b, got, n, err, h, len(b))
		}
	}
}

// TestParseAllocs checks that the binary header HAProxy sends
// (send-proxy-v2) and a connection without a header cost no allocation;
// a version 1 header costs two (its addresses' text).
func TestParseAllocs(t *testing.T) {
	v2 := appendV2(nil, v2Proxy, 0x11, v2Addrs(client4, server4), nil)
	get := []byte("GET / HTTP/1.1\r\n")
	trusted := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	if n := testing.AllocsPerRun(100, func() {
		_, _, _ = Parse(v2)
		_, _ = Resolve(server4, v2, trusted)
		_, _ = Resolve(client4, get, trusted)
	}); n != 0 {
		t.Errorf("Parse and Resolve of version 2 allocate %v times; want 0", n)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"v1", []byte("PROXY TCP4 203.0.113.7 192.0.2.1 51234 7070\r\n")},
		{"v2", appendV2(nil, v2Proxy, 0x11, v2Addrs(client4, server4), nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _, _ = Parse(tc.in)
			}
		})
	}
}
