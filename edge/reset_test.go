package edge

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/stream"
)

// dialReset connects to addr, writes b and resets the connection at once
// (SO_LINGER 0, then close), as a hostile client does to make the server's
// answer fail.
func dialReset(addr string, b []byte) error {
	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		return err
	}
	tcp := conn.(*net.TCPConn)
	_ = tcp.SetLinger(0)
	_, err = tcp.Write(b)
	return errors.Join(err, tcp.Close())
}

// joinAndReset upgrades to target, waits for the first frame (the
// subscription is live; a replay or a batch may be on its way), and resets
// the connection while the server writes to it.
func joinAndReset(addr, target string) error {
	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		return err
	}
	tcp := conn.(*net.TCPConn)
	_ = tcp.SetLinger(0)
	defer tcp.Close()
	_ = tcp.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := tcp.Write([]byte(upgradeRequest(target))); err != nil {
		return err
	}
	_, err = tcp.Read(make([]byte, 256))
	return err
}

// bystander is an idle connection that must never receive a byte: it sent
// nothing, so the server owes it nothing.
type bystander struct{ conn net.Conn }

func (e *testEnv) bystander(t *testing.T) bystander {
	t.Helper()
	conn, err := net.DialTimeout("tcp", e.addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return bystander{conn}
}

// expectSilence fails if anything arrived on the bystander.
func (b bystander) expectSilence(t *testing.T) {
	t.Helper()
	_ = b.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	buf := make([]byte, 512)
	n, err := b.conn.Read(buf)
	if n > 0 {
		t.Fatalf("an idle connection received %d bytes it never asked for: %q", n, buf[:n])
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("an idle connection: %v; want it open and silent", err)
	}
}

// TestResetClientsNeverLeak: thousands of clients send a valid upgrade
// request (joining a room, some resuming with since) and reset the TCP
// connection at once, so that the server's answers fail; a quarter reset
// only once their subscription is live, during a replay or a batch. No such client
// may stay subscribed: the room's count returns to zero, and the room's
// frames never reach the idle connections accepted meanwhile, which the
// kernel may have given the same file descriptor numbers.
func TestResetClientsNeverLeak(t *testing.T) {
	env := startEnv(t, envConfig{edge: Config{HandshakeTimeout: time.Minute}})
	for i := range 1200 {
		env.post(t, "victim", "old "+string(rune('a'+i%26)))
	}
	var first codec.ID
	if page, err := env.log.Range(context.Background(), stream.Query{Room: "victim", Limit: 1}); err != nil || len(page.Entries) == 0 {
		t.Fatalf("Range: %v, %d entries", err, len(page.Entries))
	} else {
		first = page.Entries[0].ID
	}

	ctx, stopPosting := context.WithCancel(context.Background())
	var posting sync.WaitGroup
	posting.Go(func() {
		for ctx.Err() == nil {
			if _, err := env.appendComment("victim", "live"); err != nil {
				t.Errorf("append: %v", err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	targets := []string{"/ws?room=victim", "/ws?room=victim&since=0", "/ws?room=victim&since=" + first.String()}
	var bystanders []bystander
	attackers := 3000
	if testing.Short() {
		attackers = 600
	}
	failed := 0
	for i := range attackers {
		// A connect may fail at this rate (a 4-tuple's last use is
		// still closing on the server): that attacker just goes on.
		target := targets[i%len(targets)]
		reset := dialReset
		if i%4 == 3 {
			reset = func(addr string, _ []byte) error { return joinAndReset(addr, target) }
		}
		if err := reset(env.addr, []byte(upgradeRequest(target))); err != nil {
			failed++
		}
		if i%50 == 0 {
			bystanders = append(bystanders, env.bystander(t))
		}
	}
	stopPosting()
	posting.Wait()
	if failed > attackers/10 {
		t.Fatalf("%d of %d attackers could not even connect", failed, attackers)
	}

	waitFor(t, "the room's count to return to zero", func() bool {
		n, _ := env.srv.hub.Online(context.Background(), "victim")
		return n == 0
	})
	for range 20 {
		env.post(t, "victim", "after")
	}
	time.Sleep(50 * time.Millisecond)
	for _, b := range bystanders {
		b.expectSilence(t)
	}
}
