package ingest

import (
	"net/netip"
	"time"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/internal/telemetry"
	"github.com/danmu-dev/danmu/policy"
)

// Defaults for the zero fields of Config.
const (
	DefaultAddr            = "127.0.0.1:7080"
	DefaultMaxTextRunes    = 100
	DefaultMaxNameRunes    = 32
	DefaultMaxBodyBytes    = 4096
	DefaultMaxBatch        = 100
	DefaultMaxBatchBytes   = 128 << 10
	DefaultAppendTimeout   = 2 * time.Second
	DefaultQueryTimeout    = 2 * time.Second
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
	DefaultMaxConnsPerIP   = 1024
	DefaultHistoryLimit    = 50
	DefaultMaxHistoryLimit = 1000
	DefaultHookTimeout     = 2 * time.Second
	DefaultMaxSlowMode     = time.Hour
	DefaultMaxBan          = 365 * 24 * time.Hour
)

// Config configures a Server. The zero value works: every field that is
// zero (or negative, unless the field says otherwise) takes its default.
type Config struct {
	// Addr is the TCP address to serve on: Serve takes a listener, which
	// cmd/danmu opens on Addr (--http-addr). Default "127.0.0.1:7080".
	Addr string

	// MaxTextRunes is the longest comment text, in runes. Default 100.
	MaxTextRunes int
	// MaxNameRunes is the longest display name, in runes. Default 32.
	MaxNameRunes int
	// MaxBodyBytes is the largest POST body; larger ones get
	// 413 body_too_large. Default 4096.
	MaxBodyBytes int
	// MaxBatch is the most comments one POST .../danmaku:batch may carry;
	// more get 400 invalid_batch. Default 100.
	MaxBatch int
	// MaxBatchBytes is the largest body of POST .../danmaku:batch; larger
	// ones get 413 body_too_large. Each comment in it is still held to
	// MaxBodyBytes. Default 128 KiB: 100 comments of the longest text in
	// CJK, with every field, fit.
	MaxBatchBytes int

	// AppendTimeout bounds each append to the stream. A comment whose
	// append fails or takes longer gets 503 unavailable. Default 2s.
	AppendTimeout time.Duration
	// QueryTimeout bounds each history query and online-count lookup;
	// exceeding it gets 503 unavailable. Default 2s.
	QueryTimeout time.Duration

	// ReadTimeout bounds reading one request, headers and body.
	// Default 10s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response. Default 10s.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request. Default 60s.
	IdleTimeout time.Duration
	// MaxConnsPerIP caps the concurrent connections from one client IP.
	// Default 1024, enough for a browser fleet behind one NAT or a load
	// generator, yet a bound on one host hoarding sockets. A negative
	// value removes the cap.
	MaxConnsPerIP int

	// HistoryLimit is the number of entries a history request returns
	// when it names no limit. Default 50; never above MaxHistoryLimit.
	HistoryLimit int
	// MaxHistoryLimit is the largest limit a history request may ask
	// for; larger ones get 400 invalid_limit. Default 1000.
	MaxHistoryLimit int

	// Auth verifies the bearer tokens of posters and admins. With it,
	// posting needs a token and the user id and name come from it. Nil
	// means open mode, for development: anyone may post, uid and name
	// come from the body, and the admin API is off (403 forbidden).
	Auth *auth.Verifier
	// Policy configures the rules every post goes through after auth (the
	// built-in hooks of package policy: limits, filter, spam, and with Auth
	// bans and slow mode) and the store of their state, which the admin
	// API's bans and slow modes write too. A nil Store means a
	// policy.Memory of this server alone; every node of a fleet must share
	// one policy.Redis for the limits to hold across it.
	Policy policy.Config
	// ClientIPHeader names a request header holding the client address,
	// set by the reverse proxies in front of this server: X-Forwarded-For,
	// or a header of one address such as X-Real-IP. Empty means the
	// address of the TCP peer. Set it only behind such a proxy: clients
	// can send the header themselves. Which address of the header is the
	// client's depends on TrustedProxies.
	ClientIPHeader string
	// TrustedProxies are the addresses of the reverse proxies in front of
	// this server. The header is then believed only from them, and the
	// client is the right-most address in it, across all its lines, that
	// is not a trusted proxy. Empty means the TCP peer is taken for the
	// one proxy in front, whoever it is: the client is the right-most
	// address of the header, the one that proxy added. A value that is
	// not an address ends the search: the client is then the nearest
	// address found before it. Unused without ClientIPHeader.
	TrustedProxies []netip.Prefix
	// ProxyProtocol lists the load balancers (addresses and CIDR
	// prefixes) that begin each connection with a PROXY protocol header,
	// version 1 or 2. A connection from one of them must begin with one,
	// and the address it carries is the TCP peer's from then on: for
	// MaxConnsPerIP, the per-address rate limits and the logs, and as the
	// peer that ClientIPHeader and TrustedProxies start from. A
	// connection from any other address must not. A connection whose
	// header is refused, or not complete within ReadTimeout, is closed
	// without an answer. Empty means no PROXY protocol.
	ProxyProtocol []netip.Prefix
	// HookTimeout bounds the hook chain of one post, Before and After
	// each: a chain that takes longer gets 503 unavailable. Default 2s.
	HookTimeout time.Duration
	// MaxSlowMode is the longest slow mode an admin may set. Default 1h.
	MaxSlowMode time.Duration
	// MaxBan is the longest ban an admin may set. Default 365 days.
	MaxBan time.Duration

	// Bili configures the Bilibili-compatible routes: the calls its
	// clients make before they connect, and POST /msg/send.
	Bili BiliConfig

	// Tracer traces posts: a server span continuing the request's
	// traceparent, with spans for validation, each hook and the append,
	// and the trace context in the stored record of a sampled post
	// (docs/operations.md, "Tracing"). Nil means tracing off, which costs
	// a post nothing.
	Tracer *telemetry.Tracer
}

// withDefaults returns c with every unset field at its default.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	c.MaxTextRunes = positiveOr(c.MaxTextRunes, DefaultMaxTextRunes)
	c.MaxNameRunes = positiveOr(c.MaxNameRunes, DefaultMaxNameRunes)
	c.MaxBodyBytes = positiveOr(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.MaxBatch = positiveOr(c.MaxBatch, DefaultMaxBatch)
	c.MaxBatchBytes = positiveOr(c.MaxBatchBytes, DefaultMaxBatchBytes)
	c.AppendTimeout = positiveOr(c.AppendTimeout, DefaultAppendTimeout)
	c.QueryTimeout = positiveOr(c.QueryTimeout, DefaultQueryTimeout)
	c.ReadTimeout = positiveOr(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = positiveOr(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = positiveOr(c.IdleTimeout, DefaultIdleTimeout)
	switch {
	case c.MaxConnsPerIP == 0:
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	case c.MaxConnsPerIP < 0:
		c.MaxConnsPerIP = 0 // fasthttp: no cap
	}
	c.MaxHistoryLimit = positiveOr(c.MaxHistoryLimit, DefaultMaxHistoryLimit)
	c.HistoryLimit = min(positiveOr(c.HistoryLimit, DefaultHistoryLimit), c.MaxHistoryLimit)
	c.HookTimeout = positiveOr(c.HookTimeout, DefaultHookTimeout)
	c.MaxSlowMode = positiveOr(c.MaxSlowMode, DefaultMaxSlowMode)
	c.MaxBan = positiveOr(c.MaxBan, DefaultMaxBan)
	return c
}

// limits returns the bounds of m's free text. The default name is not
// held to MaxNameRunes: a comment that names nobody is never refused for
// the name it was given.
func (c *Config) limits(m *codec.Message) codec.Limits {
	l := codec.Limits{MaxTextRunes: c.MaxTextRunes, MaxNameRunes: c.MaxNameRunes}
	if m.Name == DefaultName {
		l.MaxNameRunes = max(l.MaxNameRunes, len(DefaultName))
	}
	return l
}

func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
