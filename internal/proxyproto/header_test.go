package proxyproto

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

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
		{"v2 inet", string(appendV2(nil, v2Proxy, 0x11, appendAddrs(nil, client4, server4), nil)) + "GET", Header{2, client4, server4}, 28, nil},
		{"v2 inet6", string(appendV2(nil, v2Proxy, 0x21, appendAddrs(nil, client6, server6), nil)), Header{2, client6, server6}, 52, nil},
		{"v2 inet6 mapped", string(appendV2(nil, v2Proxy, 0x21, appendAddrs(nil, mapped, server6), nil)), Header{2, client4, server6}, 52, nil},
		{"v2 inet with TLV", string(appendV2(nil, v2Proxy, 0x11, appendAddrs(nil, client4, server4), ssl)), Header{2, client4, server4}, 36, nil},
		{"v2 local", string(appendV2(nil, v2Local, 0x00, nil, nil)), Header{Version: 2}, 16, nil},
		{"v2 local with addresses", string(appendV2(nil, v2Local, 0x11, appendAddrs(nil, client4, server4), nil)), Header{Version: 2}, 28, nil},
		{"v2 proxy unspec", string(appendV2(nil, v2Proxy, 0x00, nil, nil)), Header{Version: 2}, 16, nil},
		{"v2 proxy unix", string(appendV2(nil, v2Proxy, 0x31, make([]byte, 216), nil)), Header{Version: 2}, 232, nil},

		{"empty", "", Header{}, 0, ErrIncomplete},
		{"v1 signature start", "PRO", Header{}, 0, ErrIncomplete},
		{"v1 without CRLF yet", "PROXY TCP4 203.0.113.7 192.0.2.1 51234", Header{}, 0, ErrIncomplete},
		{"v2 signature start", "\r\n\r\n\x00", Header{}, 0, ErrIncomplete},
		{"v2 fixed part short", string(sigV2) + "\x21\x11\x00", Header{}, 0, ErrIncomplete},
		{"v2 addresses short", string(appendV2(nil, v2Proxy, 0x11, appendAddrs(nil, client4, server4), nil)[:20]), Header{}, 0, ErrIncomplete},

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
		{"v2 version 1", string(appendV2(nil, 0x11, 0x11, appendAddrs(nil, client4, server4), nil)), Header{}, 0, ErrMalformed},
		{"v2 command 2", string(appendV2(nil, 0x22, 0x11, appendAddrs(nil, client4, server4), nil)), Header{}, 0, ErrMalformed},
		{"v2 family 4", string(appendV2(nil, v2Proxy, 0x41, appendAddrs(nil, client4, server4), nil)), Header{}, 0, ErrMalformed},
		{"v2 transport 3", string(appendV2(nil, v2Proxy, 0x13, appendAddrs(nil, client4, server4), nil)), Header{}, 0, ErrMalformed},
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
		b := AppendHeader(nil, h)
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
	v2 := appendV2(nil, v2Proxy, 0x11, appendAddrs(nil, client4, server4), nil)
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
		{"v2", appendV2(nil, v2Proxy, 0x11, appendAddrs(nil, client4, server4), nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _, _ = Parse(tc.in)
			}
		})
	}
}
