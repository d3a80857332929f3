package policy

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/danmu-dev/danmu/rdb"
)

// Redis is the Store of a fleet: every operation is one Lua script or
// command, atomic in Redis, and timed by the Redis server's clock so that
// the nodes' clocks need not agree. Take sends its buckets in one round
// trip. It works on a single Redis and on Redis Cluster. Keys follow rdb's
// scheme: "<prefix>{<room>}:<name>" for a room's state, in the slot of the
// room's stream, and "<prefix><name>" for the rest.
type Redis struct {
	// Immutable after NewRedis.
	client *rdb.Client
}

// NewRedis returns the Store kept in the Redis of client, which stays the
// caller's to close once the store is no longer used.
func NewRedis(client *rdb.Client) *Redis { return &Redis{client: client} }

func (r *Redis) key(k Key) string {
	if k.Room == "" {
		return r.client.Key(k.Name)
	}
	return r.client.RoomKey(k.Room, k.Name)
}

// script is a Lua script run with EVALSHA, and with EVAL (which loads it)
// when the server does not have it yet. rueidis.Lua's ExecMulti loads the
// script on every node at each call, too much for every request.
type script struct {
	src string
	sha string
}

func newScript(src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{src: src, sha: hex.EncodeToString(sum[:])}
}

// run runs the script once per element of keys with the matching args, in
// one round trip (per cluster node), and returns the integer replies.
func (s *script) run(ctx context.Context, c *rdb.Client, keys [][]string, args [][]string) ([]int64, error) {
	cmds := make(rueidis.Commands, len(keys))
	for i := range keys {
		cmds[i] = c.B().Evalsha().Sha1(s.sha).Numkeys(int64(len(keys[i]))).Key(keys[i]...).Arg(args[i]...).Build()
	}
	out := make([]int64, len(keys))
	var retry []int
	for i, res := range c.DoMulti(ctx, cmds...) {
		if err, ok := rueidis.IsRedisErr(res.Error()); ok && err.IsNoScript() {
			retry = append(retry, i)
			continue
		}
		n, err := res.AsInt64()
		if err != nil {
			return nil, rdb.Unavailable("EVALSHA", err)
		}
		out[i] = n
	}
	if len(retry) == 0 {
		return out, nil
	}
	cmds = cmds[:0]
	for _, i := range retry {
		cmds = append(cmds, c.B().Eval().Script(s.src).Numkeys(int64(len(keys[i]))).Key(keys[i]...).Arg(args[i]...).Build())
	}
	for j, res := range c.DoMulti(ctx, cmds...) {
		n, err := res.AsInt64()
		if err != nil {
			return nil, rdb.Unavailable("EVAL", err)
		}
		out[retry[j]] = n
	}
	return out, nil
}

// takeScript is the generic cell rate algorithm on KEYS[1], which holds
// the bucket's theoretical arrival time in microseconds of the server
// clock. ARGV: the refill interval in microseconds, the burst. It returns
// 0 when a token was taken, else the wait in microseconds. Times are
// written with %.0f: Lua numbers are doubles, and converting one of 16
// digits to a string any other way loses digits.
var takeScript = newScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = tat + interval - tonumber(ARGV[2]) * interval - now
if wait > 0 then return wait end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
return 0
`)

// refundScript gives back the token takeScript took from KEYS[1]. ARGV:
// the refill interval in microseconds.
var refundScript = newScript(`
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
tat = tat - tonumber(ARGV[1])
if tat <= now then
	redis.call('DEL', KEYS[1])
	return 0
end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
return 0
`)

// Take implements Store. The buckets are taken from in one round trip;
// the keys of a user and of a room are in different cluster slots, so
// when one refuses, a second round trip refunds the others.
func (r *Redis) Take(ctx context.Context, buckets []Bucket) (time.Duration, error) {
	keys := make([][]string, 0, len(buckets))
	args := make([][]string, 0, len(buckets))
	for _, b := range buckets {
		if !b.Limit.Enabled() {
			continue
		}
		keys = append(keys, []string{r.key(b.Key)})
		args = append(args, []string{
			strconv.FormatInt(max(b.Limit.interval().Microseconds(), 1), 10),
			strconv.FormatInt(b.Limit.burst(), 10),
		})
	}
	if len(keys) == 0 {
		return 0, nil
	}
	waits, err := takeScript.run(ctx, r.client, keys, args)
	if err != nil {
		return 0, err
	}
	var wait int64
	for _, w := range waits {
		wait = max(wait, w)
	}
	if wait == 0 {
		return 0, nil
	}
	var refundKeys, refundArgs [][]string
	for i, w := range waits {
		if w == 0 {
			refundKeys = append(refundKeys, keys[i])
			refundArgs = append(refundArgs, args[i][:1])
		}
	}
	if len(refundKeys) > 0 {
		if _, err := refundScript.run(ctx, r.client, refundKeys, refundArgs); err != nil {
			return 0, err
		}
	}
	return time.Duration(wait) * time.Microsecond, nil
}

// claimScript marks KEYS[1] for ARGV[1] milliseconds unless it is marked.
// It returns 0 when it marked the key, else the milliseconds left.
var claimScript = newScript(`
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then return 1 end
return left
`)

// Claim implements Store.
func (r *Redis) Claim(ctx context.Context, key Key, ttl time.Duration) (time.Duration, error) {
	left, err := claimScript.run(ctx, r.client, [][]string{{r.key(key)}}, [][]string{{millis(ttl)}})
	if err != nil {
		return 0, err
	}
	return time.Duration(left[0]) * time.Millisecond, nil
}

// Marked implements Store.
func (r *Redis) Marked(ctx context.Context, key Key) (time.Duration, error) {
	left, err := r.client.Do(ctx, r.client.B().Pttl().Key(r.key(key)).Build()).AsInt64()
	if err != nil {
		return 0, rdb.Unavailable("PTTL", err)
	}
	if left <= 0 {
		return 0, nil
	}
	return time.Duration(left) * time.Millisecond, nil
}

// SetSlowMode implements Store.
func (r *Redis) SetSlowMode(ctx context.Context, room string, interval time.Duration) error {
	key := r.key(slowModeKey(room))
	cmd := r.client.B().Del().Key(key).Build()
	if interval > 0 {
		cmd = r.client.B().Set().Key(key).Value(millis(interval)).Build()
	}
	if err := r.client.Do(ctx, cmd).Error(); err != nil {
		return rdb.Unavailable("set slow mode", err)
	}
	return nil
}

// paceScript reads room's slow mode interval (KEYS[1], milliseconds) and
// the time of uid's last comment (KEYS[2], server milliseconds). It
// returns the milliseconds left, or 0 after recording the comment.
var paceScript = newScript(`
local interval = tonumber(redis.call('GET', KEYS[1])) or 0
if interval <= 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[2]))
if last and now - last < interval then return interval - (now - last) end
redis.call('SET', KEYS[2], string.format('%.0f', now), 'PX', string.format('%.0f', interval))
return 0
`)

// Pace implements Store.
func (r *Redis) Pace(ctx context.Context, room, uid string) (time.Duration, error) {
	keys := [][]string{{r.key(slowModeKey(room)), r.key(paceKey(room, uid))}}
	left, err := paceScript.run(ctx, r.client, keys, [][]string{nil})
	if err != nil {
		return 0, err
	}
	return time.Duration(left[0]) * time.Millisecond, nil
}

// Ban implements Store.
func (r *Redis) Ban(ctx context.Context, room, uid string, d time.Duration) error {
	cmd := r.client.B().Set().Key(r.key(banKey(room, uid))).Value("1").PxMilliseconds(max(d.Milliseconds(), 1)).Build()
	if err := r.client.Do(ctx, cmd).Error(); err != nil {
		return rdb.Unavailable("ban", err)
	}
	return nil
}

// Unban implements Store.
func (r *Redis) Unban(ctx context.Context, room, uid string) error {
	if err := r.client.Do(ctx, r.client.B().Del().Key(r.key(banKey(room, uid))).Build()).Error(); err != nil {
		return rdb.Unavailable("unban", err)
	}
	return nil
}

// Banned implements Store.
func (r *Redis) Banned(ctx context.Context, room, uid string) (time.Duration, error) {
	return r.Marked(ctx, banKey(room, uid))
}

// millis formats d in whole milliseconds, at least 1 (PX 0 is an error).
func millis(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10)
}
