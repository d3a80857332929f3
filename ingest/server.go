package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/danmu-dev/danmu/internal/listen"
	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/stream"
)

// bodySlack is how far fasthttp's own body limit sits above MaxBodyBytes
// (MaxBatchBytes when larger, for POST .../danmaku:batch):
// a body a little too large is still read, so the handler answers
// 413 body_too_large on a connection that stays open. Larger bodies are
// refused by fasthttp from their Content-Length, and readError gives them
// the same answer before the connection closes (a client still sending
// such a body may see the reset rather than the answer).
const bodySlack = 1024

// Server is the ingest HTTP API. Create it with New, add extra routes with
// Handle and hooks with Use, then run it with Serve and
// stop it with Shutdown.
type Server struct {
	// Immutable after New.
	cfg         Config
	log         stream.Log
	presence    Presence
	policy      policy.Store
	logger      *slog.Logger
	limitErrors limitErrors
	srv         *fasthttp.Server
	stats       *Stats
	roomNames   *roomNames

	// Written by New, Handle and Use before serving starts; read-only
	// after.
	routes map[string]*route
	chain  []link
	// added reports that the chain has hooks added with Use. Without
	// them, the After hooks get no deadline (finish).
	added bool
}

// New returns a Server that appends posted comments to log and answers
// online counts from presence. log and presence must not be nil; a nil
// logger means slog.Default().
func New(cfg Config, log stream.Log, presence Presence, logger *slog.Logger) *Server {
	if log == nil || presence == nil {
		panic("ingest: New needs a stream.Log and a Presence")
	}
	if logger == nil {
		logger = slog.Default()
	}
	cfg = cfg.withDefaults()
	store := cfg.Policy.Store
	if store == nil {
		store = policy.NewMemory()
	}
	s := &Server{
		cfg:         cfg,
		log:         log,
		presence:    presence,
		policy:      store,
		logger:      logger,
		limitErrors: newLimitErrors(&cfg),
		stats:       newStats(),
		roomNames:   newRoomNames(),
		routes:      make(map[string]*route),
		chain:       builtinChain(&cfg, store),
	}
	s.Handle(fasthttp.MethodGet, "/healthz", serveHealth)
	s.Handle(fasthttp.MethodPost, reloadPath, s.reloadFilter)
	s.Handle(fasthttp.MethodOptions, reloadPath, func(ctx *fasthttp.RequestCtx) { preflight(ctx, allowReload) })
	s.registerBili()
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		ErrorHandler:       s.readError,
		Logger:             fasthttpLogger{logger},
		ReadTimeout:        cfg.ReadTimeout,
		WriteTimeout:       cfg.WriteTimeout,
		IdleTimeout:        cfg.IdleTimeout,
		MaxConnsPerIP:      cfg.MaxConnsPerIP,
		MaxRequestBodySize: max(cfg.MaxBodyBytes, cfg.MaxBatchBytes) + bodySlack,
		// Only POST /msg/send reads a multipart form, and answers a
		// broken one itself.
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		CloseOnShutdown:              true,
	}
	return s
}

// builtinChain returns the built-in hooks cfg calls for, in order: who
// posts (auth), then the rules of package policy, on store. Bans and slow
// modes are set through the admin API, so they are checked only when it
// is on.
func builtinChain(cfg *Config, store policy.Store) []link {
	chain := []link{newLink(authHook{verifier: cfg.Auth, maxNameRunes: cfg.MaxNameRunes}, false)}
	rules := cfg.Policy
	rules.Store = store
	for _, h := range policy.Hooks(rules, cfg.Auth != nil) {
		chain = append(chain, newLink(h, false))
	}
	return chain
}

// Handler returns the request handler of s, routes and panic recovery
// included, for serving it in-process or from another fasthttp.Server.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Serve serves HTTP on ln until Shutdown, after which it returns nil. An
// accept that fails, as when the process runs out of file descriptors, is
// retried after a back-off: fasthttp would otherwise stop serving. With
// Config.ProxyProtocol, each connection's PROXY protocol header is read
// first (proxy.go).
func (s *Server) Serve(ln net.Listener) error {
	ln = &listen.Retrying{Listener: ln, OnError: s.acceptFailed}
	if len(s.cfg.ProxyProtocol) > 0 {
		ln = newProxyListener(ln, s)
	}
	return s.srv.Serve(ln)
}

// acceptFailed counts a failed accept and logs it when it is noteworthy
// (listen.Noteworthy), as the edge does.
func (s *Server) acceptFailed(err error, retryIn time.Duration) {
	s.stats.AcceptErrors.Add(1)
	if listen.Noteworthy(err, retryIn) {
		s.logger.Warn("ingest: accept failed; retrying", "err", err, "retry_in", retryIn)
	}
}

// Shutdown stops accepting connections, lets in-flight requests finish
// and closes idle connections. It returns when all connections are closed,
// or with ctx.Err() when ctx ends first. Keep the process alive until it
// returns.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

// fasthttpLogger sends fasthttp's own messages (accept errors, per-IP
// limits) to slog.
type fasthttpLogger struct{ logger *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.logger.Warn("ingest: fasthttp: " + fmt.Sprintf(format, args...))
}
