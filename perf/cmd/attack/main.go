// Command attack measures what hostile clients cost a danmu server. It
// starts the server binary on free loopback ports, stores 1 000 comments
// in a room, runs one attack from many connections, and prints what the
// attack sent next to the server's CPU time, peak RSS and goroutines:
//
//	attack --bin bin/danmu --attack churn --conns 100 --rounds 100
//
// Attacks:
//
//	churn   each connection joins the room with since=0 (a replay of all
//	        that is stored) and leaves, rounds times, in one write
//	noread  each connection sends rounds joins of a 4 000-byte invalid
//	        room name, one error reply each, and never reads
//
// --args passes more flags to the server (to lift a limit and see what
// the next one does). It is a measuring tool, not a test: docs/security.md
// and docs/performance.md ("Hostile clients") show what it measured.
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/danmu-dev/danmu/perf/loadgen"
)

func main() {
	bin := flag.String("bin", "bin/danmu", "the danmu binary")
	attack := flag.String("attack", "churn", "churn or noread")
	conns := flag.Int("conns", 100, "attacking connections")
	rounds := flag.Int("rounds", 100, "join/leave pairs (churn) or invalid joins (noread) per connection")
	extra := flag.String("args", "", "more server flags, separated by spaces")
	flag.Parse()
	if err := run(*bin, *attack, *conns, *rounds, strings.Fields(*extra)); err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
}

func run(bin, attack string, conns, rounds int, extra []string) error {
	request, ok := requests[attack]
	if !ok {
		return fmt.Errorf("unknown attack %q", attack)
	}
	ws, api, admin := freePort(), freePort(), freePort()
	args := append([]string{"serve", "--ws-addr", ws, "--http-addr", api, "--admin-addr", admin, "--log-level", "error"}, extra...)
	server := exec.Command(bin, args...)
	server.Stderr = os.Stderr
	if err := server.Start(); err != nil {
		return err
	}
	defer server.Process.Kill()
	if err := waitHTTP("http://" + api + "/healthz"); err != nil {
		return err
	}
	for i := range 1000 {
		resp, err := http.Post("http://"+api+"/v1/rooms/target/danmaku", "application/json",
			strings.NewReader(fmt.Sprintf(`{"text":"comment %d"}`, i)))
		if err != nil {
			return err
		}
		resp.Body.Close()
	}

	before, err := loadgen.ReadProc(server.Process.Pid)
	if err != nil {
		return err
	}
	peak := before.RSS
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if s, err := loadgen.ReadProc(server.Process.Pid); err == nil {
				peak = max(peak, s.RSS)
			}
		}
	}()
	start := time.Now()
	payload := bytes.Repeat(request, rounds)
	var sent int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			n := attackOnce(ws, payload, attack == "noread")
			mu.Lock()
			sent += n
			mu.Unlock()
		})
	}
	wg.Wait()
	time.Sleep(2 * time.Second) // what the attack set off runs on
	close(done)
	after, err := loadgen.ReadProc(server.Process.Pid)
	if err != nil {
		return err
	}
	peak = max(peak, after.RSS)
	fmt.Printf("attack=%s conns=%d rounds=%d sent=%.2fMB server_cpu=%.2fs peak_rss=%dMB goroutines_after=%s wall=%.1fs args=%q\n",
		attack, conns, rounds, float64(sent)/1e6, (after.CPU - before.CPU).Seconds(), peak>>20,
		metric("http://"+admin+"/metrics", "go_goroutines"), time.Since(start).Seconds(), strings.Join(extra, " "))
	return nil
}

// requests are the frames each attack repeats.
var requests = map[string][]byte{
	"churn":  append(textFrame(`{"type":"join","room":"target","since":"0"}`), textFrame(`{"type":"leave","room":"target"}`)...),
	"noread": textFrame(`{"type":"join","room":"` + strings.Repeat("x", 4000) + `"}`),
}

// attackOnce upgrades a connection, writes payload, and then reads until
// the server closes it, or (noread) never reads for 5 s. It returns the
// bytes written.
func attackOnce(addr string, payload []byte, noread bool) int64 {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET /ws HTTP/1.1\r\nHost: danmu\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		return 0
	}
	n, _ := c.Write(payload)
	if noread {
		time.Sleep(5 * time.Second)
	} else {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, br)
	}
	return int64(n)
}

// textFrame returns a client text frame of s, masked with a zero key.
func textFrame(s string) []byte {
	f := []byte{0x81}
	if len(s) < 126 {
		f = append(f, 0x80|byte(len(s)))
	} else {
		f = binary.BigEndian.AppendUint16(append(f, 0x80|126), uint16(len(s)))
	}
	return append(append(f, 0, 0, 0, 0), s...)
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(url string) error {
	for range 100 {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer", url)
}

func metric(url, name string) string {
	resp, err := http.Get(url)
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := regexp.MustCompile(`(?m)^` + name + ` (\S+)`).FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return "?"
}
