package ingest

import (
	"context"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/danmu-dev/danmu/policy"
)

// proxies are the trusted proxies of the tests: a private IPv4 network and
// an IPv6 one.
var proxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}

func TestClientAddr(t *testing.T) {
	const proxy, outsider = "10.0.0.1", "198.51.100.1"
	tests := []struct {
		peer    string
		lines   []string
		trusted []netip.Prefix
		want    string
	}{
		// No trusted proxies: the peer is taken for the proxy, and the
		// right-most address is the one it added.
		{outsider, nil, nil, outsider},
		{proxy, []string{"192.0.2.1"}, nil, "192.0.2.1"},
		{proxy, []string{"203.0.113.9, 192.0.2.1"}, nil, "192.0.2.1"},
		{proxy, []string{"203.0.113.9", "192.0.2.1"}, nil, "192.0.2.1"}, // a forged first line
		{proxy, []string{"10.0.0.2"}, nil, "10.0.0.2"},
		{proxy, []string{"192.0.2.1", "garbage"}, nil, proxy},
		{proxy, []string{""}, nil, proxy},
		// Trusted proxies: the header counts only from one of them.
		{outsider, []string{"192.0.2.1"}, proxies, outsider},
		{outsider, nil, proxies, outsider},
		{proxy, nil, proxies, proxy},
		{proxy, []string{"192.0.2.1"}, proxies, "192.0.2.1"}, // X-Real-IP
		{proxy, []string{"203.0.113.9, 192.0.2.1, 10.0.0.2"}, proxies, "192.0.2.1"},
		{proxy, []string{"203.0.113.9", "192.0.2.1", "10.0.0.2"}, proxies, "192.0.2.1"},
		{proxy, []string{"203.0.113.9, 192.0.2.1", "10.0.0.3,10.0.0.2"}, proxies, "192.0.2.1"},
		{proxy, []string{"10.0.0.3, 10.0.0.2"}, proxies, "10.0.0.3"}, // all trusted: the left-most
		{proxy, []string{"203.0.113.9, bogus, 10.0.0.2"}, proxies, "10.0.0.2"},
		{proxy, []string{"203.0.113.9", "", "10.0.0.2"}, proxies, "10.0.0.2"},
		{proxy, []string{"192.0.2.1,"}, proxies, proxy},
		{proxy, []string{"192.0.2.1:8080"}, proxies, proxy},
		{proxy, []string{"unknown, 10.0.0.2"}, proxies, "10.0.0.2"},
		{proxy, []string{"\t192.0.2.1 ,  10.0.0.2 "}, proxies, "192.0.2.1"},
		{proxy, []string{"::ffff:192.0.2.1"}, proxies, "192.0.2.1"},
		{proxy, []string{"::ffff:10.0.0.2"}, proxies, "10.0.0.2"},
		{proxy, []string{"fe80::1%eth0"}, proxies, "fe80::1"},
		{"2001:db8:ffff::1", []string{"192.0.2.1, 2001:db8:ffff::7"}, proxies, "192.0.2.1"},
		{proxy, []string{"2001:db8::1, 2001:db8:ffff::7"}, proxies, "2001:db8::1"},
	}
	for _, tt := range tests {
		var lines [][]byte
		for _, l := range tt.lines {
			lines = append(lines, []byte(l))
		}
		if got := clientAddr(netip.MustParseAddr(tt.peer), lines, tt.trusted); got != netip.MustParseAddr(tt.want) {
			t.Errorf("clientAddr(%s, %q, %v) = %s; want %s", tt.peer, tt.lines, tt.trusted, got, tt.want)
		}
	}
}

// startAddressServer serves cfg with a hook that records each post's
// client address.
func startAddressServer(t *testing.T, cfg Config) (ts *testServer, last func() netip.Addr) {
	t.Helper()
	var mu sync.Mutex
	var addr netip.Addr
	ts = startHookServer(t, cfg, newMemory(), &syncBuffer{}, &testHook{name: "address", before: func(ctx context.Context, c *policy.Comment) error {
		mu.Lock()
		defer mu.Unlock()
		addr = c.ClientIP
		return nil
	}})
	return ts, func() netip.Addr {
		mu.Lock()
		defer mu.Unlock()
		return addr
	}
}

// postForwarded posts a comment whose header name has one line per value
// (none for no values), and returns the status.
func postForwarded(t *testing.T, ts *testServer, name string, lines ...string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.base+"/v1/rooms/r/danmaku", strings.NewReader(`{"text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if len(lines) > 0 {
		req.Header[name] = lines
	}
	return ts.roundTrip(t, req).status
}

// TestClientIPHeader checks over HTTP which address of the configured
// header's lines a post gets, with and without trusted proxies; the test's
// client, 127.0.0.1, is the proxy.
func TestClientIPHeader(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := []struct {
		header  string
		trusted []netip.Prefix
		lines   []string
		want    string
	}{
		{"X-Forwarded-For", nil, nil, "127.0.0.1"},
		{"X-Forwarded-For", nil, []string{"203.0.113.9", "192.0.2.1"}, "192.0.2.1"},
		{"X-Forwarded-For", nil, []string{"203.0.113.9, 192.0.2.1"}, "192.0.2.1"},
		{"X-Forwarded-For", nil, []string{"garbage"}, "127.0.0.1"},
		{"X-Forwarded-For", loopback, []string{"203.0.113.9", "192.0.2.1, 127.0.0.2"}, "192.0.2.1"},
		{"X-Forwarded-For", proxies, []string{"192.0.2.1"}, "127.0.0.1"}, // not from a proxy
		{"X-Real-IP", loopback, []string{"192.0.2.1"}, "192.0.2.1"},
		{"x-real-ip", loopback, []string{"2001:db8::1"}, "2001:db8::1"},
		{"", loopback, []string{"192.0.2.1"}, "127.0.0.1"}, // no header configured
	}
	for _, tt := range tests {
		ts, last := startAddressServer(t, Config{ClientIPHeader: tt.header, TrustedProxies: tt.trusted})
		name := tt.header
		if name == "" {
			name = "X-Forwarded-For"
		}
		if status := postForwarded(t, ts, http.CanonicalHeaderKey(name), tt.lines...); status != http.StatusCreated {
			t.Fatalf("POST: status %d", status)
		}
		if got := last(); got != netip.MustParseAddr(tt.want) {
			t.Errorf("--client-ip-header %q --trusted-proxies %v, lines %q: client %s; want %s", tt.header, tt.trusted, tt.lines, got, tt.want)
		}
	}
}

// TestForgedForwardedForIsLimited: a client that sends X-Forwarded-For
// itself, a new address each time, in a line before the proxy's or on
// the proxy's line, still gets its own address's limit.
func TestForgedForwardedForIsLimited(t *testing.T) {
	for _, trusted := range [][]netip.Prefix{nil, {netip.MustParsePrefix("127.0.0.1/32")}} {
		ts := startServer(t, Config{Policy: policy.Config{IPLimit: policy.Limit{Rate: 0.5, Burst: 1}}, ClientIPHeader: "X-Forwarded-For", TrustedProxies: trusted}, newMemory(), nil, nil)
		steps := []struct {
			lines []string
			want  int
		}{
			{[]string{"203.0.113.1", "192.0.2.1"}, 201},
			{[]string{"203.0.113.2", "192.0.2.1"}, 429},
			{[]string{"203.0.113.3, 192.0.2.1"}, 429},
			{[]string{"203.0.113.4", "", "192.0.2.1"}, 429},
			{[]string{"192.0.2.2"}, 201}, // another client
		}
		for _, s := range steps {
			if got := postForwarded(t, ts, "X-Forwarded-For", s.lines...); got != s.want {
				t.Errorf("trusted %v, X-Forwarded-For lines %q: status %d; want %d", trusted, s.lines, got, s.want)
			}
		}
	}
}

// TestClientIPTrailerIgnored: a client sends the client address header as
// a trailer, after the body, where a proxy does not look. fasthttp refuses
// X-Forwarded-* and X-Real-IP trailers, but not other names; its Peek and
// PeekAll would return such a trailer along with the header's lines.
func TestClientIPTrailerIgnored(t *testing.T) {
	ts, last := startAddressServer(t, Config{ClientIPHeader: "True-Client-IP"})
	for _, header := range []string{"192.0.2.1", ""} {
		req, err := http.NewRequest(http.MethodPost, ts.base+"/v1/rooms/r/danmaku", io.MultiReader(strings.NewReader(`{"text":"x"}`)))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1 // chunked, which trailers need
		req.Header.Set("Content-Type", "application/json")
		want := "127.0.0.1"
		if header != "" {
			req.Header.Set("True-Client-IP", header)
			want = header
		}
		req.Trailer = http.Header{"True-Client-IP": {"203.0.113.9"}}
		if r := ts.roundTrip(t, req); r.status != http.StatusCreated {
			t.Fatalf("POST with a trailer: status %d (body %s)", r.status, r.body)
		}
		if got := last(); got != netip.MustParseAddr(want) {
			t.Errorf("header %q, trailer 203.0.113.9: client %s; want %s", header, got, want)
		}
	}
}
