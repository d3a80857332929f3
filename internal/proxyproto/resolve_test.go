package proxyproto

import (
	"errors"
	"net/netip"
	"testing"
)

func TestResolve(t *testing.T) {
	balancer := netip.MustParseAddrPort("10.0.0.5:40000")
	mappedBalancer := netip.MustParseAddrPort("[::ffff:10.0.0.5]:40000")
	stranger := netip.MustParseAddrPort("198.51.100.9:5555")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("2001:db8:1::1/128")}
	v2 := appendV2(nil, v2Proxy, 0x11, appendAddrs(nil, client4, server4), nil)
	local := appendV2(nil, v2Local, 0x00, nil, nil)
	v1 := []byte("PROXY TCP4 203.0.113.7 192.0.2.1 51234 7070\r\n")
	for _, tc := range []struct {
		name    string
		peer    netip.AddrPort
		in      []byte
		trusted []netip.Prefix
		want    Result
		err     error
	}{
		{"trusted v2", balancer, append(v2, "GET /"...), trusted, Result{client4, true, 28}, nil},
		{"trusted v1", balancer, v1, trusted, Result{client4, true, len(v1)}, nil},
		{"trusted mapped peer", mappedBalancer, v2, trusted, Result{client4, true, 28}, nil},
		{"trusted IPv6 peer", netip.MustParseAddrPort("[2001:db8:1::1]:9"), v2, trusted, Result{client4, true, 28}, nil},
		{"trusted local", balancer, local, trusted, Result{Client: balancer, Length: 16}, nil},
		{"trusted incomplete", balancer, v2[:20], trusted, Result{}, ErrIncomplete},
		{"trusted empty", balancer, nil, trusted, Result{}, ErrIncomplete},
		{"trusted missing", balancer, []byte("GET /ws HTTP/1.1\r\n"), trusted, Result{}, ErrMissing},
		{"trusted malformed", balancer, []byte("PROXY TCP4 x y 1 2\r\n"), trusted, Result{}, ErrMalformed},
		{"untrusted plain", stranger, []byte("GET /ws HTTP/1.1\r\n"), trusted, Result{Client: stranger}, nil},
		{"untrusted one byte", stranger, []byte("G"), trusted, Result{Client: stranger}, nil},
		{"untrusted P", stranger, []byte("P"), trusted, Result{}, ErrIncomplete},
		{"untrusted POST", stranger, []byte("POST /v1"), trusted, Result{Client: stranger}, nil},
		{"untrusted empty", stranger, nil, trusted, Result{}, ErrIncomplete},
		{"untrusted v1", stranger, v1, trusted, Result{}, ErrUntrusted},
		{"untrusted v1 signature alone", stranger, []byte("PROXY "), trusted, Result{}, ErrUntrusted},
		{"untrusted v2", stranger, v2, trusted, Result{}, ErrUntrusted},
		{"untrusted v2 signature alone", stranger, sigV2, trusted, Result{}, ErrUntrusted},
		{"nobody trusted", balancer, v2, nil, Result{}, ErrUntrusted},
		{"unmapped untrusted", netip.MustParseAddrPort("[::ffff:198.51.100.9]:5555"), []byte("GET"), trusted, Result{Client: stranger}, nil},
	} {
		got, err := Resolve(tc.peer, tc.in, tc.trusted)
		if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("%s: Resolve(%v, %q) error %v; want %v", tc.name, tc.peer, tc.in, err, tc.err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: Resolve(%v, %q) = %+v; want %+v", tc.name, tc.peer, tc.in, got, tc.want)
		}
	}
}
