package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/gorilla/websocket"
)

// waitTimeout bounds every wait for a node. It is generous: the tests run
// with the race detector on a small machine, and a passing test never
// waits for it.
const waitTimeout = 15 * time.Second

// runMainEnv, set to 1, makes the test binary run main's command line
// instead of the tests, so that a test can run danmu in a process of its
// own and kill it (startProcess).
const runMainEnv = "DANMUTEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// testArgs are the flags every node of a test gets before its own: free
// ports on loopback, a short flush window, few event loops and a quick
// shutdown.
var testArgs = map[string][]string{
	"serve":  {"--ws-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--loops", "2", "--flush-interval", "5ms", "--drain-timeout", "1s", "--log-level", "warn"},
	"edge":   {"--ws-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--loops", "2", "--flush-interval", "5ms", "--drain-timeout", "1s", "--log-level", "warn"},
	"ingest": {"--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--log-level", "warn"},
}

// commandRoles are the parts each command runs, as run dispatches them.
var commandRoles = map[string]roles{
	"serve":  {edge: true, ingest: true},
	"edge":   {edge: true},
	"ingest": {ingest: true},
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// node is a danmu node run by a test: in this process by runNode
// (startNode), or in a child process (startProcess).
type node struct {
	t         testing.TB
	name      string // the command: serve, edge or ingest
	wsAddr    string // host:port of the WebSocket edge, or ""
	apiAddr   string // host:port of the HTTP API, or ""
	adminAddr string // host:port of the admin address, or ""
	output    *lockedBuffer

	// In-process nodes.
	cancel context.CancelFunc
	done   chan error

	// Child processes.
	cmd *exec.Cmd

	stopOnce sync.Once
	stopErr  error
}

// startNode runs command ("serve", "edge" or "ingest") in this process with
// testArgs and args, parsed as runCommand parses them (environment
// included), and returns once it serves. The node is stopped when the test
// ends, failing the test if it does not stop cleanly.
func startNode(t testing.TB, command string, args ...string) *node {
	t.Helper()
	r, ok := commandRoles[command]
	if !ok {
		t.Fatalf("startNode: unknown command %q", command)
	}
	var o options
	args = append(append([]string(nil), testArgs[command]...), args...)
	if err := parseFlags(commandFlags(command, r, &o), args, io.Discard); err != nil {
		t.Fatalf("danmu %s %s: %v", command, strings.Join(args, " "), err)
	}
	n := &node{t: t, name: command, output: &lockedBuffer{}, done: make(chan error, 1)}
	logger, err := newLogger(n.output, o.logLevel, o.logFormat)
	if err != nil {
		t.Fatal(err)
	}
	stdout := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.done <- runNode(ctx, o, r, stdout, logger) }()
	t.Cleanup(func() {
		if err := n.stop(); err != nil {
			t.Errorf("danmu %s: %v", command, err)
		}
		n.dumpOnFailure()
	})

	deadline := time.Now().Add(waitTimeout)
	for !n.parseURLs(stdout.String(), r) {
		select {
		case err := <-n.done:
			n.done <- err
			t.Fatalf("danmu %s ended before it served: %v\n%s", command, err, n.output)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("danmu %s printed no addresses; its output:\n%s%s", command, stdout, n.output)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return n
}

// startProcess runs command in a child process (this test binary, running
// main) with testArgs and args, and returns once it serves. The process is
// killed when the test ends.
func startProcess(t testing.TB, command string, args ...string) *node {
	t.Helper()
	return startProcessLimited(t, 0, command, args...)
}

// startProcessLimited is startProcess with the child's limit of open files
// set to nofile, soft and hard (zero keeps this process's limit).
func startProcessLimited(t testing.TB, nofile int, command string, args ...string) *node {
	t.Helper()
	args = append(append([]string{command}, testArgs[command]...), args...)
	cmd := exec.Command(os.Args[0], args...)
	if nofile > 0 {
		script := "ulimit -n " + strconv.Itoa(nofile) + ` && exec "$@"`
		cmd = exec.Command("/bin/sh", append([]string{"-c", script, "sh", os.Args[0]}, args...)...)
	}
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	n := &node{t: t, name: command, output: &lockedBuffer{}, cmd: cmd}
	cmd.Stderr = n.output
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start danmu %s: %v", command, err)
	}
	t.Cleanup(func() {
		n.kill()
		n.dumpOnFailure()
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	var printed strings.Builder
	timeout := time.After(waitTimeout)
	for !n.parseURLs(printed.String(), commandRoles[command]) {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("danmu %s ended before it served; its output:\n%s%s", command, &printed, n.output)
			}
			printed.WriteString(line + "\n")
		case <-timeout:
			t.Fatalf("danmu %s printed no addresses; its output:\n%s%s", command, &printed, n.output)
		}
	}
	go func() {
		for range lines {
		}
	}()
	return n
}

// Lines of the banner printURLs writes, with the address they show.
var (
	wsURLLine    = regexp.MustCompile(`(?m)^\s*WebSocket\s+ws://([^/\s]+)/ws`)
	apiURLLine   = regexp.MustCompile(`(?m)^\s*HTTP API\s+http://([^/\s]+)/`)
	adminURLLine = regexp.MustCompile(`(?m)^\s*Admin\s+http://([^/\s]+)/`)
)

// parseURLs finds in the printed banner the addresses of the parts r names
// and reports whether it found them all. An address must have a port: a
// node listening on port 0 prints the port it got.
func (n *node) parseURLs(printed string, r roles) bool {
	if m := wsURLLine.FindStringSubmatch(printed); m != nil {
		n.wsAddr = m[1]
	}
	if m := apiURLLine.FindStringSubmatch(printed); m != nil {
		n.apiAddr = m[1]
	}
	if m := adminURLLine.FindStringSubmatch(printed); m != nil {
		n.adminAddr = m[1]
	}
	for _, addr := range []string{n.wsAddr, n.apiAddr, n.adminAddr} {
		if _, port, err := net.SplitHostPort(addr); addr != "" && (err != nil || port == "0") {
			n.t.Fatalf("danmu %s printed the address %q; want host:port with the port it listens on", n.name, addr)
		}
	}
	return (!r.edge || n.wsAddr != "") && (!r.ingest || n.apiAddr != "")
}

// stop shuts an in-process node down gracefully, as SIGTERM does, and
// returns what runNode returned. It may be called more than once.
func (n *node) stop() error {
	n.stopOnce.Do(func() {
		n.cancel()
		select {
		case n.stopErr = <-n.done:
		case <-time.After(waitTimeout):
			n.stopErr = errors.New("runNode did not return")
		}
	})
	return n.stopErr
}

// kill ends a child process with SIGKILL, like a crash. It may be called
// more than once.
func (n *node) kill() {
	n.stopOnce.Do(func() {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
	})
}

// terminate stops a child process with SIGTERM, as an orchestrator does,
// and returns how it exited: nil for status 0. A process that has not
// exited after waitTimeout is killed. It may be called more than once.
func (n *node) terminate() error {
	n.stopOnce.Do(func() {
		exited := make(chan error, 1)
		if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			n.stopErr = err
		}
		go func() { exited <- n.cmd.Wait() }()
		select {
		case err := <-exited:
			n.stopErr = errors.Join(n.stopErr, err)
		case <-time.After(waitTimeout):
			_ = n.cmd.Process.Kill()
			n.stopErr = fmt.Errorf("no exit within %v of SIGTERM: %w", waitTimeout, <-exited)
		}
	})
	return n.stopErr
}

// dumpOnFailure logs what the node logged when the test failed.
func (n *node) dumpOnFailure() {
	if n.t.Failed() {
		if out := n.output.String(); out != "" {
			n.t.Logf("danmu %s logged:\n%s", n.name, out)
		}
	}
}

// httpClient is the client of every HTTP request of the tests. It keeps
// a connection per concurrent publisher open.
var httpClient = &http.Client{
	Timeout:   waitTimeout,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64},
}

// postResult is the outcome of one POST of a comment.
type postResult struct {
	status   int
	id       string        // with 201
	code     string        // the error code otherwise
	took     time.Duration // from sending the request to the answer
	start    time.Time
	transErr error // a transport failure (no answer)
}

// post publishes a comment with text to room through the HTTP API at addr.
func post(addr, room, text string) postResult {
	body, _ := json.Marshal(map[string]string{"text": text})
	start := time.Now()
	res := postResult{start: start}
	resp, err := httpClient.Post("http://"+addr+"/v1/rooms/"+room+"/danmaku", "application/json", bytes.NewReader(body))
	res.took = time.Since(start)
	if err != nil {
		res.transErr = err
		return res
	}
	defer resp.Body.Close()
	res.status = resp.StatusCode
	var answer struct {
		ID    string `json:"id"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		res.transErr = fmt.Errorf("decode the answer: %w", err)
	}
	res.id, res.code = answer.ID, answer.Error.Code
	return res
}

// mustPost is post that fails the test unless the comment is stored, and
// returns its id.
func mustPost(t testing.TB, addr, room, text string) string {
	t.Helper()
	res := post(addr, room, text)
	if res.transErr != nil || res.status != http.StatusCreated || res.id == "" {
		t.Fatalf("POST %q to %s = %d %q %v; want 201 with an id", text, room, res.status, res.code, res.transErr)
	}
	return res.id
}

// historyMessage is a comment as the history lists it.
type historyMessage struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Prio int    `json:"prio"`
}

// history lists room's comments after since (from the oldest kept when
// empty) through the HTTP API at addr.
func history(t testing.TB, addr, room, since string) []historyMessage {
	t.Helper()
	url := "http://" + addr + "/v1/rooms/" + room + "/danmaku"
	if since != "" {
		url += "?since=" + since
	}
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Msgs []historyMessage `json:"msgs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET history of %s = %s, %v", room, resp.Status, err)
	}
	return page.Msgs
}

// online asks the HTTP API at addr how many viewers room has.
func online(addr, room string) (int, error) {
	resp, err := httpClient.Get("http://" + addr + "/v1/rooms/" + room)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /v1/rooms/%s: %s", room, resp.Status)
	}
	var answer struct {
		Online int `json:"online"`
	}
	err = json.NewDecoder(resp.Body).Decode(&answer)
	return answer.Online, err
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serverMessage is a message a viewer gets.
type serverMessage struct {
	Type string `json:"type"`
	Room string `json:"room"`
	Msgs []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"msgs"`
	Dropped int  `json:"dropped"`
	Gap     bool `json:"gap"`
	Count   int  `json:"count"`
}

// received is one comment as a viewer got it.
type received struct {
	id   codec.ID
	text string
}

// viewer is a WebSocket client (gorilla/websocket) watching one room
// through an edge. A goroutine reads everything the server sends and
// checks that comments arrive in increasing id order.
type viewer struct {
	t    testing.TB
	name string
	room string
	conn *websocket.Conn

	joined chan struct{}
	done   chan struct{} // closed when the reader stops

	mu struct {
		sync.Mutex
		comments []received
		// gapsAt holds, for each batch marked gap, the number of
		// comments received before it.
		gapsAt  []int
		dropped int   // comments the server reported as dropped
		online  int   // the last online count received, or -1
		err     error // why the reader stopped, or a protocol violation
	}
}

// watch connects a viewer to the edge at addr, watching room (from since
// unless it is empty), and waits until the server says it joined. The
// connection is closed when the test ends.
func watch(t testing.TB, name, addr, room, since string) *viewer {
	t.Helper()
	query := "?room=" + room
	if since != "" {
		query += "&since=" + since
	}
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	conn, resp, err := d.Dial("ws://"+addr+"/ws"+query, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("viewer %s: dial %s: %v", name, addr, err)
	}
	v := &viewer{t: t, name: name, room: room, conn: conn, joined: make(chan struct{}), done: make(chan struct{})}
	v.mu.online = -1
	go v.read()
	t.Cleanup(func() {
		_ = conn.Close()
		<-v.done
	})
	select {
	case <-v.joined:
	case <-v.done:
		t.Fatalf("viewer %s: connection ended before joined: %v", name, v.err())
	case <-time.After(waitTimeout):
		t.Fatalf("viewer %s: no joined within %v", name, waitTimeout)
	}
	return v
}

// read decodes what the server sends until the connection ends.
func (v *viewer) read() {
	defer close(v.done)
	var last codec.ID
	for {
		kind, payload, err := v.conn.ReadMessage()
		if err != nil {
			v.fail(err)
			return
		}
		var m serverMessage
		if kind != websocket.TextMessage {
			v.fail(errors.New("a binary message"))
			return
		}
		if err := json.Unmarshal(payload, &m); err != nil {
			v.fail(fmt.Errorf("undecodable message %s: %w", payload, err))
			return
		}
		switch m.Type {
		case "joined":
			if m.Room == v.room {
				close(v.joined)
			}
		case "batch":
			if m.Room != v.room {
				v.fail(fmt.Errorf("a batch of room %q", m.Room))
				return
			}
			v.mu.Lock()
			if m.Gap {
				v.mu.gapsAt = append(v.mu.gapsAt, len(v.mu.comments))
			}
			v.mu.dropped += m.Dropped
			for _, msg := range m.Msgs {
				id, err := codec.ParseID(msg.ID)
				if err == nil && !last.Less(id) {
					err = fmt.Errorf("id %s after %s: out of order or repeated", id, last)
				}
				if err != nil {
					v.mu.Unlock()
					v.fail(err)
					return
				}
				last = id
				v.mu.comments = append(v.mu.comments, received{id: id, text: msg.Text})
			}
			v.mu.Unlock()
		case "online":
			if m.Room == v.room {
				v.mu.Lock()
				v.mu.online = m.Count
				v.mu.Unlock()
			}
		case "error":
			v.fail(fmt.Errorf("error message %s", payload))
			return
		}
	}
}

// fail records why the reader stopped, if it is the first reason.
func (v *viewer) fail(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.mu.err == nil {
		v.mu.err = err
	}
}

func (v *viewer) err() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.mu.err
}

// snapshot returns the comments received so far, where the gaps were
// (see gapsAt) and the dropped count.
func (v *viewer) snapshot() (comments []received, gapsAt []int, dropped int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.mu.comments), slices.Clone(v.mu.gapsAt), v.mu.dropped
}

// online returns the last online count the viewer received, or -1.
func (v *viewer) online() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.mu.online
}

// has reports whether the viewer received every id in ids.
func (v *viewer) has(ids []string) bool {
	comments, _, _ := v.snapshot()
	got := make(map[string]bool, len(comments))
	for _, c := range comments {
		got[c.id.String()] = true
	}
	for _, id := range ids {
		if !got[id] {
			return false
		}
	}
	return true
}

// waitHas waits until every viewer received every id in ids, failing the
// test as soon as one stops.
func waitHas(t testing.TB, viewers []*viewer, ids []string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for _, v := range viewers {
		for !v.has(ids) {
			if err := v.err(); err != nil {
				t.Fatalf("viewer %s stopped: %v", v.name, err)
			}
			if time.Now().After(deadline) {
				comments, gaps, dropped := v.snapshot()
				t.Fatalf("viewer %s has %d comments (gaps at %v, %d dropped) after %v; want all %d posted",
					v.name, len(comments), gaps, dropped, waitTimeout, len(ids))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// sortedIDs parses ids and returns them in increasing order, failing the
// test on a malformed one.
func sortedIDs(t testing.TB, ids []string) []codec.ID {
	t.Helper()
	out := make([]codec.ID, len(ids))
	for i, s := range ids {
		id, err := codec.ParseID(s)
		if err != nil {
			t.Fatalf("id %q: %v", s, err)
		}
		out[i] = id
	}
	slices.SortFunc(out, func(a, b codec.ID) int {
		switch {
		case a.Less(b):
			return -1
		case b.Less(a):
			return 1
		}
		return 0
	})
	return out
}
