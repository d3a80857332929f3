package listen_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/internal/listen"
)

// flaky fails its first accepts with EMFILE, then returns a connection,
// then reports itself closed.
type flaky struct {
	net.Listener
	failures int
	conn     net.Conn
}

func (f *flaky) Accept() (net.Conn, error) {
	if f.failures > 0 {
		f.failures--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	if f.conn != nil {
		c := f.conn
		f.conn = nil
		return c, nil
	}
	return nil, net.ErrClosed
}

func TestRetryingBacksOffThenAccepts(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	var waits []time.Duration
	l := &listen.Retrying{
		Listener: &flaky{failures: 3, conn: server},
		OnError: func(err error, retryIn time.Duration) {
			if !errors.Is(err, syscall.EMFILE) {
				t.Errorf("OnError(%v); want EMFILE", err)
			}
			waits = append(waits, retryIn)
		},
	}
	c, err := l.Accept()
	if err != nil || c != server {
		t.Fatalf("Accept() = %v, %v; want the connection after the errors", c, err)
	}
	want := []time.Duration{listen.MinBackoff, 2 * listen.MinBackoff, 4 * listen.MinBackoff}
	if len(waits) != len(want) {
		t.Fatalf("waits %v; want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("wait %d = %v; want %v", i, waits[i], want[i])
		}
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept() on a closed listener = %v; want net.ErrClosed", err)
	}
}

func TestNoteworthy(t *testing.T) {
	emfile := &net.OpError{Op: "accept", Err: syscall.EMFILE}
	for _, tc := range []struct {
		err     error
		retryIn time.Duration
		want    bool
	}{
		{emfile, listen.MinBackoff, false},
		{emfile, listen.MaxBackoff, true},
		{&net.OpError{Op: "accept", Err: syscall.ENFILE}, listen.MinBackoff, false},
		{&net.OpError{Op: "accept", Err: syscall.ENOBUFS}, listen.MinBackoff, true},
	} {
		if got := listen.Noteworthy(tc.err, tc.retryIn); got != tc.want {
			t.Errorf("Noteworthy(%v, %v) = %v; want %v", tc.err, tc.retryIn, got, tc.want)
		}
	}
}
