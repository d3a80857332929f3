package presence

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/danmu-dev/danmu/rdb"
)

// DefaultTTL is Config.TTL when it is zero.
const DefaultTTL = 15 * time.Second

// onlineName names a room's online hash among the room's keys
// (rdb.Client.RoomKey): "<prefix>{<room>}:online".
const onlineName = "online"

// Config configures a Redis presence. Its zero value works; the connection
// is the rdb.Client given to NewRedis.
type Config struct {
	// Node names this node in the counts. Empty means host-pid-time.
	Node string
	// TTL is how long a published count stays valid without a refresh;
	// Run refreshes every TTL/3. Zero means DefaultTTL.
	TTL time.Duration
}

// Redis publishes this node's counts and reads the fleet's. Each room has
// one hash, <prefix>{<room>}:online, whose fields are nodes and whose
// values are "<count>:<expiry in Unix ms>". Expired fields are ignored by
// readers and deleted when seen; the whole hash expires when no node
// refreshes it. Calls fail with rdb.ErrUnavailable when Redis does.
type Redis struct {
	// Immutable after NewRedis.
	client *rdb.Client
	cfg    Config

	mu struct {
		sync.Mutex
		published map[string]bool // rooms this node has a field in
	}
}

// NewRedis returns the presence kept in the Redis of client, which stays
// the caller's to close once Run has returned.
func NewRedis(client *rdb.Client, cfg Config) *Redis {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Node == "" {
		host, _ := os.Hostname()
		cfg.Node = fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano())
	}
	r := &Redis{client: client, cfg: cfg}
	r.mu.published = make(map[string]bool)
	return r
}

func (r *Redis) key(room string) string { return r.client.RoomKey(room, onlineName) }

// Publish records counts as this node's viewers per room, valid for TTL,
// and removes this node from rooms it no longer has viewers in.
func (r *Redis) Publish(ctx context.Context, counts map[string]int) error {
	expiry := strconv.FormatInt(time.Now().Add(r.cfg.TTL).UnixMilli(), 10)
	r.mu.Lock()
	previous := maps.Clone(r.mu.published)
	r.mu.Unlock()

	cmds := make(rueidis.Commands, 0, 2*len(counts)+len(previous))
	now := make(map[string]bool, len(counts))
	for room, n := range counts {
		if n <= 0 {
			continue
		}
		now[room] = true
		key := r.key(room)
		cmds = append(cmds,
			r.client.B().Hset().Key(key).FieldValue().FieldValue(r.cfg.Node, strconv.Itoa(n)+":"+expiry).Build(),
			r.client.B().Pexpire().Key(key).Milliseconds(2*r.cfg.TTL.Milliseconds()).Build())
	}
	for room := range previous {
		if !now[room] {
			cmds = append(cmds, r.client.B().Hdel().Key(r.key(room)).Field(r.cfg.Node).Build())
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	for _, res := range r.client.DoMulti(ctx, cmds...) {
		if err := res.Error(); err != nil {
			return rdb.Unavailable("publish", err)
		}
	}
	r.mu.Lock()
	r.mu.published = now
	r.mu.Unlock()
	return nil
}

// Online returns the viewers of room over every live node.
func (r *Redis) Online(ctx context.Context, room string) (int, error) {
	counts, err := r.OnlineMany(ctx, []string{room})
	return counts[room], err
}

// OnlineMany returns the viewers of each room over every live node.
func (r *Redis) OnlineMany(ctx context.Context, rooms []string) (map[string]int, error) {
	cmds := make(rueidis.Commands, len(rooms))
	for i, room := range rooms {
		cmds[i] = r.client.B().Hgetall().Key(r.key(room)).Build()
	}
	now := time.Now().UnixMilli()
	counts := make(map[string]int, len(rooms))
	var stale rueidis.Commands
	for i, res := range r.client.DoMulti(ctx, cmds...) {
		fields, err := res.AsStrMap()
		if err != nil && !rueidis.IsRedisNil(err) {
			return nil, rdb.Unavailable("online", err)
		}
		for node, value := range fields {
			n, expiry, ok := parseValue(value)
			if ok && expiry > now {
				counts[rooms[i]] += n
			} else {
				stale = append(stale, r.client.B().Hdel().Key(r.key(rooms[i])).Field(node).Build())
			}
		}
	}
	if len(stale) > 0 {
		// Best effort: a reader that fails to delete leaves the field for
		// the next one, and expired fields are ignored anyway.
		r.client.DoMulti(ctx, stale...)
	}
	return counts, nil
}

// Run publishes local() every TTL/3 until ctx ends, then withdraws this
// node's counts.
func (r *Redis) Run(ctx context.Context, local func() map[string]int, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	tick := time.NewTicker(r.cfg.TTL / 3)
	defer tick.Stop()
	for {
		// Not derived from ctx: a publish cut off by the stop could still
		// reach Redis after the withdrawal below and leave this node's
		// counts behind until they expire. It is bounded by its timeout.
		pctx, cancel := context.WithTimeout(context.Background(), r.cfg.TTL/3)
		err := r.Publish(pctx, local())
		cancel()
		if err != nil && ctx.Err() == nil {
			// The next tick retries; the counts expire meanwhile, which
			// is the honest answer while Redis cannot be reached.
			logger.Warn("presence: publishing online counts failed", "err", err)
		}
		select {
		case <-ctx.Done():
			wctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return r.Publish(wctx, nil)
		case <-tick.C:
		}
	}
}

func parseValue(v string) (count int, expiry int64, ok bool) {
	c, e, found := strings.Cut(v, ":")
	if !found {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(c)
	exp, err2 := strconv.ParseInt(e, 10, 64)
	return n, exp, err1 == nil && err2 == nil
}
