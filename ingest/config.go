package ingest

import "time"

// Defaults for the zero fields of Config.
const (
	DefaultAddr            = "127.0.0.1:7080"
	DefaultMaxTextRunes    = 100
	DefaultMaxNameRunes    = 32
	DefaultMaxBodyBytes    = 4096
	DefaultAppendTimeout   = 2 * time.Second
	DefaultQueryTimeout    = 2 * time.Second
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
	DefaultMaxConnsPerIP   = 1024
	DefaultHistoryLimit    = 50
	DefaultMaxHistoryLimit = 1000
)

// Config configures a Server. The zero value works: every field that is
// zero (or negative, unless the field says otherwise) takes its default.
type Config struct {
	// Addr is the TCP address ListenAndServe listens on.
	// Default "127.0.0.1:7080".
	Addr string

	// MaxTextRunes is the longest comment text, in runes. Default 100.
	MaxTextRunes int
	// MaxNameRunes is the longest display name, in runes. Default 32.
	MaxNameRunes int
	// MaxBodyBytes is the largest POST body; larger ones get
	// 413 body_too_large. Default 4096.
	MaxBodyBytes int

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
}

// withDefaults returns c with every unset field at its default.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	c.MaxTextRunes = positiveOr(c.MaxTextRunes, DefaultMaxTextRunes)
	c.MaxNameRunes = positiveOr(c.MaxNameRunes, DefaultMaxNameRunes)
	c.MaxBodyBytes = positiveOr(c.MaxBodyBytes, DefaultMaxBodyBytes)
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
	return c
}

func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
