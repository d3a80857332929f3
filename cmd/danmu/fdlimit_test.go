package main

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// floodLimit is the open-files limit of the node under a connection flood,
// and flood the idle connections the flood opens: more than the node can
// hold.
const (
	floodLimit = 256
	flood      = 300
)

// openIdle opens n TCP connections to addr that send nothing, closed when
// the test ends, and returns them. Connections the server refused may be
// among them.
func openIdle(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", addr, waitTimeout)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() { closeAll(conns) })
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		_ = c.Close()
	}
}

// TestEdgeRefusesPastMaxConns: a node whose open-files limit is 256 holds
// the connections --max-conns derives from it and answers the rest of a
// flood with 503 before their handshake, counting them; the HTTP API keeps
// working all along, and once the flood ends viewers connect again.
func TestEdgeRefusesPastMaxConns(t *testing.T) {
	n := startProcessLimited(t, floodLimit, "serve", "--handshake-timeout", "1m")
	conns := openIdle(t, n.wsAddr, flood)
	answers := make(chan int, len(conns))
	for _, c := range conns {
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answers <- 0 // held open, waiting for its request
				return
			}
			answers <- resp.StatusCode
		}()
	}
	refused := 0
	for range conns {
		switch status := <-answers; status {
		case 0:
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Errorf("a connection of the flood got %d; want 503 or nothing", status)
		}
	}
	if refused == 0 || refused == flood {
		t.Fatalf("%d of %d connections refused; want the ones past --max-conns", refused, flood)
	}
	mustPost(t, n.apiAddr, "during", "the API answers during the flood")
	if got := scrape(t, n.adminAddr).value("danmu_edge_connections_refused_total", "reason=max_conns"); got != float64(refused) {
		t.Errorf("danmu_edge_connections_refused_total{reason=max_conns} = %v; want %d", got, refused)
	}

	closeAll(conns)
	v := waitWatch(t, n.wsAddr, "after")
	waitHas(t, []*viewer{v}, []string{mustPost(t, n.apiAddr, "after", "hello")})
}

// TestEdgeSurvivesFDExhaustion: with --max-conns above what the open-files
// limit allows, a flood runs the process out of file descriptors. Accept
// fails with EMFILE; the edge backs off and retries instead of stopping,
// and once the flood ends it serves viewers again, the HTTP API as well.
func TestEdgeSurvivesFDExhaustion(t *testing.T) {
	n := startProcessLimited(t, floodLimit, "serve", "--max-conns", "100000")
	conns := openIdle(t, n.wsAddr, flood)
	waitFor(t, waitTimeout, "accept to fail for want of descriptors", func() bool {
		resp, err := httpClient.Get("http://" + n.adminAddr + "/metrics")
		if err != nil {
			return false // the admin address may be out of descriptors too
		}
		_ = resp.Body.Close()
		return scrape(t, n.adminAddr).value("danmu_edge_accept_errors_total") > 0
	})
	closeAll(conns)
	if n.cmd.ProcessState != nil {
		t.Fatalf("danmu exited: %v", n.cmd.ProcessState)
	}
	v := waitWatch(t, n.wsAddr, "after")
	waitHas(t, []*viewer{v}, []string{mustPost(t, n.apiAddr, "after", "hello")})
}

// TestAPISurvivesFDExhaustion: a flood of idle connections to the HTTP API
// runs the process out of file descriptors. The API's accept fails with
// EMFILE and is retried (fasthttp alone would stop serving); once the flood
// ends, posts are answered again and reach viewers.
func TestAPISurvivesFDExhaustion(t *testing.T) {
	n := startProcessLimited(t, floodLimit, "serve")
	conns := openIdle(t, n.apiAddr, flood)
	waitFor(t, waitTimeout, "the API's accept to fail for want of descriptors", func() bool {
		return strings.Contains(n.output.String(), "ingest: accept failed")
	})
	closeAll(conns)
	v := waitWatch(t, n.wsAddr, "after")
	waitHas(t, []*viewer{v}, []string{mustPost(t, n.apiAddr, "after", "hello")})
	if got := scrape(t, n.adminAddr).value("danmu_ingest_accept_errors_total"); got <= 0 {
		t.Errorf("danmu_ingest_accept_errors_total = %v; want the API's failed accepts counted", got)
	}
}

// waitWatch is watch for an edge that may refuse connections for a while.
func waitWatch(t *testing.T, addr, room string) *viewer {
	t.Helper()
	waitFor(t, waitTimeout, "the edge to take connections again", func() bool {
		c, err := net.DialTimeout("tcp", addr, waitTimeout)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		return err != nil && isTimeout(err) // not refused: it waits for a request
	})
	return watch(t, "viewer", addr, room, "")
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
