package floor

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"
)

// fanViewer is a WebSocket viewer of a Fanout, over a real socket.
type fanViewer struct {
	conn net.Conn
	r    *bufio.Reader
}

// joinFanout opens a viewer of room on the fan-out floor at port and
// reads its upgrade answer and joined message.
func joinFanout(t *testing.T, port int, room string) *fanViewer {
	t.Helper()
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	if _, err := io.WriteString(conn, "GET /ws?room="+room+" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	v := &fanViewer{conn: conn, r: bufio.NewReader(conn)}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	var head strings.Builder
	for {
		line, err := v.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the upgrade answer: %v (so far %q)", err, head.String())
		}
		if line == "\r\n" {
			break
		}
		head.WriteString(line)
	}
	if !strings.HasPrefix(head.String(), "HTTP/1.1 101 ") || !strings.Contains(head.String(), "Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n") {
		t.Fatalf("upgrade answer %q", head.String())
	}
	if got, want := v.next(t), `{"type":"joined","room":"`+room+`"}`; got != want {
		t.Fatalf("first message %q; want %q", got, want)
	}
	return v
}

// next reads the payload of the next text frame, unmasked as a server
// sends it.
func (v *fanViewer) next(t *testing.T) string {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(v.r, h[:]); err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	if h[0] != 0x81 || h[1]&0x80 != 0 {
		t.Fatalf("frame header % x: want a final unmasked text frame", h)
	}
	n := uint64(h[1])
	switch n {
	case 126:
		var ext [2]byte
		_, _ = io.ReadFull(v.r, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		_, _ = io.ReadFull(v.r, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(v.r, payload); err != nil {
		t.Fatalf("reading a payload of %d bytes: %v", n, err)
	}
	return string(payload)
}

// postFanout posts text to room through f's HTTP handler.
func postFanout(t *testing.T, f *Fanout, room, text string) {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.Request.SetRequestURI("/v1/rooms/" + room + "/danmaku")
	ctx.Request.SetBodyString(`{"text":"` + text + `"}`)
	f.HandlePost(&ctx)
	if ctx.Response.StatusCode() != fasthttp.StatusCreated {
		t.Fatalf("POST to %s: status %d", room, ctx.Response.StatusCode())
	}
}

// waitViewers waits until room has n viewers: a viewer joins the room's
// writes just after its joined message is sent.
func waitViewers(t *testing.T, f *Fanout, room string, n int) {
	t.Helper()
	r := f.room(room)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		r.mu.Lock()
		got := r.mu.viewers
		r.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s has %d viewers; want %d", room, got, n)
		}
	}
}

// serveFanout serves f on a free loopback port until the test ends, and
// returns the port.
func serveFanout(t *testing.T, f *Fanout) int {
	lfd, port, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- f.Serve(lfd) }()
	t.Cleanup(func() {
		_ = unix.Shutdown(lfd, unix.SHUT_RDWR) // wakes the blocked accept
		<-served
		_ = unix.Close(lfd)
	})
	return port
}

// TestFanoutFloorDelivers checks the fan-out floor over real sockets: every
// viewer of a room gets each comment posted to it, in order, in danmu's
// batch frames, and no viewer of another room gets any.
func TestFanoutFloorDelivers(t *testing.T) {
	f := NewFanout(0)
	port := serveFanout(t, f)
	viewers := []*fanViewer{joinFanout(t, port, "a"), joinFanout(t, port, "a"), joinFanout(t, port, "a")}
	other := joinFanout(t, port, "b")
	waitViewers(t, f, "a", 3)
	waitViewers(t, f, "b", 1)

	texts := []string{"first", "second", "third"}
	for _, text := range texts {
		postFanout(t, f, "a", text)
	}
	for i, v := range viewers {
		var got []string
		for len(got) < len(texts) {
			frame := v.next(t)
			if !strings.HasPrefix(frame, `{"type":"batch","room":"a","msgs":[{"id":"`) {
				t.Fatalf("viewer %d: frame %q", i, frame)
			}
			for _, part := range strings.Split(frame, `"text":"`)[1:] {
				got = append(got, part[:strings.IndexByte(part, '"')])
			}
		}
		if strings.Join(got, ",") != strings.Join(texts, ",") {
			t.Errorf("viewer %d got %q; want %q", i, got, texts)
		}
	}
	_ = other.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, err := other.r.ReadByte(); err == nil {
		t.Errorf("the viewer of room b got a byte %q of room a's comments", b)
	}
	if n := f.ShortWrites.Load(); n != 0 {
		t.Errorf("%d short writes", n)
	}
}

// TestFanoutFloorRefusesNoRoom checks that an upgrade request without a
// valid room is answered 400 and never joins.
func TestFanoutFloorRefusesNoRoom(t *testing.T) {
	port := serveFanout(t, NewFanout(0))
	for _, target := range []string{"/ws", "/ws?room=", "/ws?room=a%20b"} {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"+
			"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		status, err := bufio.NewReader(conn).ReadString('\n')
		if !strings.HasPrefix(status, "HTTP/1.1 400 ") {
			t.Errorf("upgrade to %s answered %q (%v); want 400", target, status, err)
		}
		_ = conn.Close()
	}
}
