package policy

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/internal/redistest"
	"github.com/danmu-dev/danmu/rdb"
)

// sharedRedis is the Redis every test run needs (make test-deps).
const sharedRedis = "127.0.0.1:6379"

// testPrefix returns a key prefix no other test or run uses.
func testPrefix(t *testing.T) string {
	return "policytest:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
}

// newRedisStore connects a Redis store with prefix and closes its client,
// after deleting its keys, when the test ends.
func newRedisStore(t *testing.T, addrs []string, prefix string) *Redis {
	t.Helper()
	client, err := rdb.New(rdb.Config{Addrs: addrs, KeyPrefix: prefix})
	if err != nil {
		t.Fatalf("rdb.New(%v): %v", addrs, err)
	}
	r := NewRedis(client)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, key := range keysOf(ctx, r) {
			r.client.Do(ctx, r.client.B().Del().Key(key).Build())
		}
		client.Close()
	})
	return r
}

// keysOf returns the keys under r's prefix, on every node, sorted.
func keysOf(ctx context.Context, r *Redis) []string {
	var keys []string
	for _, node := range r.client.Nodes() {
		got, _ := node.Do(ctx, node.B().Keys().Pattern(r.client.Key("*")).Build()).AsStrSlice()
		keys = append(keys, got...)
	}
	slices.Sort(keys)
	return keys
}

func TestRedis(t *testing.T) {
	runStoreTests(t, func(t *testing.T) Store {
		return newRedisStore(t, []string{sharedRedis}, testPrefix(t))
	})
}

func TestRedisCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	runStoreTests(t, func(t *testing.T) Store {
		return newRedisStore(t, c.Addrs, testPrefix(t))
	})
}

// TestRedisKeys checks the key layout: a room's keys carry its hash tag.
func TestRedisKeys(t *testing.T) {
	prefix := testPrefix(t)
	r := newRedisStore(t, []string{sharedRedis}, prefix)
	ctx := context.Background()
	if _, err := r.Take(ctx, []Bucket{
		{Key{Name: "user:u1"}, Limit{Rate: 1}},
		{Key{Room: "r1", Name: "rate"}, Limit{Rate: 1}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetSlowMode(ctx, "r1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pace(ctx, "r1", "u1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Ban(ctx, "r1", "u2", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Claim(ctx, Key{Room: "r1", Name: "spam:u1:x"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	want := []string{
		prefix + "user:u1",
		prefix + "{r1}:ban:u2",
		prefix + "{r1}:pace:u1",
		prefix + "{r1}:rate",
		prefix + "{r1}:slowmode",
		prefix + "{r1}:spam:u1:x",
	}
	slices.Sort(want)
	if got := keysOf(ctx, r); !slices.Equal(got, want) {
		t.Errorf("keys %q; want %q", got, want)
	}
}

// TestRedisLoadsScripts checks the scripts are loaded again when Redis has
// forgotten them (a restart or SCRIPT FLUSH).
func TestRedisLoadsScripts(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedisStore(t, []string{srv.Addr()}, testPrefix(t))
	ctx := context.Background()
	limit := Limit{Rate: 1, Burst: 2}
	for i := range 2 {
		srv.MustDo("SCRIPT", "FLUSH")
		if w, err := r.Take(ctx, []Bucket{{Key{Name: "a"}, limit}, {Key{Name: "b"}, limit}}); err != nil || w != 0 {
			t.Fatalf("Take %d after SCRIPT FLUSH = %v, %v", i+1, w, err)
		}
	}
	if w, err := r.Take(ctx, []Bucket{{Key{Name: "a"}, limit}}); err != nil || w == 0 {
		t.Errorf("third take of a burst of 2 = %v, %v; want a wait", w, err)
	}
}

func TestRedisUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	// Not newRedisStore: its cleanup would wait for the dead server.
	client, err := rdb.New(rdb.Config{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	r := NewRedis(client)
	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	checks := map[string]error{}
	_, checks["Take"] = r.Take(ctx, []Bucket{{Key{Name: "u"}, Limit{Rate: 1}}})
	_, checks["Claim"] = r.Claim(ctx, Key{Name: "u"}, time.Second)
	_, checks["Marked"] = r.Marked(ctx, Key{Name: "u"})
	_, checks["Pace"] = r.Pace(ctx, "r", "u")
	_, checks["Banned"] = r.Banned(ctx, "r", "u")
	checks["Ban"] = r.Ban(ctx, "r", "u", time.Second)
	checks["Unban"] = r.Unban(ctx, "r", "u")
	checks["SetSlowMode"] = r.SetSlowMode(ctx, "r", time.Second)
	for name, err := range checks {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with Redis down: %v; want ErrUnavailable", name, err)
		}
	}
	if _, err := rdb.New(rdb.Config{Addrs: []string{srv.Addr()}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("rdb.New with Redis down: %v; want ErrUnavailable", err)
	}
}
