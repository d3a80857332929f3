package ingest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/internal/proxyproto"
	"github.com/danmu-dev/danmu/policy"
)

// balancerAddr is the source address of the test's load balancer; other
// connections come from 127.0.0.1.
const balancerAddr = "127.0.0.2"

var trustBalancer = []netip.Prefix{netip.MustParsePrefix(balancerAddr + "/32")}

// proxyV2 is a version 2 header (PROXY, TCP over IPv4) for a client at
// client, as HAProxy's send-proxy-v2 writes it.
func proxyV2(client string) []byte {
	return proxyproto.AppendHeader(nil, proxyproto.Header{
		Version:     2,
		Source:      netip.AddrPortFrom(netip.MustParseAddr(client), 40000),
		Destination: netip.MustParseAddrPort("127.0.0.1:7080"),
	})
}

// dialFrom opens a connection to ts from source address src, closed when
// the test ends.
func (ts *testServer) dialFrom(t *testing.T, src string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// postRaw writes header, then a post of text to room r, on c and returns
// the answer's status.
func postRaw(t *testing.T, c net.Conn, br *bufio.Reader, header []byte, text string) int {
	t.Helper()
	body := `{"text":"` + text + `"}`
	req := "POST /v1/rooms/r/danmaku HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := c.Write(append(header, req...)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("post %q: %v", text, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// expectClosed checks that the server closes c without answering.
func expectClosed(t *testing.T, what string, c net.Conn) {
	t.Helper()
	rest, err := io.ReadAll(c)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("%s: waiting for the close: %v", what, err)
	}
	if len(rest) > 0 {
		t.Errorf("%s: got %q; want a close without an answer", what, rest)
	}
}

// TestProxyProtocol: behind a trusted balancer, the client address of the
// header is the one the per-address rate limit and MaxConnsPerIP count;
// a connection from elsewhere without a header is served as before.
func TestProxyProtocol(t *testing.T) {
	ts := startServer(t, Config{
		ProxyProtocol: trustBalancer,
		MaxConnsPerIP: 2,
		Policy:        policy.Config{IPLimit: policy.Limit{Rate: 0.01, Burst: 1}},
	}, newMemory(), nil, nil)

	a := ts.dialFrom(t, balancerAddr)
	ab := bufio.NewReader(a)
	if got := postRaw(t, a, ab, proxyV2("203.0.113.7"), "first of .7"); got != http.StatusCreated {
		t.Fatalf("first post of 203.0.113.7: %d; want 201", got)
	}
	// Same connection, same client: the header came once.
	if got := postRaw(t, a, ab, nil, "second of .7"); got != http.StatusTooManyRequests {
		t.Fatalf("second post of 203.0.113.7: %d; want 429", got)
	}
	b := ts.dialFrom(t, balancerAddr)
	if got := postRaw(t, b, bufio.NewReader(b), proxyV2("203.0.113.8"), "first of .8"); got != http.StatusCreated {
		t.Fatalf("first post of 203.0.113.8 through the same balancer: %d; want 201", got)
	}
	plain := ts.dialFrom(t, "127.0.0.1")
	if got := postRaw(t, plain, bufio.NewReader(plain), nil, "direct"); got != http.StatusCreated {
		t.Fatalf("post without a header from an untrusted address: %d; want 201", got)
	}

	// MaxConnsPerIP 2: 203.0.113.7 holds a, and one more; the balancer
	// itself holds three, and more.
	a2 := ts.dialFrom(t, balancerAddr)
	if _, err := a2.Write(proxyV2("203.0.113.7")); err != nil {
		t.Fatal(err)
	}
	a3 := ts.dialFrom(t, balancerAddr)
	if _, err := a3.Write(proxyV2("203.0.113.7")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(a3), nil)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third connection of 203.0.113.7: %v, %v; want fasthttp's 429", resp, err)
	}
	c := ts.dialFrom(t, balancerAddr)
	if got := postRaw(t, c, bufio.NewReader(c), proxyV2("203.0.113.9"), "first of .9"); got != http.StatusCreated {
		t.Fatalf("first post of 203.0.113.9: %d; want 201", got)
	}
}

// TestProxyProtocolRefused: a header from an untrusted address, a trusted
// balancer's connection without one, malformed headers and one that does
// not come within ReadTimeout are all closed without an answer, and
// counted.
func TestProxyProtocolRefused(t *testing.T) {
	ts := startServer(t, Config{ProxyProtocol: trustBalancer, ReadTimeout: 300 * time.Millisecond}, newMemory(), nil, nil)
	post := "POST /v1/rooms/r/danmaku HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
	for i, tc := range []struct {
		name string
		from string
		send string
	}{
		{"v2 from an untrusted address", "127.0.0.1", string(proxyV2("203.0.113.7")) + post},
		{"v1 from an untrusted address", "127.0.0.1", "PROXY TCP4 203.0.113.7 127.0.0.1 1 2\r\n" + post},
		{"no header from the balancer", balancerAddr, post},
		{"malformed v1", balancerAddr, "PROXY TCP4 203.0.113.7 127.0.0.1 1 65536\r\n" + post},
		{"malformed v2", balancerAddr, "\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04abcd" + post},
		{"partial header, then silence", balancerAddr, string(proxyV2("203.0.113.7")[:20])},
	} {
		c := ts.dialFrom(t, tc.from)
		if _, err := c.Write([]byte(tc.send)); err != nil {
			t.Fatal(err)
		}
		expectClosed(t, tc.name, c)
		if got := ts.srv.Stats().ProxyRefused.Load(); got != uint64(i+1) {
			t.Errorf("%s: ProxyRefused = %d; want %d", tc.name, got, i+1)
		}
	}
}

// TestProxyListenerShutdown: Shutdown does not wait for a connection whose
// header is still awaited.
func TestProxyListenerShutdown(t *testing.T) {
	srv := New(Config{ProxyProtocol: trustBalancer, ReadTimeout: time.Minute}, newMemory(), fixedPresence{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(balancerAddr)}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("PROXY TCP4")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the listener start reading it
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v with a header pending; want well under ReadTimeout", d)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the pending connection: read %v; want it closed", err)
	}
}
