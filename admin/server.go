package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults for Config's zero values.
const (
	// DefaultAddr is on loopback: metrics and pprof are for the operator,
	// never for the public. A fleet sets an address its scraper and
	// probes reach.
	DefaultAddr         = "127.0.0.1:7090"
	DefaultCheckTimeout = time.Second
)

// Config tunes a Server. The zero value works.
type Config struct {
	// Addr is the TCP address to listen on. Empty means DefaultAddr.
	Addr string
	// CheckTimeout bounds each readiness check. Zero means
	// DefaultCheckTimeout.
	CheckTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = DefaultCheckTimeout
	}
	return c
}

// Check reports whether one part of the process is ready to serve: nil
// when it is.
type Check func(ctx context.Context) error

// ErrDraining is what /readyz reports while the process shuts down.
var ErrDraining = errors.New("admin: draining")

// Server serves the admin address:
//
//	/metrics        Prometheus metrics
//	/healthz        200 while the process runs (liveness)
//	/readyz         200 when every check passes and the process is not
//	                draining, else 503 naming what is not ready
//	/debug/pprof/   net/http/pprof
//
// Create it with New, register collectors and checks, then Serve.
type Server struct {
	// Immutable after New.
	cfg      Config
	logger   *slog.Logger
	registry *prometheus.Registry
	srv      *http.Server

	draining atomic.Bool

	mu struct {
		sync.Mutex
		checks []namedCheck
	}
}

type namedCheck struct {
	name  string
	check Check
}

// New returns a Server whose registry already holds the Go runtime
// (goroutines, GC, memory) and process (CPU, open files) collectors.
func New(cfg Config, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{cfg: cfg.withDefaults(), logger: logger, registry: prometheus.NewRegistry()}
	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		// pprof's profile and trace stream for as long as asked (30 s
		// by default): no WriteTimeout.
		IdleTimeout: time.Minute,
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Addr returns the address the server is configured to listen on.
func (s *Server) Addr() string { return s.cfg.Addr }

// Register adds collectors to the metrics. It panics when one describes a
// metric already registered: the set of metrics is fixed by the program.
func (s *Server) Register(cs ...prometheus.Collector) {
	s.registry.MustRegister(cs...)
}

// AddCheck adds a readiness check named name.
func (s *Server) AddCheck(name string, check Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.checks = append(s.mu.checks, namedCheck{name, check})
}

// SetDraining makes /readyz fail from now on, so that load balancers stop
// sending new work while the process shuts down.
func (s *Server) SetDraining() { s.draining.Store(true) }

// Ready runs the checks, at once, and returns why the process is not
// ready, or nil.
func (s *Server) Ready(ctx context.Context) error {
	if s.draining.Load() {
		return ErrDraining
	}
	s.mu.Lock()
	checks := s.mu.checks
	s.mu.Unlock()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, s.cfg.CheckTimeout)
			defer cancel()
			if err := c.check(cctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", c.name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Handler returns the handler of every admin route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveReady answers 200 "ready", or 503 with one line per reason.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.Ready(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:")
		for line := range strings.Lines(err.Error()) {
			fmt.Fprintln(w, " ", strings.TrimSuffix(line, "\n"))
		}
		return
	}
	fmt.Fprintln(w, "ready")
}

// Serve serves on ln until Shutdown, after which it returns nil.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}

// Shutdown stops the server, waiting for requests in flight until ctx
// ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
