package edge

import (
	"net/netip"
	"time"
)

// Defaults for Config's zero values.
const (
	DefaultAddr              = "127.0.0.1:7070"
	DefaultHandshakeTimeout  = 5 * time.Second
	DefaultMaxHandshakeBytes = 8 << 10
	DefaultMaxMessageBytes   = 4 << 10
	DefaultPingInterval      = 25 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultSweepInterval     = time.Second
	DefaultMaxRooms          = 8
	DefaultMessageRate       = 10
	DefaultMessageBurst      = 30
	DefaultJoinRate          = 2
	DefaultJoinBurst         = 8
	DefaultSoftOutbound      = 128 << 10
	DefaultHardOutbound      = 512 << 10
	DefaultSlowTimeout       = 5 * time.Second
	DefaultDrainTimeout      = 2 * time.Second
	// DefaultMaxConnsUnknownLimit is MaxConns when the process's limit
	// of open files cannot be read.
	DefaultMaxConnsUnknownLimit = 10000
)

// Config tunes a Server. The zero value works.
type Config struct {
	// Addr is the TCP address to listen on. Empty means DefaultAddr.
	Addr string
	// Loops is the number of event loops. Zero means one per CPU.
	Loops int
	// HandshakeTimeout bounds the time from accept to a complete upgrade
	// request. Zero means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxHandshakeBytes caps the upgrade request. Zero means
	// DefaultMaxHandshakeBytes.
	MaxHandshakeBytes int
	// MaxMessageBytes caps a client message, fragments summed; larger ones
	// close the connection with 1009. Zero means DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// PingInterval is how long a connection may be silent, at the most,
	// before the server pings it: each connection draws its own silence
	// between half of it and all of it (pingAfter). Zero means
	// DefaultPingInterval.
	PingInterval time.Duration
	// IdleTimeout closes a connection that sent nothing, pongs included,
	// for this long. Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// SweepInterval is how often each loop checks its connections'
	// deadlines. Zero means DefaultSweepInterval.
	SweepInterval time.Duration
	// MaxConns caps the connections the edge holds; past it new ones are
	// answered 503 and closed before their handshake, and counted. Zero
	// means the process's limit of open files less a reserve of an
	// eighth of it (at least 64, at most 1024) for the HTTP API, Redis
	// and logs, so that the edge never runs the process out of file
	// descriptors.
	MaxConns int
	// MaxConnsPerIP caps the connections from one client address. Zero
	// means no cap: behind a load balancer or a carrier-grade NAT many
	// viewers share an address, so only the operator can pick it.
	MaxConnsPerIP int
	// ProxyProtocol lists the load balancers (addresses and CIDR
	// prefixes) that begin each connection with a PROXY protocol header,
	// version 1 or 2, carrying the client's address. A connection from
	// one of them must begin with a header (one without is closed), and
	// the address it carries is the client's for MaxConnsPerIP, logs and
	// metrics; a connection from any other address must not (one with a
	// header is closed). HandshakeTimeout covers the header too. Empty
	// means no PROXY protocol: the client is the TCP peer.
	ProxyProtocol []netip.Prefix
	// MaxRooms caps the rooms one connection watches. Zero means
	// DefaultMaxRooms.
	MaxRooms int
	// MessageRate is how many frames a second a client may send, with
	// bursts of MessageBurst (a Bilibili packet counts as a frame); a
	// client past it is closed with 1008. Every request costs the server
	// a reply or a join, so this bounds what one client makes it do.
	// Zero means DefaultMessageRate and DefaultMessageBurst.
	MessageRate  float64
	MessageBurst float64
	// JoinRate is how many joins a second one connection may make, with
	// bursts of JoinBurst; past it a join is refused with the error
	// too_many_joins. A join may start a replay: it is the dearest
	// request. Zero means DefaultJoinRate and DefaultJoinBurst.
	JoinRate  float64
	JoinBurst float64
	// SoftOutbound is the per-connection backlog of unsent bytes above
	// which frames, batches and replies alike, are skipped for that
	// client. Zero means
	// DefaultSoftOutbound.
	SoftOutbound int
	// HardOutbound is the backlog above which a viewer is disconnected
	// (1013). Zero means DefaultHardOutbound.
	HardOutbound int
	// SlowTimeout disconnects (1013) a viewer whose backlog stays above
	// SoftOutbound this long. Zero means DefaultSlowTimeout.
	SlowTimeout time.Duration
	// Tokens, when set, requires every viewer to present a valid token
	// (Authorization: Bearer, or ?token= for browsers); the connection is
	// closed with 1008 when the token expires. Nil admits anyone.
	Tokens TokenVerifier
	// AllowedOrigins lists the Origin header values a browser may connect
	// from ("https://example.com"); "*" allows any. Empty allows any, for
	// development: set it in production against cross-site WebSocket
	// hijacking. Clients that send no Origin (not browsers) are allowed.
	AllowedOrigins []string
	// DrainPeriod spreads the close frames of a shutdown over this long,
	// so that viewers reconnect to other edges gradually, not all in the
	// same second. Zero closes every connection at once.
	DrainPeriod time.Duration
	// DrainTimeout bounds how long shutdown waits, after DrainPeriod, for
	// close frames to be written. Zero means DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Deflate tunes permessage-deflate on /ws.
	Deflate DeflateConfig
	// Bili tunes the Bilibili-compatible protocol on /sub.
	Bili BiliConfig
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MaxHandshakeBytes <= 0 {
		c.MaxHandshakeBytes = DefaultMaxHandshakeBytes
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.MaxConns <= 0 {
		c.MaxConns = defaultMaxConns(fdLimit())
	}
	if c.MaxRooms <= 0 {
		c.MaxRooms = DefaultMaxRooms
	}
	if c.MessageRate <= 0 {
		c.MessageRate = DefaultMessageRate
	}
	if c.MessageBurst <= 0 {
		c.MessageBurst = DefaultMessageBurst
	}
	if c.JoinRate <= 0 {
		c.JoinRate = DefaultJoinRate
	}
	if c.JoinBurst <= 0 {
		c.JoinBurst = DefaultJoinBurst
	}
	if c.SoftOutbound <= 0 {
		c.SoftOutbound = DefaultSoftOutbound
	}
	if c.HardOutbound <= 0 {
		c.HardOutbound = DefaultHardOutbound
	}
	if c.SlowTimeout <= 0 {
		c.SlowTimeout = DefaultSlowTimeout
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	c.Deflate = c.Deflate.withDefaults()
	c.Bili = c.Bili.withDefaults()
	return c
}
