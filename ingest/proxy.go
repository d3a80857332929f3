package ingest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/danmu-dev/danmu/internal/proxyproto"
)

// proxyListener reads the PROXY protocol header of each connection it
// accepts before fasthttp sees the connection, so that everything fasthttp
// does with the client's address (MaxConnsPerIP, RemoteIP) uses the one
// the header carries. fasthttp counts a connection's address as soon as
// Accept returns it, so the header must be read first; reading it in
// Accept would let one silent connection stop every other, so each
// connection's header is read on a goroutine of its own, bounded by
// ReadTimeout, and Accept returns connections in the order their headers
// complete. fasthttp serves each connection on a goroutine anyway.
type proxyListener struct {
	// Immutable after newProxyListener.
	inner   net.Listener
	trusted []netip.Prefix
	timeout time.Duration
	server  *Server

	ready     chan net.Conn // connections whose header was read
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	// readers are the accept goroutine and one per connection whose
	// header is being read; Close waits for them.
	readers sync.WaitGroup

	mu struct {
		sync.Mutex
		// reading are the connections whose header is being read, which
		// Close interrupts.
		reading map[net.Conn]struct{}
		closed  bool
	}
}

// newProxyListener wraps inner, and starts accepting on it until Close.
func newProxyListener(inner net.Listener, s *Server) *proxyListener {
	l := &proxyListener{
		inner:   inner,
		trusted: s.cfg.ProxyProtocol,
		timeout: s.cfg.ReadTimeout,
		server:  s,
		ready:   make(chan net.Conn),
		done:    make(chan struct{}),
	}
	l.mu.reading = make(map[net.Conn]struct{})
	l.readers.Add(1)
	go l.acceptLoop()
	return l
}

// Accept returns the next connection whose header was read, with the
// client's address as its RemoteAddr.
func (l *proxyListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting, closes the connections whose header is still
// being read, and waits for the goroutines of the listener to end.
func (l *proxyListener) Close() error {
	err := l.inner.Close()
	l.stop()
	l.readers.Wait()
	return err
}

func (l *proxyListener) Addr() net.Addr { return l.inner.Addr() }

// stop ends Accept and interrupts the header reads in progress.
func (l *proxyListener) stop() {
	l.closeOnce.Do(func() {
		close(l.done)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.mu.closed = true
		for c := range l.mu.reading {
			_ = c.SetReadDeadline(time.Unix(1, 0))
		}
	})
}

func (l *proxyListener) acceptLoop() {
	defer l.readers.Done()
	defer l.stop()
	for {
		c, err := l.inner.Accept()
		if err != nil {
			return // closed: the inner listener retries anything else
		}
		l.mu.Lock()
		if l.mu.closed {
			l.mu.Unlock()
			_ = c.Close()
			return
		}
		l.mu.reading[c] = struct{}{}
		l.readers.Add(1)
		l.mu.Unlock()
		go l.readHeader(c)
	}
}

// readHeader reads c's first bytes until proxyproto.Resolve can tell the
// client's address, and hands c over to Accept, or closes it when its
// header is refused, or does not come within the timeout.
func (l *proxyListener) readHeader(c net.Conn) {
	defer l.readers.Done()
	peer := netip.AddrPort{}
	if tcp, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer = tcp.AddrPort()
	}
	_ = c.SetReadDeadline(time.Now().Add(l.timeout))
	buf := make([]byte, 0, 512)
	var r proxyproto.Result
	var err error
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= proxyproto.MaxHeaderBytes {
				// Resolve decides within MaxHeaderBytes; this guards
				// the buffer's growth all the same.
				err = fmt.Errorf("%w: longer than %d bytes", proxyproto.ErrMalformed, proxyproto.MaxHeaderBytes)
				break
			}
			buf = slices.Grow(buf, proxyproto.MaxHeaderBytes-len(buf))
		}
		n, readErr := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		r, err = proxyproto.Resolve(peer, buf, l.trusted)
		if err != proxyproto.ErrIncomplete {
			break
		}
		if readErr != nil {
			err = errors.Join(proxyproto.ErrMissing, readErr)
			break
		}
	}
	l.mu.Lock()
	delete(l.mu.reading, c)
	l.mu.Unlock()
	if err != nil {
		l.server.stats.ProxyRefused.Add(1)
		l.server.logger.Debug("ingest: connection refused", "client", peer.Addr().Unmap(), "err", err)
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if r.Proxied {
		l.server.logger.Debug("ingest: connection through a load balancer", "client", r.Client.Addr(), "balancer", peer.Addr().Unmap())
	}
	pc := &proxiedConn{Conn: c, remote: net.TCPAddrFromAddrPort(r.Client), pending: buf[r.Length:]}
	select {
	case l.ready <- pc:
	case <-l.done:
		_ = c.Close()
	}
}

// proxiedConn is a connection whose PROXY protocol header was read: it
// reports the client's address as its RemoteAddr, and its first reads
// return what was read past the header.
type proxiedConn struct {
	net.Conn
	remote  net.Addr
	pending []byte // read past the header, not yet returned by Read
}

func (c *proxiedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *proxiedConn) RemoteAddr() net.Addr { return c.remote }
