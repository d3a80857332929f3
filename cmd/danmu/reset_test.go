package main

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestResetClientsNeverReachBystanders: thousands of clients send a valid
// upgrade request for a room and reset the connection at once, while the
// room gets comments. Idle connections opened meanwhile to the WebSocket
// port and to the HTTP API, which may get the descriptor numbers the
// resets freed, must receive nothing, and the room's online count returns
// to zero.
func TestResetClientsNeverReachBystanders(t *testing.T) {
	n := startProcess(t, "serve", "--handshake-timeout", "1m")
	for range 20 {
		mustPost(t, n.apiAddr, "victim", "before")
	}
	var bystanders []net.Conn
	for i := range 2000 {
		target := "/ws?room=victim"
		if i%2 == 1 {
			target += "&since=0"
		}
		if err := upgradeAndReset(n.wsAddr, target); err != nil && i == 0 {
			t.Fatalf("attacker: %v", err)
		}
		if i%100 == 0 {
			mustPost(t, n.apiAddr, "victim", "during")
			for _, addr := range []string{n.wsAddr, n.apiAddr} {
				c, err := net.DialTimeout("tcp", addr, waitTimeout)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				bystanders = append(bystanders, c)
			}
		}
	}
	waitFor(t, waitTimeout, "the room's online count to return to zero", func() bool {
		count, err := online(n.apiAddr, "victim")
		return err == nil && count == 0
	})
	for range 10 {
		mustPost(t, n.apiAddr, "victim", "after")
	}
	time.Sleep(50 * time.Millisecond)
	buf := make([]byte, 512)
	for i, c := range bystanders {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		got, err := c.Read(buf)
		if got > 0 {
			t.Fatalf("idle connection %d to %s received %q", i, c.RemoteAddr(), buf[:got])
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("idle connection %d to %s: %v; want it open and silent", i, c.RemoteAddr(), err)
		}
	}
}

// upgradeAndReset sends an upgrade request for target and resets the
// connection at once (SO_LINGER 0), so that the server's answer fails.
func upgradeAndReset(addr, target string) error {
	c, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		return err
	}
	tcp := c.(*net.TCPConn)
	_ = tcp.SetLinger(0)
	_, err = tcp.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: danmu\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	return errors.Join(err, tcp.Close())
}
