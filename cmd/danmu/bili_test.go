package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// biliClientDir holds the real npm client bilibili-live-ws (installed by
// `make test-deps`) and client.js, which drives it.
const biliClientDir = "testdata/bili-client"

// biliEvent is one line client.js prints.
type biliEvent struct {
	Event   string `json:"event"`
	Online  int    `json:"online"`
	Text    string `json:"text"`
	UID     int64  `json:"uid"`
	Name    string `json:"name"`
	Mode    int    `json:"mode"`
	Color   int    `json:"color"`
	Message string `json:"message"`
}

// biliClient is one bilibili-live-ws client run by node.
type biliClient struct {
	t        *testing.T
	protover int
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	events   chan biliEvent
	stderr   *lockedBuffer
}

// startBiliClient runs client.js against the edge at wsAddr.
func startBiliClient(t *testing.T, wsAddr string, roomid, protover int) *biliClient {
	t.Helper()
	cmd := exec.Command("node", "client.js", "ws://"+wsAddr+"/sub", strconv.Itoa(roomid), strconv.Itoa(protover))
	cmd.Dir = biliClientDir
	c := &biliClient{t: t, protover: protover, cmd: cmd, events: make(chan biliEvent, 1024), stderr: &lockedBuffer{}}
	cmd.Stderr = c.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdin = stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("node client.js (run make test-deps first): %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("protover %d client stderr:\n%s", protover, c.stderr)
		}
	})
	go func() {
		defer close(c.events)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			var e biliEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = biliEvent{Event: "error", Message: "unreadable line " + sc.Text()}
			}
			c.events <- e
		}
	}()
	return c
}

// next returns the client's next event of kind, failing on an error or
// close event and skipping the others.
func (c *biliClient) next(kind string) biliEvent {
	c.t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				c.t.Fatalf("protover %d: client ended waiting for %s", c.protover, kind)
			}
			if e.Event == kind {
				return e
			}
			if e.Event == "error" || e.Event == "close" {
				c.t.Fatalf("protover %d: got %+v waiting for %s", c.protover, e, kind)
			}
		case <-timeout:
			c.t.Fatalf("protover %d: no %s event", c.protover, kind)
		}
	}
}

// send writes a command line to client.js.
func (c *biliClient) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Fatal(err)
	}
}

// biliComment is a comment posted in TestBiliClient and what the clients
// must show of it.
type biliComment struct {
	Text  string `json:"text"`
	UID   string `json:"uid"`
	Name  string `json:"name"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
}

// postComment publishes c through the HTTP API.
func postComment(t *testing.T, addr, room string, c biliComment) {
	t.Helper()
	body, _ := json.Marshal(c)
	resp, err := httpClient.Post("http://"+addr+"/v1/rooms/"+room+"/danmaku", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		answer, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s = %d %s", body, resp.StatusCode, answer)
	}
}

// TestBiliClient connects the real npm client bilibili-live-ws to /sub with
// protover 1, 2 and 3: each goes live, reports the room's online count on
// heartbeat, and gets a burst of comments posted through the HTTP API as
// DANMU_MSG events, in order, with their text, uid, name, mode and color.
func TestBiliClient(t *testing.T) {
	// A flush window long enough that the burst arrives in batches of
	// many comments.
	n := startNode(t, "serve", "--flush-interval", "50ms")
	const roomid = 31415
	room := strconv.Itoa(roomid)
	var clients []*biliClient
	for _, protover := range []int{1, 2, 3} {
		clients = append(clients, startBiliClient(t, n.wsAddr, roomid, protover))
	}
	for _, c := range clients {
		c.next("live")
	}
	waitOnline(t, n.apiAddr, room, len(clients))
	for _, c := range clients {
		c.send("online")
		deadline := time.Now().Add(waitTimeout)
		for c.next("heartbeat").Online != len(clients) {
			if time.Now().After(deadline) {
				t.Fatalf("protover %d: heartbeat never reported %d viewers", c.protover, len(clients))
			}
			c.send("online")
		}
	}

	modes := []struct {
		name string
		code int
	}{{"scroll", 1}, {"bottom", 4}, {"top", 5}}
	const burst = 60
	var posted []biliComment
	var wantModes []int
	for i := range burst {
		m := modes[i%len(modes)]
		posted = append(posted, biliComment{
			Text:  fmt.Sprintf("弹幕 %d \"quoted\" \\ <b>", i),
			UID:   strconv.Itoa(1000 + i),
			Name:  fmt.Sprintf("观众%d", i),
			Color: fmt.Sprintf("#%02x%02x%02X", i*4, 255-i, i),
			Mode:  m.name,
		})
		wantModes = append(wantModes, m.code)
	}
	for _, c := range posted {
		postComment(t, n.apiAddr, room, c)
	}
	// Each client's events are buffered: read them one client at a time.
	for _, c := range clients {
		for i, want := range posted {
			got := c.next("danmu")
			color, _ := strconv.ParseInt(want.Color[1:], 16, 32)
			uid, _ := strconv.ParseInt(want.UID, 10, 64)
			if got.Text != want.Text || got.UID != uid || got.Name != want.Name || got.Mode != wantModes[i] || got.Color != int(color) {
				t.Fatalf("protover %d: DANMU_MSG %d = %+v; want %+v (mode %d, color %d)", c.protover, i, got, want, wantModes[i], color)
			}
		}
	}
}

// TestCompressionFlags checks the flags of permessage-deflate and of the
// /sub encodings: defaults, values, the inverted --ws-deflate and ranges.
func TestCompressionFlags(t *testing.T) {
	o := parseServe(t)
	if o.edge.Deflate.Off || o.edge.Deflate.Level != 1 || o.edge.Deflate.MinBytes != 256 || o.edge.Bili.ZlibLevel != 1 || o.edge.Bili.BrotliLevel != 2 {
		t.Errorf("defaults: deflate %+v bili %+v", o.edge.Deflate, o.edge.Bili)
	}
	o = parseServe(t, "--ws-deflate=false", "--ws-deflate-level", "9", "--ws-deflate-min-bytes", "64",
		"--sub-zlib-level", "6", "--sub-brotli-level", "11", "--sub-enter-timeout", "2s", "--sub-idle-timeout", "90s")
	if !o.edge.Deflate.Off || o.edge.Deflate.Level != 9 || o.edge.Deflate.MinBytes != 64 || o.edge.Bili.ZlibLevel != 6 ||
		o.edge.Bili.BrotliLevel != 11 || o.edge.Bili.EnterTimeout != 2*time.Second || o.edge.Bili.IdleTimeout != 90*time.Second {
		t.Errorf("set: deflate %+v bili %+v", o.edge.Deflate, o.edge.Bili)
	}
	for _, args := range [][]string{{"--ws-deflate-level", "0"}, {"--ws-deflate-level", "10"}, {"--sub-brotli-level", "12"}, {"--sub-zlib-level", "x"}, {"--ws-deflate=maybe"}} {
		var o options
		if err := parseFlags(commandFlags("serve", commandRoles["serve"], &o), args, io.Discard); err == nil {
			t.Errorf("parse %q succeeded; want a usage error", args)
		}
	}
}
