package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime"
	"strconv"
	"strings"

	"github.com/danmu-dev/danmu/admin"
	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/edge"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/ingest"
	"github.com/danmu-dev/danmu/presence"
	"github.com/danmu-dev/danmu/rdb"
	"github.com/danmu-dev/danmu/stream"
)

// options is everything a danmu process is configured with. Each command
// registers the flag groups of the parts it runs.
type options struct {
	edge        edge.Config
	ingest      ingest.Config
	fanout      fanout.Config
	memory      stream.MemoryConfig
	redis       rdb.Config // the one connection to Redis, empty Addrs for none
	redisStream stream.RedisConfig
	presence    presence.Config
	auth        auth.Config
	keys        keyOptions
	filter      filterOptions
	webhooks    webhookOptions
	admin       admin.Config
	profile     profileRates
	logLevel    slog.Level
	logFormat   string
	printConfig bool
	// viewerTokens requires a token of every viewer (edge.Config.Tokens).
	viewerTokens bool
	// public are the URLs clients reach the node at through the load
	// balancer (public.go).
	public publicURLs
	// proxyProtocol lists the load balancers that send a PROXY protocol
	// header, for the edge and the HTTP API alike.
	proxyProtocol prefixList
	redisTLS      redisTLSOptions
}

// addrList is a comma-separated list of addresses.
type addrList []string

func (a *addrList) String() string { return strings.Join(*a, ",") }

func (a *addrList) Set(s string) error {
	*a = nil
	for _, addr := range strings.Split(s, ",") {
		if addr = strings.TrimSpace(addr); addr != "" {
			*a = append(*a, addr)
		}
	}
	return nil
}

// prefixList is a comma-separated list of IP addresses and CIDR prefixes;
// an address stands for itself alone (a /32 or /128). IPv4-mapped IPv6
// entries become IPv4, as the addresses they are matched against do.
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	s := make([]string, len(*p))
	for i, prefix := range *p {
		s[i] = prefix.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(s string) error {
	list, err := parseList(s, parsePrefix)
	if err != nil {
		return err
	}
	*p = list
	return nil
}

// parseList parses the comma-separated list s with parse, entry by entry,
// leaving out empty entries.
func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var list []T
	for entry := range strings.SplitSeq(s, ",") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		v, err := parse(entry)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, nil
}

// parsePrefix parses an IP address or a CIDR prefix, masked.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a CIDR prefix", s)
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	prefix, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a CIDR prefix", s)
	}
	if addr := prefix.Addr(); addr.Is4In6() && prefix.Bits() >= 96 {
		prefix = netip.PrefixFrom(addr.Unmap(), prefix.Bits()-96)
	}
	return prefix.Masked(), nil
}

func streamFlags(fs *flag.FlagSet, o *options) {
	fs.Var((*addrList)(&o.redis.Addrs), "redis", "Redis or Redis Cluster addresses, comma-separated (host:port,...); empty runs the embedded in-process stream")
	fs.StringVar(&o.redis.Username, "redis-username", "", "Redis ACL user name")
	fs.StringVar(&o.redis.Password, "redis-password", "", "Redis password (prefer the environment variable)")
	redisTLSFlags(fs, o)
	fs.StringVar(&o.redis.KeyPrefix, "redis-prefix", rdb.DefaultKeyPrefix, "prefix of every Redis key")
	fs.IntVar(&o.memory.MaxLen, "retention", stream.DefaultMaxLen, "messages kept per room in the stream (approximately, with Redis)")
	fs.DurationVar(&o.redisStream.TTL, "stream-ttl", stream.DefaultStreamTTL, "with Redis: a room's stream expires this long after its last message (0: never)")
	fs.IntVar(&o.memory.MaxRooms, "max-rooms", stream.DefaultMaxRooms, "embedded stream: most rooms holding messages at once; a post that would start another gets 503 too_many_rooms")
	fs.DurationVar(&o.memory.RoomIdle, "room-idle", stream.DefaultRoomIdle, "embedded stream: a room nobody posts to or watches for this long is dropped with its messages")
}

func edgeFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.edge.Addr, "ws-addr", edge.DefaultAddr, "WebSocket edge listen address")
	fs.IntVar(&o.edge.Loops, "loops", 0, "event loops of the edge (0: one per CPU)")
	fs.DurationVar(&o.edge.HandshakeTimeout, "handshake-timeout", edge.DefaultHandshakeTimeout, "time allowed from connect to a complete upgrade request")
	fs.IntVar(&o.edge.MaxHandshakeBytes, "max-handshake-bytes", edge.DefaultMaxHandshakeBytes, "largest upgrade request")
	fs.Int64Var(&o.edge.MaxMessageBytes, "max-message-bytes", edge.DefaultMaxMessageBytes, "largest client WebSocket message (closes with 1009 above)")
	fs.DurationVar(&o.edge.PingInterval, "ping-interval", edge.DefaultPingInterval, "ping a viewer silent for this long at the most (each connection: between half of it and all of it)")
	fs.DurationVar(&o.edge.IdleTimeout, "idle-timeout", edge.DefaultIdleTimeout, "close a viewer silent (pongs included) for this long")
	fs.IntVar(&o.edge.MaxConns, "max-conns", 0, "connections the edge holds; more are refused with 503 (0: the open-files limit less a reserve for the HTTP API and Redis)")
	fs.IntVar(&o.edge.MaxConnsPerIP, "max-conns-per-ip", 0, "connections from one client address; more are refused with 503 (0: no cap)")
	fs.Float64Var(&o.edge.MessageRate, "message-rate", edge.DefaultMessageRate, "frames a second one WebSocket client may send (closes with 1008 above)")
	fs.Float64Var(&o.edge.MessageBurst, "message-burst", edge.DefaultMessageBurst, "burst of frames above --message-rate")
	fs.Float64Var(&o.edge.JoinRate, "join-rate", edge.DefaultJoinRate, "joins a second one WebSocket connection may make (refused with too_many_joins above)")
	fs.Float64Var(&o.edge.JoinBurst, "join-burst", edge.DefaultJoinBurst, "burst of joins above --join-rate")
	fs.IntVar(&o.edge.MaxRooms, "max-rooms-per-conn", edge.DefaultMaxRooms, "rooms one WebSocket connection may watch")
	fs.IntVar(&o.edge.SoftOutbound, "soft-outbound-bytes", edge.DefaultSoftOutbound, "skip frames for a viewer with more unsent bytes than this")
	fs.IntVar(&o.edge.HardOutbound, "hard-outbound-bytes", edge.DefaultHardOutbound, "disconnect (1013) a viewer with more unsent bytes than this")
	fs.DurationVar(&o.edge.SlowTimeout, "slow-timeout", edge.DefaultSlowTimeout, "disconnect (1013) a viewer whose backlog stays above --soft-outbound-bytes this long")
	o.edge.Deflate.Level = edge.DefaultDeflateLevel
	o.edge.Bili.ZlibLevel, o.edge.Bili.BrotliLevel = edge.DefaultBiliZlibLevel, edge.DefaultBiliBrotliLevel
	fs.Var(invertedBool{&o.edge.Deflate.Off}, "ws-deflate", "negotiate permessage-deflate on /ws with clients that offer it (browsers do)")
	fs.IntVar(&o.edge.Deflate.MinBytes, "ws-deflate-min-bytes", edge.DefaultDeflateMinBytes, "smallest /ws frame payload compressed; smaller ones go out as they are")
	fs.Var(&rangedInt{&o.edge.Deflate.Level, 1, 9}, "ws-deflate-level", "permessage-deflate level, 1 (fastest) to 9 (smallest)")
	fs.DurationVar(&o.edge.Bili.EnterTimeout, "sub-enter-timeout", edge.DefaultBiliEnterTimeout, "close a /sub connection whose enter packet has not come this long after the upgrade")
	fs.DurationVar(&o.edge.Bili.IdleTimeout, "sub-idle-timeout", edge.DefaultBiliIdleTimeout, "close a /sub connection silent for this long (its clients heartbeat every 30s)")
	fs.Var(&rangedInt{&o.edge.Bili.ZlibLevel, 1, 9}, "sub-zlib-level", "zlib level of /sub protover 2, 1 (fastest) to 9 (smallest)")
	fs.Var(&rangedInt{&o.edge.Bili.BrotliLevel, 1, 11}, "sub-brotli-level", "brotli quality of /sub protover 3, 1 (fastest) to 11 (smallest)")
	fs.Var((*addrList)(&o.edge.AllowedOrigins), "allowed-origins", "Origin values browsers may open a WebSocket from, comma-separated (https://example.com,...); empty allows any: set it in production")
	fs.DurationVar(&o.edge.DrainPeriod, "drain-period", 0, "on shutdown, spread the viewers' closes (1001) over this long so they reconnect to other edges gradually (0: all at once)")
	fs.DurationVar(&o.edge.DrainTimeout, "drain-timeout", edge.DefaultDrainTimeout, "how long shutdown waits, after --drain-period, for close frames to be written")
	fs.DurationVar(&o.fanout.FlushInterval, "flush-interval", fanout.DefaultFlushInterval, "shortest flush window: time between two frames of one room")
	fs.DurationVar(&o.fanout.MaxFlushInterval, "max-flush-interval", fanout.DefaultMaxFlushInterval, "longest flush window of a busy room")
	fs.IntVar(&o.fanout.FrameBudget, "frame-budget", fanout.DefaultFrameBudget, "writes per second (frames x viewers) the active rooms share; sets each room's flush window (halved while the event loops fall behind it)")
	fs.DurationVar(&o.fanout.DedupWindow, "dedup-window", fanout.DefaultDedupWindow, "how long a comment's client id (cid) is remembered to drop retried copies")
	fs.IntVar(&o.fanout.MaxBatch, "max-batch", fanout.DefaultMaxBatch, "most messages in one frame; older ones are dropped and counted")
	fs.IntVar(&o.fanout.ReplayLimit, "replay-limit", fanout.DefaultReplayLimit, "most messages replayed to a viewer joining with since")
	fs.IntVar(&o.fanout.ReplayReads, "replay-reads", fanout.DefaultReplayReads, "stream reads for replays in flight at once (one per room; viewers resuming from one position share one)")
	fs.IntVar(&o.fanout.ReplayCache, "replay-cache", fanout.DefaultReplayCache, "newest entries of each followed room kept in memory for replays without a stream read (-1: none)")
	fs.DurationVar(&o.fanout.RoomLinger, "room-linger", fanout.DefaultRoomLinger, "keep following a room this long after its last local viewer left")
	fs.DurationVar(&o.fanout.OnlineInterval, "online-interval", fanout.DefaultOnlineInterval, "how often viewers are sent their rooms' online counts")
	fs.DurationVar(&o.presence.TTL, "online-ttl", presence.DefaultTTL, "with Redis: an edge's online counts expire this long after its last refresh")
}

// invertedBool is a boolean flag that sets the opposite of its value: the
// flag says what is on, the Config field what is off.
type invertedBool struct{ off *bool }

func (b invertedBool) String() string {
	if b.off == nil {
		return "true"
	}
	return strconv.FormatBool(!*b.off)
}

func (b invertedBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.off = !v
	return nil
}

func (b invertedBool) IsBoolFlag() bool { return true }

// rangedInt is an integer flag that must lie in [min, max].
type rangedInt struct {
	p        *int
	min, max int
}

func (r *rangedInt) String() string {
	if r == nil || r.p == nil {
		return "0"
	}
	return strconv.Itoa(*r.p)
}

func (r *rangedInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return err
	}
	if v < r.min || v > r.max {
		return fmt.Errorf("%d is out of range: want %d to %d", v, r.min, r.max)
	}
	*r.p = v
	return nil
}

func ingestFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.ingest.Addr, "http-addr", ingest.DefaultAddr, "HTTP API listen address")
	fs.IntVar(&o.ingest.MaxTextRunes, "max-text-runes", ingest.DefaultMaxTextRunes, "longest comment text, in characters")
	fs.IntVar(&o.ingest.MaxBodyBytes, "max-body-bytes", ingest.DefaultMaxBodyBytes, "largest POST body")
	fs.DurationVar(&o.ingest.AppendTimeout, "append-timeout", ingest.DefaultAppendTimeout, "a comment not stored within this gets 503")
	fs.DurationVar(&o.ingest.QueryTimeout, "query-timeout", ingest.DefaultQueryTimeout, "a history or online query not answered within this gets 503")
}

func opsFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.admin.Addr, "admin-addr", admin.DefaultAddr, "operator address: /metrics (Prometheus), /healthz, /readyz, /debug/pprof/; keep it private (empty: off)")
	fs.BoolVar(&o.printConfig, "print-config", false, "print the effective configuration (secrets redacted) and exit")
	fs.IntVar(&o.profile.mutexFraction, "mutex-profile-fraction", 0, "report 1 in N mutex contention events to /debug/pprof/mutex (0: off)")
	fs.IntVar(&o.profile.blockRate, "block-profile-rate", 0, "sample one blocking event per this many nanoseconds blocked for /debug/pprof/block (0: off)")
}

// profileRates are the runtime's mutex and block profiling rates, off by
// default: scripts/profile.sh turns them on (docs/performance.md,
// "Profiling").
type profileRates struct {
	mutexFraction int
	blockRate     int
}

func (p profileRates) apply() {
	runtime.SetMutexProfileFraction(p.mutexFraction)
	runtime.SetBlockProfileRate(p.blockRate)
}

func logFlags(fs *flag.FlagSet, o *options) {
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
}

// finish derives the settings that several flags feed.
func (o *options) finish() {
	o.edge.ProxyProtocol = o.proxyProtocol
	o.ingest.ProxyProtocol = o.proxyProtocol
	o.redisStream.MaxLen = int64(o.memory.MaxLen)
	if o.redisStream.TTL == 0 {
		o.redisStream.TTL = -1 // --stream-ttl 0: streams never expire
	}
}

func newLogger(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: want text or json", format)}
}
