package ingest

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/rdb"
	"github.com/redis/rueidis"
)

// sharedRedis is the Redis every test run needs (make test-deps).
const sharedRedis = "127.0.0.1:6379"

// redisPolicy returns a policy.Redis on sharedRedis under prefix, on a
// client closed when the test ends.
func redisPolicy(t *testing.T, prefix string) *policy.Redis {
	t.Helper()
	client, err := rdb.New(rdb.Config{Addrs: []string{sharedRedis}, KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return policy.NewRedis(client)
}

// deleteKeys deletes the keys under prefix when the test ends.
func deleteKeys(t *testing.T, prefix string) {
	t.Cleanup(func() {
		client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{sharedRedis}, DisableCache: true})
		if err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
			return
		}
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, err := client.Do(ctx, client.B().Keys().Pattern(prefix+"*").Build()).AsStrSlice()
		if err != nil || len(keys) == 0 {
			return
		}
		client.Do(ctx, client.B().Del().Key(keys...).Build())
	})
}

// TestSharedPolicyRedis runs two ingest servers sharing one policy.Redis
// keyspace, as the nodes of a fleet do, and checks every rule holds
// across them: user and room limits, bans, slow mode and spam windows.
func TestSharedPolicyRedis(t *testing.T) {
	prefix := "ingesttest:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	deleteKeys(t, prefix)
	mem := newMemory()
	cfg := authConfig(t, Config{Policy: policy.Config{
		UserLimit:  slowLimit,
		RoomLimit:  policy.Limit{Rate: 0.1, Burst: 6},
		SpamWindow: time.Minute,
	}})
	nodes := make([]*testServer, 2)
	for i := range nodes {
		cfg.Policy.Store = redisPolicy(t, prefix)
		nodes[i] = startServer(t, cfg, mem, nil, nil)
	}
	a, b := nodes[0], nodes[1]
	admin := mint(t, "mod", "", auth.RoleAdmin)
	u1, u2, u3 := mint(t, "u1", "", ""), mint(t, "u2", "", ""), mint(t, "u3", "", "")

	// u1's bucket (burst 2) is shared.
	a.postAs(t, "r", u1, `{"text":"one"}`)
	b.postAs(t, "r", u1, `{"text":"two"}`)
	for name, ts := range map[string]*testServer{"a": a, "b": b} {
		r := ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", u1, `{"text":"three"}`)
		checkError(t, "u1's third post on "+name, r, http.StatusTooManyRequests, CodeRateLimited)
		checkRetryAfter(t, "u1's third post on "+name, r, 1, 2)
	}

	// A ban set through a holds on b.
	if r := a.send(t, http.MethodPut, "/v1/rooms/r/bans/u2", admin, `{"seconds":600}`); r.status != http.StatusNoContent {
		t.Fatalf("ban on a: %d %s", r.status, r.body)
	}
	checkError(t, "banned u2 on b", b.send(t, http.MethodPost, "/v1/rooms/r/danmaku", u2, `{"text":"hi"}`), http.StatusForbidden, CodeBanned)
	if r := b.send(t, http.MethodDelete, "/v1/rooms/r/bans/u2", admin, ""); r.status != http.StatusNoContent {
		t.Fatalf("unban on b: %d %s", r.status, r.body)
	}
	a.postAs(t, "r", u2, `{"text":"unbanned"}`)

	// The spam window is shared.
	a.postAs(t, "s", u3, `{"text":"same"}`)
	checkError(t, "u3 repeating on b", b.send(t, http.MethodPost, "/v1/rooms/s/danmaku", u3, `{"text":"SAME"}`), http.StatusTooManyRequests, CodeSpam)

	// Slow mode set through b holds on a.
	if r := b.send(t, http.MethodPut, "/v1/rooms/slow/slowmode", admin, `{"seconds":30}`); r.status != http.StatusNoContent {
		t.Fatalf("slow mode on b: %d %s", r.status, r.body)
	}
	u4 := mint(t, "u4", "", "")
	b.postAs(t, "slow", u4, `{"text":"first"}`)
	r := a.send(t, http.MethodPost, "/v1/rooms/slow/danmaku", u4, `{"text":"second"}`)
	checkError(t, "u4 under slow mode on a", r, http.StatusTooManyRequests, CodeSlowMode)
	checkRetryAfter(t, "u4 under slow mode on a", r, 29, 30)

	// Room r's ceiling (burst 6) has had u1's 2, u2's 1: three more fit,
	// from either node, then neither takes one.
	for i, ts := range []*testServer{a, b, a} {
		ts.postAs(t, "r", mint(t, "x"+strconv.Itoa(i), "", ""), `{"text":"fill"}`)
	}
	for name, ts := range map[string]*testServer{"a": a, "b": b} {
		checkError(t, "room r full on "+name, ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", mint(t, "y", "", ""), `{"text":"over"}`),
			http.StatusTooManyRequests, CodeRateLimited)
	}
}

// TestPolicyUnavailable checks a post gets 503 when the policy state
// cannot be reached, and nothing is stored.
func TestPolicyUnavailable(t *testing.T) {
	mem := newMemory()
	store := unreachablePolicy{}
	ts := startServer(t, authConfig(t, Config{Policy: policy.Config{Store: store, UserLimit: slowLimit}}), mem, nil, nil)
	checkError(t, "post", ts.send(t, http.MethodPost, "/v1/rooms/r/danmaku", mint(t, "u1", "", ""), `{"text":"hi"}`),
		http.StatusServiceUnavailable, CodeUnavailable)
	admin := mint(t, "mod", "", auth.RoleAdmin)
	checkError(t, "ban", ts.send(t, http.MethodPut, "/v1/rooms/r/bans/u1", admin, `{"seconds":5}`), http.StatusServiceUnavailable, CodeUnavailable)
	checkError(t, "unban", ts.send(t, http.MethodDelete, "/v1/rooms/r/bans/u1", admin, ""), http.StatusServiceUnavailable, CodeUnavailable)
	checkError(t, "slow mode", ts.send(t, http.MethodPut, "/v1/rooms/r/slowmode", admin, `{"seconds":5}`), http.StatusServiceUnavailable, CodeUnavailable)
	if last, err := mem.Last(t.Context(), "r"); err != nil || !last.IsZero() {
		t.Errorf("stored %v %v", last, err)
	}
}

// unreachablePolicy fails every call as a policy.Redis does when Redis is
// down.
type unreachablePolicy struct{}

func (unreachablePolicy) Take(ctx context.Context, buckets []policy.Bucket) (time.Duration, error) {
	return 0, policy.ErrUnavailable
}

func (unreachablePolicy) Claim(ctx context.Context, key policy.Key, ttl time.Duration) (time.Duration, error) {
	return 0, policy.ErrUnavailable
}

func (unreachablePolicy) Marked(ctx context.Context, key policy.Key) (time.Duration, error) {
	return 0, policy.ErrUnavailable
}

func (unreachablePolicy) SetSlowMode(ctx context.Context, room string, interval time.Duration) error {
	return policy.ErrUnavailable
}

func (unreachablePolicy) Pace(ctx context.Context, room, uid string) (time.Duration, error) {
	return 0, policy.ErrUnavailable
}

func (unreachablePolicy) Ban(ctx context.Context, room, uid string, d time.Duration) error {
	return policy.ErrUnavailable
}

func (unreachablePolicy) Unban(ctx context.Context, room, uid string) error {
	return policy.ErrUnavailable
}

func (unreachablePolicy) Banned(ctx context.Context, room, uid string) (time.Duration, error) {
	return 0, policy.ErrUnavailable
}
