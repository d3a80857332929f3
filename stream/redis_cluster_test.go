package stream

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// TestRedisCluster runs the Log behaviour and the Redis-only tests on a
// Redis Cluster of three masters, where one XREAD can only name the rooms
// of one hash slot.
func TestRedisCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	target := redisTarget{addrs: c.Addrs, flushAll: c.FlushAll}

	t.Run("Detected", func(t *testing.T) {
		if r := newTestRedis(t, c.Addrs[:1], RedisConfig{}); !r.cluster {
			t.Fatal("NewRedis on a cluster node did not detect the cluster")
		}
	})

	// The defaults block on up to 16 slots at once and poll beyond.
	t.Run("Behaviour", func(t *testing.T) {
		testLogBehaviour(t, func(t *testing.T, maxLen int) Log {
			return newTestRedis(t, c.Addrs, RedisConfig{MaxLen: int64(maxLen)})
		})
	})
	t.Run("BlockingOnEverySlot", func(t *testing.T) {
		l := newTestRedis(t, c.Addrs, RedisConfig{MaxBlockingReads: 1000})
		testLogReadManyRooms(t, func(*testing.T, int) Log { return l })
		testLogReadContext(t, func(*testing.T, int) Log { return l })
	})
	t.Run("Polling", func(t *testing.T) {
		l := newTestRedis(t, c.Addrs, RedisConfig{MaxBlockingReads: 1, PollInterval: 5 * time.Millisecond})
		testLogReadManyRooms(t, func(*testing.T, int) Log { return l })
		testLogReadWakesOnAppend(t, func(*testing.T, int) Log { return l })
		testLogReadContext(t, func(*testing.T, int) Log { return l })
		testLogReadTimeout(t, func(*testing.T, int) Log { return l })
	})

	t.Run("TTL", func(t *testing.T) { testRedisTTL(t, c.Addrs) })

	t.Run("GapOnOneSlotAmongMany", func(t *testing.T) {
		l := newTestRedis(t, c.Addrs, RedisConfig{MaxLen: 10})
		cursors := make([]Cursor, 20)
		for i := range cursors {
			cursors[i] = Cursor{Room: "g" + strconv.Itoa(i)}
			cursors[i].After = logAppend(t, l, cursors[i].Room, 1)[0]
		}
		ids := logAppend(t, l, cursors[7].Room, 300)
		logAppend(t, l, cursors[12].Room, 2)
		pages := logRead(t, l, cursors, 5, time.Second)
		if len(pages) != 2 || pages[0].Room != "g7" || !pages[0].Gap || pages[1].Room != "g12" || pages[1].Gap {
			t.Fatalf("Read = %s; want g7 with a gap, then g12", describePages(pages))
		}
		if got := pageIDs(pages[0].Entries); len(got) != 5 || !slices.Contains(ids, got[0]) || got[0] == ids[0] {
			t.Fatalf("g7 page = %v; want 5 retained entries", got)
		}
	})

	// Last: they flush every node.
	t.Run("Reset", func(t *testing.T) { testRedisResets(t, target) })

	t.Run("NodeDown", func(t *testing.T) {
		l := newTestRedis(t, c.Addrs, RedisConfig{Timeout: 300 * time.Millisecond})
		rooms := make([]Cursor, 30)
		for i := range rooms {
			rooms[i] = Cursor{Room: "down" + strconv.Itoa(i)}
		}
		c.Nodes[2].Kill()
		if _, err := l.Read(context.Background(), rooms, 10, 100*time.Millisecond); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Read with a node down = %v; want ErrUnavailable", err)
		}
	})
}
