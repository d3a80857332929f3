package edge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/danmu-dev/danmu/fanout"
)

// dialSmallWindow connects with a small receive buffer, set before the
// connection is made so that the window the client advertises stays small.
func (e *testEnv) dialSmallWindow(t *testing.T) *rawClient {
	t.Helper()
	d := net.Dialer{
		Timeout: waitTimeout,
		Control: func(_, _ string, raw syscall.RawConn) error {
			var sockErr error
			err := raw.Control(func(fd uintptr) {
				sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
			return errors.Join(err, sockErr)
		},
	}
	conn, err := d.DialContext(context.Background(), "tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{t: t, conn: conn, br: bufio.NewReaderSize(conn, 512)}
}

// joinSmallWindow connects with a small receive buffer (dialSmallWindow)
// and joins room.
func (e *testEnv) joinSmallWindow(t *testing.T, room string) *rawClient {
	t.Helper()
	slow := e.dialSmallWindow(t)
	slow.write([]byte(upgradeRequest("/ws?room=" + room)))
	slow.expectUpgraded()
	if m := slow.readMessage(); m.Type != "joined" {
		t.Fatalf("got %+v; want joined", m)
	}
	return slow
}

// TestSlowViewerPastHardOutbound: a viewer that stops reading while its
// room is busy is cut off once its backlog passes HardOutbound (equal to
// SoftOutbound here, so that the first skipped frame cuts it), and the
// other viewers of the room get every message.
func TestSlowViewerPastHardOutbound(t *testing.T) {
	testSlowViewer(t, Config{SoftOutbound: 16 << 10, HardOutbound: 16 << 10, SlowTimeout: time.Hour})
}

// TestSlowViewerPastSlowTimeout: a viewer whose backlog stays past
// SoftOutbound for SlowTimeout is cut off, though it never reaches
// HardOutbound.
func TestSlowViewerPastSlowTimeout(t *testing.T) {
	testSlowViewer(t, Config{SoftOutbound: 16 << 10, HardOutbound: 64 << 20, SlowTimeout: 200 * time.Millisecond, SweepInterval: 20 * time.Millisecond})
}

// testSlowViewer runs one viewer that reads nothing after its join and
// three that read everything, and posts one message at a time, each once
// the fast viewers got the previous one, until the server has cut the
// slow viewer off, then a few more.
func testSlowViewer(t *testing.T, cfg Config) {
	env := startEnv(t, envConfig{edge: cfg, fanout: fanout.Config{MaxBatch: 10000}})
	const room = "busy"
	slow := env.joinSmallWindow(t, room)

	fast := env.fastReaders(t, room, 3)

	// Rounds of several large messages: the kernel's socket buffers take
	// megabytes before the server's own backlog grows.
	const perRound = 12
	text := strings.Repeat("danmaku! ", 1000)
	stats := env.srv.Stats()
	posted := 0
	for extra := 0; extra < 5; extra++ {
		if stats.SlowClosed.Load() == 0 {
			extra = 0
		}
		if posted >= 20000 {
			t.Fatalf("the slow viewer was not cut off after %d messages (%d frames skipped)", posted, stats.FramesSkipped.Load())
		}
		var ids []string
		for range perRound {
			ids = append(ids, env.post(t, room, text+strconv.Itoa(posted)).String())
			posted++
		}
		expectIDs(t, fast, ids)
	}
	if got := stats.SlowClosed.Load(); got != 1 {
		t.Errorf("Stats().SlowClosed = %d; want 1", got)
	}
	if stats.FramesSkipped.Load() == 0 {
		t.Error("Stats().FramesSkipped = 0; want the frames of the slow viewer skipped")
	}

	// The slow viewer's connection is closed: what it can still read ends.
	_ = slow.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.Copy(io.Discard, slow.br); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the slow viewer's connection is still open")
	}
	waitFor(t, "the slow viewer to be forgotten", func() bool { return stats.Open.Load() == int64(len(fast)) })
}

// fastReader is a viewer that reads everything, on its own goroutine.
type fastReader struct {
	ids  chan string
	errc chan error
}

// fastReaders connects n viewers of room that read every batch, with
// nothing dropped and no gap.
func (e *testEnv) fastReaders(t *testing.T, room string, n int) []fastReader {
	t.Helper()
	var fast []fastReader
	for range n {
		c := e.dial(t, "?room="+room)
		expectReply(t, c, "joined", room, "")
		r := fastReader{ids: make(chan string, 1024), errc: make(chan error, 1)}
		fast = append(fast, r)
		go func() {
			for {
				ids, err := readBatchIDs(c, room)
				if err != nil {
					r.errc <- err
					return
				}
				for _, id := range ids {
					r.ids <- id
				}
			}
		}()
	}
	return fast
}

// expectIDs fails the test unless every fast reader gets ids next, in
// order.
func expectIDs(t *testing.T, fast []fastReader, ids []string) {
	t.Helper()
	for i, r := range fast {
		for _, id := range ids {
			select {
			case got := <-r.ids:
				if got != id {
					t.Fatalf("fast viewer %d got message %s; want %s, the next posted", i, got, id)
				}
			case err := <-r.errc:
				t.Fatalf("fast viewer %d: %v", i, err)
			case <-time.After(waitTimeout):
				t.Fatalf("fast viewer %d did not get message %s", i, id)
			}
		}
	}
}

// readBatchIDs reads a batch of room with nothing dropped and no gap, and
// returns its message IDs. It finds them without decoding the JSON:
// decoding the megabytes this test sends, with the race detector on, is
// what would make it slow. The other tests decode every message.
func readBatchIDs(c *websocket.Conn, room string) ([]string, error) {
	if err := c.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		return nil, err
	}
	_, payload, err := c.ReadMessage()
	if err != nil {
		return nil, err
	}
	prefix := `{"type":"batch","room":"` + room + `","msgs":[`
	if !bytes.HasPrefix(payload, []byte(prefix)) || !bytes.HasSuffix(payload, []byte("]}")) {
		return nil, fmt.Errorf("got %.100q; want a batch of %s with nothing dropped and no gap", payload, room)
	}
	var ids []string
	marker := []byte(`{"id":"`)
	for rest := payload; ; {
		i := bytes.Index(rest, marker)
		if i < 0 {
			return ids, nil
		}
		rest = rest[i+len(marker):]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return nil, fmt.Errorf("unterminated id in %.100q", payload)
		}
		ids = append(ids, string(rest[:end]))
		rest = rest[end:]
	}
}
