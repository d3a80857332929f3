package edge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/stream"
)

// waitTimeout bounds every wait for the server. It is generous: the tests
// run with the race detector on a small machine, and a passing test never
// waits for it.
const waitTimeout = 10 * time.Second

// envConfig configures the parts a test environment runs.
type envConfig struct {
	edge   Config
	fanout fanout.Config
	memory stream.MemoryConfig
	// log, when set, is the stream instead of a new one: a second env on
	// it is the same edge restarted.
	log *stream.Memory
}

// testEnv is an edge server on a loopback port with the hub and the
// embedded stream behind it, wired as cmd/danmu wires them. Comments are
// appended to the stream in their stored form, as the ingest API appends
// them (edge may not import ingest, even in tests).
type testEnv struct {
	srv  *Server
	log  *stream.Memory
	addr string // host:port of the edge

	cancel   context.CancelFunc
	served   chan error
	stopOnce sync.Once
	stopErr  error
}

// startEnv starts a server on 127.0.0.1:0 and stops it when the test ends,
// failing the test if Serve does not return nil.
func startEnv(t *testing.T, ec envConfig) *testEnv {
	t.Helper()
	if ec.edge.Addr == "" {
		ec.edge.Addr = "127.0.0.1:0"
	}
	if ec.edge.Loops == 0 {
		ec.edge.Loops = 2
	}
	if ec.edge.DrainTimeout == 0 {
		ec.edge.DrainTimeout = time.Second
	}
	if ec.fanout.FlushInterval == 0 {
		ec.fanout.FlushInterval = 5 * time.Millisecond
	}
	if ec.fanout.OnlineInterval == 0 {
		// No online counts in the middle of what a test expects, unless
		// it asks for them.
		ec.fanout.OnlineInterval = time.Hour
	}
	logger := slog.New(slog.DiscardHandler)
	log := ec.log
	if log == nil {
		log = stream.NewMemory(ec.memory)
	}
	hub := fanout.New(ec.fanout, log, logger)
	env := &testEnv{
		srv:    New(ec.edge, hub, logger),
		log:    log,
		served: make(chan error, 1),
	}

	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		_ = hub.Run(hubCtx)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	env.cancel = cancel
	go func() { env.served <- env.srv.Serve(ctx) }()
	t.Cleanup(func() {
		if err := env.stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
		stopHub()
		select {
		case <-hubDone:
		case <-time.After(waitTimeout):
			t.Error("hub.Run did not return")
		}
	})

	select {
	case <-env.srv.Ready():
	case err := <-env.served:
		env.served <- err
		t.Fatalf("Serve: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("the server did not start")
	}
	addr, ok := env.srv.Addr().(*net.TCPAddr)
	if !ok || addr.Port == 0 || !addr.IP.IsLoopback() {
		t.Fatalf("Addr() = %v; want the loopback address with the port bound", env.srv.Addr())
	}
	env.addr = addr.String()
	return env
}

// stop ends Serve and returns what it returned. It may be called more than
// once.
func (e *testEnv) stop() error {
	e.stopOnce.Do(func() {
		e.cancel()
		select {
		case e.stopErr = <-e.served:
		case <-time.After(waitTimeout):
			e.stopErr = errors.New("Serve did not return")
		}
	})
	return e.stopErr
}

// appendComment stores a comment with text in room as ingest does and
// returns its ID.
func (e *testEnv) appendComment(room, text string) (codec.ID, error) {
	return e.appendPrio(room, text, 0)
}

// appendPrio stores a comment with text and priority prio in room.
func (e *testEnv) appendPrio(room, text string, prio int) (codec.ID, error) {
	data, err := codec.EncodeStored(codec.Message{
		UID: "tester", Name: "tester", Text: text, Prio: prio,
		Color: codec.DefaultColor, Mode: codec.ModeScroll, TS: time.Now().UnixMilli(),
	})
	if err != nil {
		return codec.ID{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return e.log.Append(ctx, room, data)
}

// post is appendComment for the test goroutine.
func (e *testEnv) post(t testing.TB, room, text string) codec.ID {
	t.Helper()
	id, err := e.appendComment(room, text)
	if err != nil {
		t.Fatalf("append to %s: %v", room, err)
	}
	return id
}

// testTokens returns a verifier of viewer tokens and the way to mint one
// valid for ttl (negative: expired).
func testTokens(t testing.TB) (*auth.Verifier, func(ttl time.Duration) string) {
	t.Helper()
	cfg := auth.Config{Secret: []byte("edge-test-secret-of-enough-length")}
	verifier, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return verifier, func(ttl time.Duration) string {
		tok, err := auth.Mint(cfg, auth.Claims{Sub: "v1", Role: auth.RoleViewer, Expires: time.Now().Add(ttl)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serverMessage is any JSON message the server sends.
type serverMessage struct {
	Type    string `json:"type"`
	Room    string `json:"room"`
	Msgs    []item `json:"msgs"`
	Dropped int    `json:"dropped"`
	Gap     bool   `json:"gap"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Count   int    `json:"count"`
}

// item is one comment of a batch.
type item struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

func decodeServerMessage(payload []byte) (serverMessage, error) {
	var m serverMessage
	if !utf8.Valid(payload) {
		return m, errors.New("text message is not UTF-8")
	}
	if err := json.Unmarshal(payload, &m); err != nil {
		return m, err
	}
	return m, nil
}

// dial opens a WebSocket connection with gorilla/websocket to the path
// /ws and query (like "?room=a"), closed when the test ends.
func (e *testEnv) dial(t testing.TB, query string) *websocket.Conn {
	t.Helper()
	c, err := e.dialErr(query)
	if err != nil {
		t.Fatalf("dial %q: %v", query, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (e *testEnv) dialErr(query string) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: waitTimeout}
	c, resp, err := d.Dial("ws://"+e.addr+"/ws"+query, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	return c, err
}

// readMessage reads the next message of c, which must be a JSON text
// message.
func readMessage(t testing.TB, c *websocket.Conn) serverMessage {
	t.Helper()
	m, err := readMessageErr(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

func readMessageErr(c *websocket.Conn) (serverMessage, error) {
	if err := c.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		return serverMessage{}, err
	}
	kind, payload, err := c.ReadMessage()
	if err != nil {
		return serverMessage{}, err
	}
	if kind != websocket.TextMessage {
		return serverMessage{}, errors.New("got a binary message")
	}
	return decodeServerMessage(payload)
}

// send writes a text message.
func send(t testing.TB, c *websocket.Conn, text string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		t.Fatalf("write %s: %v", text, err)
	}
}

// expectReply reads the next message and checks its type, room and, for
// errors, code.
func expectReply(t testing.TB, c *websocket.Conn, typ, room, code string) serverMessage {
	t.Helper()
	m := readMessage(t, c)
	if m.Type != typ || m.Room != room || m.Code != code {
		t.Fatalf("got %+v; want type %q room %q code %q", m, typ, room, code)
	}
	return m
}

// testKey is the Sec-WebSocket-Key of RFC 6455 section 1.3 and testAccept
// its answer.
const (
	testKey    = "dGhlIHNhbXBsZSBub25jZQ=="
	testAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

// upgradeRequest is a valid upgrade request for target.
func upgradeRequest(target string) string {
	return "GET " + target + " HTTP/1.1\r\n" +
		"Host: 127.0.0.1\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"\r\n"
}

// rawClient is a TCP connection to the server on which the test writes
// exactly the bytes it wants.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

// rawConn connects to the server, closed when the test ends.
func (e *testEnv) rawConn(t testing.TB) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// rawUpgrade connects and completes the handshake for target.
func (e *testEnv) rawUpgrade(t testing.TB, target string) *rawClient {
	t.Helper()
	rc := e.rawConn(t)
	rc.write([]byte(upgradeRequest(target)))
	rc.expectUpgraded()
	return rc
}

func (rc *rawClient) write(b []byte) {
	rc.t.Helper()
	if _, err := rc.conn.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// writeSlowly writes b one byte at a time, pausing between bytes so that
// each arrives on its own.
func (rc *rawClient) writeSlowly(b []byte) {
	rc.t.Helper()
	for i := range b {
		rc.write(b[i : i+1])
		time.Sleep(200 * time.Microsecond)
	}
}

// readResponse reads an HTTP response and its body.
func (rc *rawClient) readResponse() (*http.Response, string) {
	rc.t.Helper()
	_ = rc.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("read response body: %v", err)
	}
	return resp, string(body)
}

// expectUpgraded reads the answer to upgradeRequest: 101 with the right
// Sec-WebSocket-Accept.
func (rc *rawClient) expectUpgraded() {
	rc.t.Helper()
	resp, _ := rc.readResponse()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		rc.t.Fatalf("handshake: status %d; want 101", resp.StatusCode)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != testAccept {
		rc.t.Fatalf("Sec-WebSocket-Accept = %q; want %q", got, testAccept)
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		rc.t.Fatalf("Upgrade = %q; want websocket", resp.Header.Get("Upgrade"))
	}
}

// readFrame reads one server frame, which must be final, unmasked and
// without reserved bits.
func (rc *rawClient) readFrame() (ws.Header, []byte) {
	rc.t.Helper()
	h, payload, err := rc.readFrameErr()
	if err != nil {
		rc.t.Fatalf("read frame: %v", err)
	}
	return h, payload
}

func (rc *rawClient) readFrameErr() (ws.Header, []byte, error) {
	_ = rc.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	h, err := ws.ReadHeader(rc.br)
	if err != nil {
		return h, nil, err
	}
	if !h.Fin || h.Masked || h.Rsv != 0 {
		return h, nil, errors.New("server frame not final, masked or with reserved bits")
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(rc.br, payload); err != nil {
		return h, nil, err
	}
	return h, payload, nil
}

// readMessage reads the next frame, which must be a JSON text message.
func (rc *rawClient) readMessage() serverMessage {
	rc.t.Helper()
	h, payload := rc.readFrame()
	if h.OpCode != ws.OpText {
		rc.t.Fatalf("got a frame of opcode %v (%q); want text", h.OpCode, payload)
	}
	m, err := decodeServerMessage(payload)
	if err != nil {
		rc.t.Fatalf("decode %q: %v", payload, err)
	}
	return m
}

// readClose skips frames up to the server's close frame and returns its
// code and reason; then the server must close the connection.
func (rc *rawClient) readClose() (ws.StatusCode, string) {
	rc.t.Helper()
	for {
		h, payload := rc.readFrame()
		if h.OpCode != ws.OpClose {
			continue
		}
		if len(payload) < 2 || !utf8.Valid(payload[2:]) {
			rc.t.Fatalf("close frame body %q: want a code and a UTF-8 reason", payload)
		}
		rc.expectEOF()
		return ws.StatusCode(binary.BigEndian.Uint16(payload)), string(payload[2:])
	}
}

// expectEOF checks that the server closes the connection without sending
// anything more.
func (rc *rawClient) expectEOF() {
	rc.t.Helper()
	_ = rc.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	rest, err := io.ReadAll(rc.br)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		rc.t.Fatalf("waiting for the server to close: %v", err)
	}
	if len(rest) > 0 {
		rc.t.Fatalf("got %q after the end; want nothing", rest)
	}
}

// isReset reports a connection reset by the peer, which is how a close
// looks when the peer still had unread bytes of ours.
func isReset(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && strings.Contains(opErr.Err.Error(), "reset")
}

// testMask masks every frame the tests build by hand.
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame returns a masked client frame.
func clientFrame(fin bool, op ws.OpCode, payload []byte) []byte {
	return rawFrame(ws.Header{Fin: fin, OpCode: op, Masked: true, Mask: testMask, Length: int64(len(payload))}, payload)
}

// textFrame returns a final masked text frame.
func textFrame(s string) []byte { return clientFrame(true, ws.OpText, []byte(s)) }

// rawFrame returns the frame of header h and payload, masked with h.Mask
// when h.Masked. h.Length is written as it is, so it may lie.
func rawFrame(h ws.Header, payload []byte) []byte {
	var b bytes.Buffer
	if err := ws.WriteHeader(&b, h); err != nil {
		panic(err)
	}
	start := b.Len()
	b.Write(payload)
	if h.Masked {
		ws.Cipher(b.Bytes()[start:], h.Mask, 0)
	}
	return b.Bytes()
}

// closeBody returns the body of a close frame.
func closeBody(code ws.StatusCode, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}
