package rdb

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// flushDelay is how long the client's writer waits after sending, when
// more than one command is in flight, before it sends again: one write then
// carries what arrived meanwhile. Blocking reads and a lone caller are not
// delayed. With 64 posts in flight it took Redis from 4.8 to 14 commands
// per read and ingest's CPU per comment down by a tenth, for at most 0.2 ms
// more per append (docs/performance.md, "Ingest with Redis: fewer writes").
const flushDelay = 200 * time.Microsecond

// DefaultKeyPrefix begins every key when Config.KeyPrefix is empty.
const DefaultKeyPrefix = "danmu:"

// versionTimeout bounds New's check of the server's version.
const versionTimeout = 3 * time.Second

// Config configures the connection to Redis. Only Addrs is required.
type Config struct {
	// Addrs are "host:port" addresses of a Redis server, or of one or more
	// nodes of a Redis Cluster: a cluster is detected and its other nodes
	// discovered. Redis 7.0 or newer is required.
	Addrs []string
	// Username and Password authenticate with Redis ACLs (AUTH); both
	// empty means no authentication.
	Username string
	Password string
	// KeyPrefix begins every key (see Client.RoomKey and Client.Key). It
	// must not contain braces, which would make a hash tag of their own.
	// Empty means DefaultKeyPrefix.
	KeyPrefix string
	// TLS, when set, makes every connection to Redis a TLS one with this
	// configuration (CA, client certificate). Nil means plain TCP.
	TLS *tls.Config
}

// Client is the connection of a process to a Redis server or a Redis
// Cluster, shared by every part that keeps state there. Its embedded
// rueidis.Client sends their concurrent commands in the same
// auto-pipelined writes. It is safe for concurrent use. Whoever made it
// closes it (Close), once no part uses it any more; calls after Close fail
// with an error that Unavailable turns into ErrUnavailable.
type Client struct {
	rueidis.Client

	// Immutable after New.
	prefix string
}

// New connects to Redis and checks that it is 7.0 or newer. A server that
// cannot be reached fails with ErrUnavailable.
func New(cfg Config) (*Client, error) {
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("rdb: Config.Addrs is empty")
	}
	if strings.ContainsAny(cfg.KeyPrefix, "{}") {
		return nil, fmt.Errorf("rdb: Config.KeyPrefix %q contains a brace", cfg.KeyPrefix)
	}
	prefix := cfg.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: cfg.Addrs,
		Username:    cfg.Username,
		Password:    cfg.Password,
		TLSConfig:   cfg.TLS,
		// Nothing here reads through client-side caching; tracking would
		// only cost invalidation traffic.
		DisableCache: true,
		// Concurrent commands wait up to flushDelay after a flush, so
		// that one write to Redis carries many of them.
		MaxFlushDelay: flushDelay,
	})
	if err != nil {
		return nil, Unavailable(fmt.Sprintf("connect to %v", cfg.Addrs), err)
	}
	c := &Client{Client: client, prefix: prefix}
	if err := c.checkVersion(); err != nil {
		client.Close()
		return nil, err
	}
	return c, nil
}

// checkVersion fails unless the server is Redis 7.0 or newer: the stream's
// reads need XRANGE's exclusive bounds (6.2) and XINFO STREAM's
// entries-added (7.0).
func (c *Client) checkVersion() error {
	ctx, cancel := context.WithTimeout(context.Background(), versionTimeout)
	defer cancel()
	info, err := c.Do(ctx, c.B().Info().Section("server").Build()).ToString()
	if err != nil {
		return Unavailable("INFO server", err)
	}
	version := ""
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
			version = strings.TrimSpace(v)
		}
	}
	major, _, _ := strings.Cut(version, ".")
	if n, err := strconv.Atoi(major); err != nil || n < 7 {
		return fmt.Errorf("rdb: Redis %q is too old: danmu needs 7.0 or newer", version)
	}
	return nil
}

// Cluster reports whether the client talks to a Redis Cluster.
func (c *Client) Cluster() bool { return c.Mode() == rueidis.ClientModeCluster }
