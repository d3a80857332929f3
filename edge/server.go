package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/metric"
)

// Server is the WebSocket edge. Create it with New and run it with Serve.
type Server struct {
	gnet.BuiltinEventEngine

	// Immutable after New.
	cfg    Config
	hub    *fanout.Hub
	logger *slog.Logger
	// The hub's encoder indexes: the native JSON protocol, plain and
	// with permessage-deflate, and the three encodings of /sub.
	encJSON, encDeflate                      int
	encBiliPlain, encBiliZlib, encBiliBrotli int
	encSSE                                   int

	stats     Stats
	draining  atomic.Bool
	admission *admission

	// booted is closed by the first OnTick, once gnet runs its event
	// loops; engine and addr are set before, by OnBoot. OnBoot is too
	// early: gnet registers its loops after it returns, and Engine methods
	// called meanwhile (CountConnections, Stop) race with that.
	booted   chan struct{}
	bootOnce sync.Once
	engine   gnet.Engine
	addr     net.Addr
	// listener is the socket the accept loop takes connections from
	// (accept.go); Serve closes it when the drain begins.
	listener *net.TCPListener

	mu struct {
		sync.Mutex
		loops map[gnet.EventLoop]*loop
		list  []*loop
	}
}

// New returns a Server that delivers hub's batches to its viewers.
func New(cfg Config, hub *fanout.Hub, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{
		cfg:    cfg.withDefaults(),
		hub:    hub,
		logger: logger,
		booted: make(chan struct{}),
	}
	s.stats.LoopLag = metric.NewHistogram(metric.LatencyBuckets)
	s.admission = newAdmission(s.cfg.MaxConns, s.cfg.MaxConnsPerIP)
	encoders := s.cfg.encoders()
	s.encJSON = hub.RegisterEncoder(encoders.native)
	s.encDeflate = hub.RegisterEncoder(encoders.deflate)
	s.encBiliPlain = hub.RegisterEncoder(encoders.biliPlain)
	s.encBiliZlib = hub.RegisterEncoder(encoders.biliZlib)
	s.encBiliBrotli = hub.RegisterEncoder(encoders.biliBrotli)
	s.encSSE = hub.RegisterEncoder(encoders.sse)
	s.mu.loops = make(map[gnet.EventLoop]*loop)
	return s
}

// Ready is closed once the server listens and its event loops run; Addr is
// valid from then on.
func (s *Server) Ready() <-chan struct{} { return s.booted }

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr {
	<-s.booted
	return s.addr
}

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Draining reports whether the server is shutting down: it refuses new
// connections and is closing the open ones.
func (s *Server) Draining() bool { return s.draining.Load() }

// Serve listens and serves until ctx ends, then shuts down gracefully:
// it stops accepting, sends every viewer a close frame 1001, spread over
// DrainPeriod, lets the frames drain (at most DrainTimeout more) and
// stops the event loops.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	s.listener = ln.(*net.TCPListener)
	s.addr = ln.Addr()
	// gnet's engine needs a listener of its own, though acceptLoop hands
	// it every connection: a Unix socket in a private directory (0700),
	// which no client can reach.
	private, err := os.MkdirTemp("", "danmu-edge-")
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("edge: %w", err)
	}
	defer os.RemoveAll(private)
	errc := make(chan error, 1)
	go func() {
		errc <- gnet.Run(s, "unix://"+filepath.Join(private, "loops.sock"),
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(s.cfg.Loops),
			gnet.WithLoadBalancing(gnet.LeastConnections),
			gnet.WithTicker(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithLogger(gnetLogger{s.logger}),
		)
	}()
	var accepting sync.WaitGroup
	defer accepting.Wait()
	defer s.listener.Close()
	select {
	case err := <-errc:
		return fmt.Errorf("edge: %w", err)
	case <-s.booted:
	}
	accepting.Go(func() { s.acceptLoop(s.listener) })
	select {
	case err := <-errc:
		return fmt.Errorf("edge: %w", err)
	case <-ctx.Done():
	}
	s.drain()
	stopCtx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	if err := s.engine.Stop(stopCtx); err != nil {
		return fmt.Errorf("edge: stop: %w", err)
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("edge: %w", err)
	}
	return nil
}

// drain refuses new connections, answers those still in their handshake
// with 503 (a pending handshake would hold the drain for all of
// DrainTimeout), and closes the open ones with 1001, spread evenly over
// DrainPeriod: every step, each loop closes its share of the connections
// it had when the drain began, so viewers reconnect to other edges
// gradually rather than all in the same second; it ends early once none
// is left. Then it waits, at most DrainTimeout, for the connections to
// close.
func (s *Server) drain() {
	s.draining.Store(true)
	_ = s.listener.Close()
	loops := s.loops()
	period := s.cfg.DrainPeriod
	step := min(max(period/drainSteps, minDrainStep), maxDrainStep)
	start := time.Now()
	for {
		share := 1.0
		if elapsed := time.Since(start); elapsed < period {
			share = float64(elapsed) / float64(period)
		}
		for _, l := range loops {
			l.Execute(func() { l.drainShare(share) })
		}
		if share >= 1 || s.engine.CountConnections() == 0 {
			break
		}
		time.Sleep(min(step, period-time.Since(start)))
	}
	deadline := time.Now().Add(s.cfg.DrainTimeout)
	for s.engine.CountConnections() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// Steps of a drain: about drainSteps over DrainPeriod, each at least
// minDrainStep and at most maxDrainStep apart.
const (
	drainSteps   = 50
	minDrainStep = 5 * time.Millisecond
	maxDrainStep = 100 * time.Millisecond
)

// OnBoot records the engine.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.engine = eng
	return gnet.None
}

// OnOpen registers a new connection with its loop.
func (s *Server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	peer := peerIP(c.RemoteAddr())
	counted := s.countedAt(peer)
	if s.draining.Load() {
		// OnClose will not know the connection: give its place back now.
		s.admission.release(counted)
		s.stats.countRefused(RefusedDraining)
		return nil, gnet.Close
	}
	l := s.loopOf(c.EventLoop())
	now := time.Now().UnixNano()
	cn := &conn{c: c, loop: l, opened: now, lastSeen: now, peer: peer, counted: counted, state: stateHandshake,
		pingAfter: pingAfter(s.cfg.PingInterval)}
	if len(s.cfg.ProxyProtocol) > 0 {
		cn.state = stateProxy
	}
	c.SetContext(cn)
	l.conns[cn] = struct{}{}
	s.stats.Accepted.Add(1)
	s.stats.Open.Add(1)
	return nil, gnet.None
}

// OnClose forgets a connection and ends its subscriptions.
func (s *Server) OnClose(c gnet.Conn, _ error) gnet.Action {
	if cn, ok := c.Context().(*conn); ok {
		cn.release()
		s.admission.release(cn.counted)
		delete(cn.loop.conns, cn)
		s.stats.Open.Add(-1)
		s.stats.countClose(cn.closeReason, cn.closeCode)
	}
	return gnet.None
}

// OnTraffic parses what a connection sent.
func (s *Server) OnTraffic(c gnet.Conn) gnet.Action {
	if cn, ok := c.Context().(*conn); ok {
		cn.onTraffic()
	}
	return gnet.None
}

// OnTick sweeps each loop's connections on that loop: OnTick itself runs on
// its own goroutine. gnet starts that goroutine once the event loops are
// registered, so the first call also marks the server ready. How late
// each sweep starts is the loop's lag.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	s.bootOnce.Do(func() { close(s.booted) })
	scheduled := time.Now()
	for _, l := range s.loops() {
		l.Execute(func() {
			s.stats.LoopLag.ObserveSince(scheduled)
			l.sweep()
		})
	}
	return s.cfg.SweepInterval, gnet.None
}

// loopOf returns the state of event loop el, creating it on first use.
func (s *Server) loopOf(el gnet.EventLoop) *loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.mu.loops[el]; l != nil {
		return l
	}
	l := newLoop(s, el)
	s.mu.loops[el] = l
	s.mu.list = append(s.mu.list, l)
	return l
}

func (s *Server) loops() []*loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.list
}

// gnetLogger routes gnet's logs to slog.
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) Debugf(format string, args ...any) { g.l.Debug(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Infof(format string, args ...any)  { g.l.Debug(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Warnf(format string, args ...any)  { g.l.Warn(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Errorf(format string, args ...any) { g.l.Error(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Fatalf(format string, args ...any) { g.l.Error(fmt.Sprintf(format, args...)) }
