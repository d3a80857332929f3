package proxyproto

import (
	"errors"
	"net/netip"
	"testing"
)

// seedHeaders are real headers: what HAProxy's send-proxy and
// send-proxy-v2 write (the latter with a TLV), and the edge cases.
func seedHeaders(f *testing.F) {
	f.Add([]byte("PROXY TCP4 203.0.113.7 192.0.2.1 51234 7070\r\nGET /ws HTTP/1.1\r\n\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(appendV2(nil, v2Proxy, 0x11, appendAddrs(nil, client4, server4), []byte{0x01, 0x00, 0x02, 'h', '2'}))
	f.Add(appendV2(nil, v2Proxy, 0x21, appendAddrs(nil, client6, server6), nil))
	f.Add(appendV2(nil, v2Local, 0x00, nil, nil))
	f.Add(appendV2(nil, v2Proxy, 0x31, make([]byte, 216), nil))
	f.Add([]byte("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"))
}

// FuzzParse checks that Parse never panics, that what it decodes
// re-encodes to a header it decodes the same way, that every proper prefix
// of a header is incomplete (a header split across reads is waited for)
// and that a verdict, once given, does not change with more bytes.
func FuzzParse(f *testing.F) {
	seedHeaders(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		switch {
		case err == nil:
			if n <= 0 || n > len(b) || n > MaxHeaderBytes {
				t.Fatalf("Parse(%q) length %d of %d bytes", b, n, len(b))
			}
			for _, k := range []int{0, 1, n / 2, n - 1} {
				if _, _, err := Parse(b[:k]); err != ErrIncomplete {
					t.Fatalf("Parse(%q), a prefix of the header %q, = %v; want ErrIncomplete", b[:k], b[:n], err)
				}
			}
			again, m, err := Parse(b[:n])
			if err != nil || again != h || m != n {
				t.Fatalf("Parse(%q) = %+v, %d, %v; want %+v, %d as with the bytes after it", b[:n], again, m, err, h, n)
			}
			if h.Source.IsValid() != h.Destination.IsValid() || h.Source.Addr().Is4In6() || h.Source.Addr().Zone() != "" {
				t.Fatalf("Parse(%q) = %+v: inconsistent addresses", b, h)
			}
			round, _, err := Parse(AppendHeader(nil, h))
			if err != nil || round != h {
				t.Fatalf("Parse(AppendHeader(%+v)) = %+v, %v", h, round, err)
			}
		case errors.Is(err, ErrIncomplete):
			if len(b) >= MaxHeaderBytes {
				t.Fatalf("Parse of %d bytes is still incomplete", len(b))
			}
		case errors.Is(err, ErrMissing), errors.Is(err, ErrMalformed):
			more := append(b[:len(b):len(b)], "\r\n\r\n"...)
			if _, _, err2 := Parse(more); !errors.Is(err2, err) && !(errors.Is(err, ErrMalformed) && errors.Is(err2, ErrMalformed)) {
				t.Fatalf("Parse(%q) = %v, but with more bytes %v", b, err, err2)
			}
		default:
			t.Fatalf("Parse(%q) = %v: not one of the package's errors", b, err)
		}
	})
}

// FuzzResolve checks Resolve's promises from a trusted and an untrusted
// peer: a header is never believed from the untrusted one, and the client
// from the trusted one is the header's.
func FuzzResolve(f *testing.F) {
	seedHeaders(f)
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	balancer := netip.MustParseAddrPort("10.1.2.3:4000")
	stranger := netip.MustParseAddrPort("198.51.100.9:5555")
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, perr := Parse(b)
		r, err := Resolve(balancer, b, trusted)
		if perr == nil {
			want := Result{Client: balancer, Length: n}
			if h.Source.IsValid() {
				want = Result{Client: h.Source, Proxied: true, Length: n}
			}
			if err != nil || r != want {
				t.Fatalf("Resolve(trusted, %q) = %+v, %v; want %+v", b, r, err, want)
			}
		} else if err != perr && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Resolve(trusted, %q) = %v; Parse says %v", b, err, perr)
		}
		r, err = Resolve(stranger, b, trusted)
		switch {
		case err == nil:
			if r != (Result{Client: stranger}) {
				t.Fatalf("Resolve(untrusted, %q) = %+v; want the peer, nothing skipped", b, r)
			}
			if perr != ErrMissing {
				t.Fatalf("Resolve(untrusted, %q) let through what Parse calls %v", b, perr)
			}
		case err == ErrIncomplete:
			if len(b) >= len(sigV2) {
				t.Fatalf("Resolve(untrusted, %q) incomplete after %d bytes", b, len(b))
			}
		case err != ErrUntrusted:
			t.Fatalf("Resolve(untrusted, %q) = %v", b, err)
		}
	})
}
