package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/danmu-dev/danmu/auth"
)

// biliClientDir holds the npm clients of Bilibili's live protocol
// (installed by `make test-deps`) and client.js, which drives them.
const biliClientDir = "testdata/bili-client"

// biliEvent is one line client.js prints.
type biliEvent struct {
	Event   string `json:"event"`
	Online  int    `json:"online"`
	Num     int    `json:"num"`
	ID      string `json:"id"`
	Text    string `json:"text"`
	UID     int64  `json:"uid"`
	Name    string `json:"name"`
	Mode    int    `json:"mode"`
	Color   int    `json:"color"`
	Admin   bool   `json:"admin"`
	Message string `json:"message"`
}

// biliClient is one npm client run by node.
type biliClient struct {
	t      *testing.T
	name   string // the client and its protover
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	events chan biliEvent
	stderr *lockedBuffer
}

// startBiliClient runs client.js with the npm client named client, in
// room roomid with protover, against the node n, as the viewer of token.
func startBiliClient(t *testing.T, n *node, client string, roomid, protover int, token string) *biliClient {
	t.Helper()
	_, wsPort, _ := strings.Cut(n.wsAddr, ":")
	cmd := exec.Command("node", "client.js", client, strconv.Itoa(roomid), strconv.Itoa(protover))
	cmd.Dir = biliClientDir
	cmd.Env = append(os.Environ(), "DANMU_API=http://"+n.apiAddr, "DANMU_TOKEN="+token, "DANMU_WS_PORT="+wsPort)
	c := &biliClient{t: t, name: fmt.Sprintf("%s protover %d", client, protover), cmd: cmd, events: make(chan biliEvent, 1024), stderr: &lockedBuffer{}}
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
			t.Logf("%s: stderr:\n%s", c.name, c.stderr)
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
				c.t.Fatalf("%s: client ended waiting for %s", c.name, kind)
			}
			if e.Event == kind {
				return e
			}
			if e.Event == "error" || e.Event == "close" {
				c.t.Fatalf("%s: got %+v waiting for %s", c.name, e, kind)
			}
		case <-timeout:
			c.t.Fatalf("%s: no %s event", c.name, kind)
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

// biliComment is a comment posted in TestBiliClients and what the clients
// must show of it.
type biliComment struct {
	Text  string `json:"text"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
	Prio  int    `json:"prio,omitempty"`
	uid   int64  // the token's sub
	name  string // the token's name
	admin bool
	via   string // json, form or multipart
}

// biliModes are danmu's modes and their DANMU_MSG codes.
var biliModes = map[string]int{"scroll": 1, "bottom": 4, "top": 5}

// postBili publishes c as its poster through the HTTP API: the native
// POST, or POST /msg/send as Bilibili's web client sends it (a form,
// URL-encoded or multipart). It returns the comment's message ID.
func postBili(t *testing.T, addr, room string, c biliComment, token string) string {
	t.Helper()
	var req *http.Request
	var err error
	if c.via == "json" {
		body, _ := json.Marshal(c)
		req, err = http.NewRequest(http.MethodPost, "http://"+addr+"/v1/rooms/"+room+"/danmaku", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		color, _ := strconv.ParseInt(c.Color[1:], 16, 32)
		form := url.Values{"bubble": {"0"}, "msg": {c.Text}, "color": {strconv.FormatInt(color, 10)}, "mode": {strconv.Itoa(biliModes[c.Mode])},
			"room_type": {"0"}, "jumpfrom": {"0"}, "fontsize": {"25"}, "rnd": {strconv.FormatInt(time.Now().Unix(), 10)},
			"roomid": {room}, "csrf": {"x"}, "csrf_token": {"x"}}
		body, contentType := []byte(form.Encode()), "application/x-www-form-urlencoded"
		if c.via == "multipart" {
			var b bytes.Buffer
			w := multipart.NewWriter(&b)
			for k, vs := range form {
				_ = w.WriteField(k, vs[0])
			}
			_ = w.Close()
			body, contentType = b.Bytes(), w.FormDataContentType()
		}
		req, err = http.NewRequest(http.MethodPost, "http://"+addr+"/msg/send", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", contentType)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	var native struct {
		ID string `json:"id"`
	}
	var bili struct {
		Code int `json:"code"`
		Data struct {
			ModeInfo struct {
				Extra string `json:"extra"`
			} `json:"mode_info"`
		} `json:"data"`
	}
	var extra struct {
		IDStr string `json:"id_str"`
	}
	switch {
	case c.via == "json" && resp.StatusCode == http.StatusCreated && json.Unmarshal(answer, &native) == nil:
		return native.ID
	case c.via != "json" && resp.StatusCode == http.StatusOK && json.Unmarshal(answer, &bili) == nil && bili.Code == 0 &&
		json.Unmarshal([]byte(bili.Data.ModeInfo.Extra), &extra) == nil:
		return extra.IDStr
	}
	t.Fatalf("posting %+v: %d %s", c, resp.StatusCode, answer)
	return ""
}

// watchBatches watches room on /ws with token and returns a func that
// waits for the ids and returns the batches they came in: the room's
// batches, which every encoding of the room gets alike.
func watchBatches(t *testing.T, addr, room, token string) func(ids []string) [][]string {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	conn, _, err := d.Dial("ws://"+addr+"/ws?room="+room+"&token="+token, nil)
	if err != nil {
		t.Fatalf("dial /ws: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return func(ids []string) [][]string {
		t.Helper()
		want := make(map[string]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		var batches [][]string
		for seen := 0; seen < len(ids); {
			_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
			var m serverMessage
			if err := conn.ReadJSON(&m); err != nil {
				t.Fatalf("/ws viewer: %v after %d of %d comments", err, seen, len(ids))
			}
			if m.Type != "batch" {
				continue
			}
			var batch []string
			for _, msg := range m.Msgs {
				if want[msg.ID] {
					batch = append(batch, msg.ID)
					seen++
				}
			}
			batches = append(batches, batch)
		}
		return batches
	}
}

// TestBiliClients runs real npm clients of Bilibili's live protocol against
// serve, with viewer tokens: bilibili-live-ws with protover 1, 2 and 3,
// tiny-bilibili-ws and blive-message-listener (which parses comments into
// typed objects, extra included) with protover 2 and 3, and
// bili-live-listener (typed objects too; it joins with protover 2 only)
// through its onDanmu callback. Each starts its own
// way through the Bilibili-compatible HTTP API (room info, wbi keys,
// getDanmuInfo for the token and host_list, buvid), goes live, reports the
// room's online count on heartbeat and in WATCHED_CHANGE, and gets comments
// posted through the native API and through POST /msg/send (URL-encoded
// and multipart), texts in CJK, emoji and [doge]-style brackets, with their
// uid, name, text, color and mode exact, a priority comment as a room
// admin's, and a delete as RECALL_DANMU_MSG. The protocol promises every
// comment once and each batch in order; how a client schedules its
// decompression may reorder batches (bilibili-live-ws decodes brotli
// asynchronously), so that is not asserted.
func TestBiliClients(t *testing.T) {
	const secret = "bili-clients-test-secret-0123456789"
	// A flush window long enough that bursts arrive in batches of many
	// comments, and online counts often.
	n := startNode(t, "serve", "--flush-interval", "50ms", "--online-interval", "200ms", "--jwt-secret", secret, "--viewer-tokens")
	tokenOf := func(sub, name, role string) string {
		token, err := auth.Mint(auth.Config{Secret: []byte(secret)}, auth.Claims{Sub: sub, Name: name, Role: role, Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	viewerToken := tokenOf("viewer", "Viewer", "")
	const roomid = 31415
	room := strconv.Itoa(roomid)
	var clients []*biliClient
	for _, c := range []struct {
		client    string
		protovers []int
	}{{"bilibili-live-ws", []int{1, 2, 3}}, {"tiny-bilibili-ws", []int{2, 3}}, {"blive-message-listener", []int{2, 3}}, {"bili-live-listener", []int{2}}} {
		for _, protover := range c.protovers {
			clients = append(clients, startBiliClient(t, n, c.client, roomid, protover, viewerToken))
		}
	}
	for _, c := range clients {
		c.next("live")
	}
	batchesOf := watchBatches(t, n.wsAddr, room, viewerToken)
	viewers := len(clients) + 1
	waitOnline(t, n.apiAddr, room, viewers)
	for _, c := range clients {
		deadline := time.Now().Add(waitTimeout)
		for c.send("online"); c.next("heartbeat").Online != viewers; c.send("online") {
			if time.Now().After(deadline) {
				t.Fatalf("%s: heartbeat never reported %d viewers", c.name, viewers)
			}
		}
		for c.next("watched").Num != viewers {
			if time.Now().After(deadline) {
				t.Fatalf("%s: WATCHED_CHANGE never reported %d viewers", c.name, viewers)
			}
		}
	}

	texts := []string{"弹幕 %d 前方高能", "emoji %d 😀👍🏻", "[doge] %d [笑哭][妙]", "%d \"quoted\" \\ <b>", "[ %d ] {\"json\":[1]}"}
	modes := []string{"scroll", "bottom", "top"}
	vias := []string{"json", "form", "multipart"}
	const burst = 60
	var posted []biliComment
	var ids []string
	for i := range burst {
		c := biliComment{
			Text:  fmt.Sprintf(texts[i%len(texts)], i),
			Color: fmt.Sprintf("#%02x%02x%02X", i*4, 255-i, i),
			Mode:  modes[i%len(modes)],
			uid:   int64(1000 + i),
			name:  fmt.Sprintf("观众%d", i),
			via:   vias[i%len(vias)],
		}
		role := ""
		if i == burst/2 {
			c.Prio, c.admin, c.via, role = 1, true, "json", "admin"
		}
		posted = append(posted, c)
		ids = append(ids, postBili(t, n.apiAddr, room, c, tokenOf(strconv.FormatInt(c.uid, 10), c.name, role)))
	}
	batches := batchesOf(ids)
	want := make(map[string]biliComment, burst)
	for i, id := range ids {
		want[id] = posted[i]
	}
	// Each client's events are buffered: read them one client at a time.
	for _, c := range clients {
		got := make(map[string]int, burst) // id -> position of arrival
		for len(got) < burst {
			e := c.next("danmu")
			w, ok := want[e.ID]
			if !ok {
				t.Fatalf("%s: DANMU_MSG %+v of no posted comment", c.name, e)
			}
			if _, dup := got[e.ID]; dup {
				t.Fatalf("%s: DANMU_MSG %s twice", c.name, e.ID)
			}
			got[e.ID] = len(got)
			color, _ := strconv.ParseInt(w.Color[1:], 16, 32)
			if e.Text != w.Text || e.UID != w.uid || e.Name != w.name || e.Mode != biliModes[w.Mode] || e.Color != int(color) || e.Admin != w.admin {
				t.Errorf("%s: DANMU_MSG %+v; want %+v (mode %d, color %d)", c.name, e, w, biliModes[w.Mode], color)
			}
		}
		for _, batch := range batches {
			if !slices.IsSortedFunc(batch, func(a, b string) int { return got[a] - got[b] }) {
				t.Errorf("%s: the batch %v came out of its order", c.name, batch)
			}
		}
	}

	admin := tokenOf("mod", "Mod", "admin")
	req, _ := http.NewRequest(http.MethodDelete, "http://"+n.apiAddr+"/v1/rooms/"+room+"/danmaku/"+ids[7], nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := httpClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, c := range clients {
		if e := c.next("recall"); e.ID != ids[7] {
			t.Errorf("%s: RECALL_DANMU_MSG of %s; want %s", c.name, e.ID, ids[7])
		}
	}
}

// TestBiliFlags checks --public-ws-url, and that --viewer-tokens is a flag
// of ingest nodes too.
func TestBiliFlags(t *testing.T) {
	o := parseServe(t, "--public-ws-url", "wss://live.example.com, ws://203.0.113.7:7070/sub")
	if got := fmt.Sprint(o.ingest.Bili.Edges); got != "[{live.example.com 443} {203.0.113.7 7070}]" {
		t.Errorf("--public-ws-url: edges %s", got)
	}
	for _, bad := range []string{"http://live.example.com", "wss://live.example.com/ws", "live.example.com"} {
		var o options
		if err := parseFlags(commandFlags("serve", commandRoles["serve"], &o), []string{"--public-ws-url", bad}, io.Discard); err == nil {
			t.Errorf("--public-ws-url %q succeeded; want a usage error", bad)
		}
	}
	var ingestOptions options
	if err := parseFlags(commandFlags("ingest", commandRoles["ingest"], &ingestOptions), []string{"--viewer-tokens", "--public-ws-url", "wss://a.example"}, io.Discard); err != nil || !ingestOptions.viewerTokens {
		t.Errorf("ingest --viewer-tokens: %v", err)
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
