package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/proxyproto"
	"github.com/danmu-dev/danmu/internal/redistest"
)

// balancerFleet is the deployment docs/deploy.md describes, on loopback:
// HAProxy in TCP mode terminating TLS with a certificate of a CA the test
// made with openssl, in front of two edges and one ingest node, sending
// each connection's client address with send-proxy-v2. Clients connect
// from addresses of 127.0.0.0/8 other than 127.0.0.1, HAProxy's.
type balancerFleet struct {
	t      *testing.T
	pool   *x509.CertPool
	caFile string
	edges  []*node
	ingest *node
	wsURL  string // wss://127.0.0.1:port/ws, through HAProxy
	apiURL string // https://127.0.0.1:port, through HAProxy
}

// startBalancerFleet starts Redis, the nodes (with extra flags of their
// own) and HAProxy, and returns once HAProxy answers over TLS.
func startBalancerFleet(t *testing.T, edgeArgs, ingestArgs []string) *balancerFleet {
	t.Helper()
	for _, tool := range []string{"haproxy", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (make test-deps installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	f := &balancerFleet{t: t, caFile: filepath.Join(dir, "ca.pem")}
	bundle := makeTestCerts(t, dir)
	f.pool = x509.NewCertPool()
	if pem, err := os.ReadFile(f.caFile); err != nil || !f.pool.AppendCertsFromPEM(pem) {
		t.Fatalf("read the test CA: %v", err)
	}
	redis := redistest.Start(t)
	wsPort, apiPort := redistest.FreePort(t), redistest.FreePort(t)
	f.wsURL = "wss://127.0.0.1:" + strconv.Itoa(wsPort) + "/ws"
	f.apiURL = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	common := []string{"--redis", redis.Addr(), "--proxy-protocol", "127.0.0.1", "--log-level", "debug"}
	for range 2 {
		f.edges = append(f.edges, startProcess(t, "edge", append(append(common, "--drain-period", "1s"), edgeArgs...)...))
	}
	f.ingest = startProcess(t, "ingest", append(append(common, "--public-ws-url", "wss://127.0.0.1:"+strconv.Itoa(wsPort),
		"--public-http-url", f.apiURL), ingestArgs...)...)

	// The shape of deploy/haproxy/haproxy.cfg, on free ports, with quick
	// health checks.
	var servers strings.Builder
	for i, e := range f.edges {
		fmt.Fprintf(&servers, "    server edge%d %s check port %s\n", i+1, e.wsAddr, portOf(t, e.adminAddr))
	}
	cfg := fmt.Sprintf(`global
    maxconn 5000
defaults
    mode tcp
    timeout connect 2s
    timeout client 90s
    timeout server 90s
    timeout tunnel 1h
frontend websocket
    bind 127.0.0.1:%d ssl crt %s
    default_backend edges
backend edges
    balance leastconn
    option httpchk GET /readyz
    http-check expect status 200
    default-server send-proxy-v2 inter 200ms fall 1 rise 1
%sfrontend api
    bind 127.0.0.1:%d ssl crt %s
    default_backend ingest
backend ingest
    option httpchk GET /readyz
    http-check expect status 200
    server ingest1 %s send-proxy-v2 check port %s inter 200ms fall 1 rise 1
`, wsPort, bundle, servers.String(), apiPort, bundle, f.ingest.apiAddr, portOf(t, f.ingest.adminAddr))
	cfgFile := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	haproxy := exec.Command("haproxy", "-db", "-f", cfgFile)
	output := &lockedBuffer{}
	haproxy.Stdout, haproxy.Stderr = output, output
	if err := haproxy.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	t.Cleanup(func() {
		_ = haproxy.Process.Kill()
		_ = haproxy.Wait()
		if t.Failed() {
			t.Logf("haproxy:\n%s", output)
		}
	})
	waitFor(t, waitTimeout, "HAProxy to serve the API over TLS", func() bool {
		resp, err := f.client("127.0.0.9").Get(f.apiURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return f
}

// makeTestCerts makes a CA (dir/ca.pem) and a certificate for 127.0.0.1
// it signed, with openssl, and returns the file HAProxy's crt takes: the
// certificate and its key.
func makeTestCerts(t *testing.T, dir string) string {
	t.Helper()
	ext := filepath.Join(dir, "san.cnf")
	if err := os.WriteFile(ext, []byte("subjectAltName=IP:127.0.0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
			"-subj", "/CN=danmu test CA", "-keyout", "ca.key", "-out", "ca.pem"},
		{"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
			"-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"},
		{"x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
			"-days", "1", "-extfile", ext, "-out", "server.pem"},
	} {
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cert, err1 := os.ReadFile(filepath.Join(dir, "server.pem"))
	key, err2 := os.ReadFile(filepath.Join(dir, "server.key"))
	bundle := filepath.Join(dir, "server.bundle.pem")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if err := os.WriteFile(bundle, append(cert, key...), 0o600); err != nil {
		t.Fatal(err)
	}
	return bundle
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// dialerFrom returns a dialer whose connections come from address src.
func dialerFrom(src string) *net.Dialer {
	return &net.Dialer{Timeout: waitTimeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
}

// client returns an HTTPS client trusting the test CA whose connections
// come from address src.
func (f *balancerFleet) client(src string) *http.Client {
	return &http.Client{Timeout: waitTimeout, Transport: &http.Transport{
		DialContext:       dialerFrom(src).DialContext,
		TLSClientConfig:   &tls.Config{RootCAs: f.pool},
		DisableKeepAlives: true,
	}}
}

// post posts text to room over https:// from src, and returns the status
// and the stored comment's id.
func (f *balancerFleet) post(src, room, text string) (int, string) {
	body, _ := json.Marshal(map[string]string{"text": text})
	resp, err := f.client(src).Post(f.apiURL+"/v1/rooms/"+room+"/danmaku", "application/json", bytes.NewReader(body))
	if err != nil {
		f.t.Errorf("post from %s: %v", src, err)
		return 0, ""
	}
	defer resp.Body.Close()
	var answer struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	return resp.StatusCode, answer.ID
}

// dial opens wss:// through HAProxy from src.
func (f *balancerFleet) dial(ctx context.Context, src, query string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{
		NetDialContext:   dialerFrom(src).DialContext,
		TLSClientConfig:  &tls.Config{RootCAs: f.pool},
		HandshakeTimeout: waitTimeout,
	}
	return d.DialContext(ctx, f.wsURL+query, nil)
}

// logs returns what the edges logged.
func (f *balancerFleet) edgeLogs() string {
	var all strings.Builder
	for _, e := range f.edges {
		all.WriteString(e.output.String())
	}
	return all.String()
}

// TestBehindBalancer: through HAProxy terminating TLS, a Node ws client
// and Chromium (the demo page over https://, its WebSocket URL from
// /config.json) receive each other's comments; the edges and the API
// take the clients' addresses from the PROXY protocol header, in their
// per-address limits and their logs; and a header where none may come, a
// missing one and malformed ones are refused.
func TestBehindBalancer(t *testing.T) {
	f := startBalancerFleet(t, []string{"--max-conns-per-ip", "1"}, []string{"--ip-rate", "0.01", "--ip-burst", "2"})
	pageURL := f.apiURL + "/?room=tls"
	script := exec.Command("node", "testdata/tls-clients.cjs", pageURL, f.wsURL, f.apiURL, "tls", f.caFile, "127.0.0.5", "127.0.0.6")
	web, _ := filepath.Abs("../../web/node_modules")
	script.Env = append(os.Environ(), "NODE_PATH="+web)
	var stderr bytes.Buffer
	script.Stderr = &stderr
	out, err := script.Output()
	if err != nil {
		t.Fatalf("tls-clients.cjs: %v\n%s", err, &stderr)
	}
	var got struct {
		Config   struct{ WS string }
		Node     []string
		Chromium []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("tls-clients.cjs printed %q: %v", out, err)
	}
	if got.Config.WS != f.wsURL {
		t.Errorf("/config.json through HAProxy names %q; want %q", got.Config.WS, f.wsURL)
	}
	for name, texts := range map[string][]string{"node": got.Node, "chromium": got.Chromium} {
		if strings.Join(texts, ",") != "from node,from chromium" {
			t.Errorf("%s received %q; want both comments, in order", name, texts)
		}
	}

	// --max-conns-per-ip 1 on each of two edges: 127.0.0.3 gets at most
	// two connections, 127.0.0.4 its own.
	ctx := t.Context()
	accepted, refused := 0, 0
	for range 3 {
		c, resp, err := f.dial(ctx, "127.0.0.3", "?room=limits")
		if err == nil {
			defer c.Close()
			accepted++
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("a connection from 127.0.0.3: %v, %v; want 101 or 503", resp, err)
		}
		refused++
		break
	}
	if refused != 1 || accepted < 1 || accepted > 2 {
		t.Errorf("127.0.0.3 got %d connections before a refusal (%d); want 1 or 2, then 503", accepted, refused)
	}
	c, _, err := f.dial(ctx, "127.0.0.4", "?room=limits")
	if err != nil {
		t.Fatalf("127.0.0.4, another client: %v", err)
	}
	defer c.Close()
	waitFor(t, waitTimeout, "the edges to log the clients' addresses", func() bool {
		logs := f.edgeLogs()
		return strings.Contains(logs, "client=127.0.0.3 reason=max_conns_per_ip") &&
			strings.Contains(logs, "msg=\"edge: upgraded\" client=127.0.0.4") &&
			strings.Contains(logs, "msg=\"edge: upgraded\" client=127.0.0.5")
	})

	// --ip-burst 2 on the API: by the client's address.
	for i, want := range []int{201, 201, 429} {
		if status, _ := f.post("127.0.0.7", "limits", "seven "+strconv.Itoa(i)); status != want {
			t.Errorf("post %d from 127.0.0.7: %d; want %d", i, status, want)
		}
	}
	if status, _ := f.post("127.0.0.8", "limits", "eight"); status != http.StatusCreated {
		t.Errorf("post from 127.0.0.8: %d; want 201", status)
	}
	if logs := f.ingest.output.String(); !strings.Contains(logs, "client=127.0.0.7 balancer=127.0.0.1") {
		t.Errorf("the ingest node's log has no connection of 127.0.0.7 through the balancer:\n%s", logs)
	}

	// Straight to the nodes, around HAProxy.
	v2 := proxyproto.AppendHeader(nil, proxyproto.Header{Version: 2,
		Source: netip.MustParseAddrPort("203.0.113.7:1000"), Destination: netip.MustParseAddrPort("127.0.0.1:7070")})
	upgrade := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	for _, tc := range []struct {
		name, from, send, reason string
	}{
		{"a header from an untrusted address", "127.0.0.20", string(v2) + upgrade, "proxy_untrusted"},
		{"no header from the balancer's address", "127.0.0.1", upgrade, "proxy_missing"},
		{"a malformed v1 header", "127.0.0.1", "PROXY TCP4 203.0.113.7 127.0.0.1 99999 1\r\n" + upgrade, "proxy_malformed"},
		{"a malformed v2 header", "127.0.0.1", string(v2[:12]) + "\x13\x11\x00\x0c" + string(v2[16:]) + upgrade, "proxy_malformed"},
	} {
		for _, target := range []*node{f.edges[0], f.ingest} {
			addr := target.wsAddr
			if target == f.ingest {
				addr = target.apiAddr
			}
			conn, err := dialerFrom(tc.from).Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(waitTimeout))
			if _, err := conn.Write([]byte(tc.send)); err != nil {
				t.Fatal(err)
			}
			var answer bytes.Buffer
			_, err = answer.ReadFrom(conn)
			conn.Close()
			if answer.Len() > 0 || (err != nil && !strings.Contains(err.Error(), "reset")) {
				t.Errorf("%s, to the %s: got %q, %v; want a close without an answer", tc.name, target.name, answer.Bytes(), err)
			}
		}
		waitFor(t, waitTimeout, "the edge to log "+tc.reason, func() bool {
			return strings.Contains(f.edges[0].output.String(), "reason="+tc.reason)
		})
	}
	waitFor(t, waitTimeout, "the ingest node to log the four refused connections", func() bool {
		return strings.Count(f.ingest.output.String(), "ingest: connection refused") == 4
	})
}

// TestBalancerDrain: 1 000 viewers watch a room through HAProxy while
// comments are posted; one edge is stopped with SIGTERM. Its viewers,
// closed with 1001 over --drain-period, reconnect through HAProxy to the
// other edge and resume with since: every viewer receives every comment
// once, in order.
func TestBalancerDrain(t *testing.T) {
	const viewers, comments, stopAfter = 1000, 30, 10
	f := startBalancerFleet(t, nil, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	results := make([]resumed, viewers)
	var joined, done sync.WaitGroup
	dials := make(chan struct{}, 32) // dials in flight: TLS handshakes are dear under -race
	for i := range viewers {
		joined.Add(1)
		done.Add(1)
		src := "127.0.0." + strconv.Itoa(10+i%4)
		go func() {
			defer done.Done()
			results[i] = f.resume(ctx, src, "drain", comments, dials, joined.Done)
		}()
	}
	joined.Wait()

	var ids []string
	for i := range comments {
		if i == stopAfter {
			go func() {
				if err := f.edges[0].terminate(); err != nil {
					t.Errorf("edge 1 after SIGTERM: %v", err)
				}
			}()
		}
		status, id := f.post("127.0.0.8", "drain", "comment "+strconv.Itoa(i))
		if status != http.StatusCreated {
			t.Fatalf("post %d: %d", i, status)
		}
		ids = append(ids, id)
		time.Sleep(100 * time.Millisecond)
	}
	finished := make(chan struct{})
	go func() { done.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		cancel()
		<-finished
	}
	want := strings.Join(ids, ",")
	reconnected, failed := 0, 0
	for i, r := range results {
		if r.reconnects > 0 {
			reconnected++
		}
		if got := strings.Join(r.ids, ","); got != want || r.err != nil {
			if failed++; failed <= 3 {
				t.Errorf("viewer %d (%d reconnects): %v; got %d comments %s; want %d %s", i, r.reconnects, r.err, len(r.ids), got, len(ids), want)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d viewers missed or repeated comments", failed, viewers)
	}
	if reconnected < viewers/4 {
		t.Errorf("%d viewers reconnected; want those of the stopped edge, about half of %d", reconnected, viewers)
	}
	t.Logf("%d viewers, %d reconnected to the other edge and resumed", viewers, reconnected)
}

// resumed is what one viewer of TestBalancerDrain received.
type resumed struct {
	ids        []string
	reconnects int
	err        error
}

// resume watches room through HAProxy from src until it has want
// comments, reconnecting with since after the last one it received
// whenever its connection ends; joined is called once, after the first
// join.
func (f *balancerFleet) resume(ctx context.Context, src, room string, want int, dials chan struct{}, joined func()) (r resumed) {
	var last codec.ID
	first := true
	defer func() {
		if first {
			joined()
		}
	}()
	for len(r.ids) < want && ctx.Err() == nil {
		query := "?room=" + room
		if len(r.ids) > 0 {
			query += "&since=" + last.String()
		}
		dials <- struct{}{}
		c, _, err := f.dial(ctx, src, query)
		<-dials
		if err != nil {
			r.err = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		r.err = nil
		for len(r.ids) < want {
			var m serverMessage
			if err := c.ReadJSON(&m); err != nil {
				r.reconnects++
				break
			}
			switch m.Type {
			case "joined":
				if first {
					first = false
					joined()
				}
			case "batch":
				for _, msg := range m.Msgs {
					id, err := codec.ParseID(msg.ID)
					if err != nil || !last.Less(id) {
						r.err = fmt.Errorf("comment %s after %s", msg.ID, last)
						c.Close()
						return r
					}
					last = id
					r.ids = append(r.ids, msg.ID)
				}
			}
		}
		c.Close()
	}
	if len(r.ids) < want && r.err == nil {
		r.err = ctx.Err()
	}
	return r
}
