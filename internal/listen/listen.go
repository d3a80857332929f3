// Package listen keeps a listener accepting through errors that pass, such
// as running out of file descriptors: a server that stopped at the first
// EMFILE could be stopped by anyone who opens enough connections. It
// imports no other package of this module.
package listen

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// Bounds of the back-off after an accept error.
const (
	MinBackoff = 5 * time.Millisecond
	MaxBackoff = time.Second
)

// Retrying is a net.Listener whose Accept retries after any error but the
// listener's closing, backing off from MinBackoff, doubling up to
// MaxBackoff. The connection that failed to be accepted waits in the
// listen queue meanwhile.
type Retrying struct {
	net.Listener
	// OnError, if set, is called with each error and the time before the
	// next try, on the goroutine that called Accept.
	OnError func(err error, retryIn time.Duration)
}

// Accept waits for and returns the next connection. It fails only once the
// listener is closed.
func (l *Retrying) Accept() (net.Conn, error) {
	backoff := time.Duration(0)
	for {
		c, err := l.Listener.Accept()
		if err == nil || errors.Is(err, net.ErrClosed) {
			return c, err
		}
		backoff = min(max(2*backoff, MinBackoff), MaxBackoff)
		if l.OnError != nil {
			l.OnError(err, backoff)
		}
		time.Sleep(backoff)
	}
}

// Noteworthy reports whether an accept error with the given back-off is
// worth a log line: running out of descriptors is expected under a flood
// and logged only once it persists (the back-off reached MaxBackoff), so
// that a flood does not also flood the log; any other error always is.
func Noteworthy(err error, retryIn time.Duration) bool {
	return retryIn == MaxBackoff || !(errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE))
}
