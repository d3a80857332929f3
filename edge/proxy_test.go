package edge

import (
	"bufio"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/internal/proxyproto"
)

// balancerAddr is the source address of the test's load balancer; other
// connections come from 127.0.0.1.
const balancerAddr = "127.0.0.2"

var trustBalancer = []netip.Prefix{netip.MustParsePrefix(balancerAddr + "/32")}

// rawConnFrom connects to the server from source address src.
func (e *testEnv) rawConnFrom(t testing.TB, src string) *rawClient {
	t.Helper()
	d := net.Dialer{Timeout: waitTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	conn, err := d.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// proxyV1 is a version 1 header for a client at client (IPv4).
func proxyV1(client string) []byte {
	return proxyproto.AppendHeader(nil, proxyproto.Header{
		Version:     1,
		Source:      netip.AddrPortFrom(netip.MustParseAddr(client), 40000),
		Destination: netip.MustParseAddrPort("127.0.0.1:7070"),
	})
}

// proxyV2 is a version 2 header (PROXY, TCP over IPv4) for a client at
// client, as HAProxy's send-proxy-v2 writes it.
func proxyV2(client string) []byte {
	return proxyproto.AppendHeader(nil, proxyproto.Header{
		Version:     2,
		Source:      netip.AddrPortFrom(netip.MustParseAddr(client), 40000),
		Destination: netip.MustParseAddrPort("127.0.0.1:7070"),
	})
}

// proxyLocal is a version 2 LOCAL header: the balancer's own connection,
// such as a health check.
var proxyLocal = proxyproto.AppendHeader(nil, proxyproto.Header{Version: 2})

// TestProxyProtocol: behind a trusted balancer, a connection that begins
// with a version 1 or 2 header, whole or a byte at a time, is upgraded as
// the client the header names, and MaxConnsPerIP counts that client, not
// the balancer.
func TestProxyProtocol(t *testing.T) {
	env := startEnv(t, envConfig{edge: Config{ProxyProtocol: trustBalancer, MaxConnsPerIP: 2}})
	through := func(header []byte, slowly bool) *rawClient {
		rc := env.rawConnFrom(t, balancerAddr)
		req := append(header, upgradeRequest("/ws?room=lobby")...)
		if slowly {
			rc.writeSlowly(req)
		} else {
			rc.write(req)
		}
		return rc
	}
	a1 := through(proxyV2("203.0.113.7"), false)
	a1.expectUpgraded()
	expectJoined(t, a1, "lobby")
	a2 := through(proxyV1("203.0.113.7"), true)
	a2.expectUpgraded()
	expectJoined(t, a2, "lobby")

	a3 := through(proxyV2("203.0.113.7"), false)
	if resp, body := a3.readResponse(); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third connection of 203.0.113.7 got %s %q; want 503", resp.Status, body)
	}
	a3.expectEOF()
	if got := env.srv.Stats().Refused(RefusedMaxConnsPerIP); got != 1 {
		t.Errorf("Refused(RefusedMaxConnsPerIP) = %d; want 1", got)
	}
	// The balancer holds four connections, past MaxConnsPerIP: it is
	// not a client.
	b := through(proxyV2("203.0.113.8"), true)
	b.expectUpgraded()
	health := through(proxyLocal, false)
	health.expectUpgraded()

	env.post(t, "lobby", "hello")
	for _, rc := range []*rawClient{a1, a2, b} {
		if rc == b {
			expectJoined(t, rc, "lobby")
		}
		if m := rc.readMessage(); m.Type != "batch" || len(m.Msgs) != 1 || m.Msgs[0].Text != "hello" {
			t.Fatalf("got %+v; want the batch of hello", m)
		}
	}
	for _, rc := range []*rawClient{a1, a2, b, health} {
		_ = rc.conn.Close()
	}
	waitFor(t, "the connections to close", func() bool { return env.srv.Stats().Open.Load() == 0 })
	env.srv.admission.mu.Lock()
	total, perIP := env.srv.admission.mu.total, len(env.srv.admission.mu.perIP)
	env.srv.admission.mu.Unlock()
	if total != 0 || perIP != 0 {
		t.Errorf("after every connection closed, admission holds %d places, %d addresses; want none", total, perIP)
	}
}

func expectJoined(t *testing.T, rc *rawClient, room string) {
	t.Helper()
	if m := rc.readMessage(); m.Type != "joined" || m.Room != room {
		t.Fatalf("got %+v; want joined %s", m, room)
	}
}

// TestProxyProtocolRefused: a header from an address that is not trusted,
// a trusted balancer's connection without one, a malformed header and one
// that does not come in time all end in a close without an answer, each
// counted; a connection from elsewhere without a header is served.
func TestProxyProtocolRefused(t *testing.T) {
	env := startEnv(t, envConfig{edge: Config{ProxyProtocol: trustBalancer, HandshakeTimeout: 300 * time.Millisecond}})
	for _, tc := range []struct {
		name string
		from string
		send []byte
		why  Refusal
	}{
		{"v2 from an untrusted address", "127.0.0.1", proxyV2("203.0.113.7"), RefusedProxyUntrusted},
		{"v1 from an untrusted address", "127.0.0.1", proxyV1("203.0.113.7"), RefusedProxyUntrusted},
		{"no header from the balancer", balancerAddr, []byte(upgradeRequest("/ws")), RefusedProxyMissing},
		{"v1 with a bad address", balancerAddr, []byte("PROXY TCP4 203.0.113.700 127.0.0.1 1 2\r\n"), RefusedProxyMalformed},
		{"v1 without CR LF", balancerAddr, []byte("PROXY TCP4 203.0.113.7 127.0.0.1 1 2\n"), RefusedProxyMalformed},
		{"v1 too long", balancerAddr, append([]byte("PROXY UNKNOWN "), make([]byte, 200)...), RefusedProxyMalformed},
		{"v2 bad version", balancerAddr, append([]byte("\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c"), make([]byte, 12)...), RefusedProxyMalformed},
		{"v2 short address block", balancerAddr, []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04\x01\x02\x03\x04"), RefusedProxyMalformed},
		{"v2 too long", balancerAddr, []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff"), RefusedProxyMalformed},
		{"partial header, then silence", balancerAddr, proxyV2("203.0.113.7")[:20], RefusedProxyMissing},
	} {
		before := env.srv.Stats().Refused(tc.why)
		rc := env.rawConnFrom(t, tc.from)
		rc.write(tc.send)
		rc.expectEOF()
		if got := env.srv.Stats().Refused(tc.why); got != before+1 {
			t.Errorf("%s: Refused(%v) = %d; want %d", tc.name, tc.why, got, before+1)
		}
	}
	// The loop counts an upgrade once its 101 is written: the client may
	// read the 101 first.
	env.rawUpgrade(t, "/ws")
	waitFor(t, "the connection without a header from an untrusted address to count as upgraded", func() bool {
		return env.srv.Stats().Upgraded.Load() == 1
	})
	if got := env.srv.Stats().Upgraded.Load(); got != 1 {
		t.Errorf("Upgraded = %d; want 1, the connection without a header from an untrusted address", got)
	}
}
