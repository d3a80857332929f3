package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// TestRedisCrashIntegration kills Redis (SIGKILL) under steady posting and
// viewing, and restarts it on the same port and data, while one ingest
// node and two edges keep running.
//
// With appendfsync always every acknowledged comment survives: each viewer
// gets each of them exactly once and no gap. Without persistence the
// comments stored before the crash are gone: each viewer gets a gap notice
// between the old comments and the new ones, never a silent loss or a
// duplicate. Either way posts during the outage get 503 within a bounded
// time, viewers stay connected, and posting and delivery resume by
// themselves.
func TestRedisCrashIntegration(t *testing.T) {
	t.Run("AppendFsyncAlways", func(t *testing.T) {
		testRedisCrash(t, true, "--appendonly", "yes", "--appendfsync", "always")
	})
	t.Run("NoPersistence", func(t *testing.T) {
		testRedisCrash(t, false)
	})
}

// outageBound is the longest a post may take while Redis is down: the
// append timeout plus generous slack for a loaded machine. What matters is
// that it is bounded: the API never hangs.
const outageBound = appendTimeout + 1500*time.Millisecond

// appendTimeout is the --append-timeout of the crash tests.
const appendTimeout = 300 * time.Millisecond

// outage is how long Redis stays down: long enough for several posts to
// fail, and longer than the stream's reset check interval (1s), so that a
// restart without data is noticed by the first read after it.
const outage = 1500 * time.Millisecond

func testRedisCrash(t *testing.T, durable bool, redisArgs ...string) {
	const room = "live"
	srv := redistest.Start(t, redisArgs...)
	api := startNode(t, "ingest", "--redis", srv.Addr(), "--append-timeout", appendTimeout.String())
	var viewers []*viewer
	for e := range 2 {
		edge := startNode(t, "edge", "--redis", srv.Addr(), "--max-batch", "1000")
		for i := range 2 {
			viewers = append(viewers, watch(t, fmt.Sprintf("edge%d#%d", e, i), edge.wsAddr, room, ""))
		}
	}

	pub := startPublishers(api.apiAddr, room, 2)
	defer pub.stop()
	pub.waitAcked(t, 20, time.Time{})

	srv.Kill()
	killed := time.Now()
	time.Sleep(outage)
	restarting := time.Now()
	srv.Restart()
	restarted := time.Now()
	pub.waitAcked(t, 20, restarted)
	results := pub.stop()

	acked, ackedAfter := checkPosts(t, results, killed, restarting, restarted)

	if durable {
		waitHas(t, viewers, acked)
	} else {
		waitHas(t, viewers, ackedAfter)
	}
	for _, v := range viewers {
		if err := v.err(); err != nil {
			t.Errorf("viewer %s was disconnected: %v", v.name, err)
		}
		comments, gapsAt, dropped := v.snapshot()
		if dropped > 0 {
			t.Errorf("viewer %s: %d dropped; want none", v.name, dropped)
		}
		// The viewer checked that ids increase, so no comment came twice.
		if durable {
			if len(gapsAt) > 0 {
				t.Errorf("viewer %s: gaps at %v; want none, Redis kept every comment", v.name, gapsAt)
			}
			continue
		}
		// Without persistence: one gap notice separates the comments of
		// the lost stream from those of the new one, and every comment
		// acknowledged since the restart arrived.
		killedMS, restartMS := uint64(killed.UnixMilli()), uint64(restarting.UnixMilli())
		split := slices.IndexFunc(comments, func(c received) bool { return c.id.MS >= restartMS })
		if split < 0 || slices.ContainsFunc(comments[:split], func(c received) bool { return c.id.MS > killedMS }) {
			t.Errorf("viewer %s: comments %v; want those from before the crash, then those after the restart", v.name, commentIDs(comments))
			continue
		}
		t.Logf("viewer %s: %d comments, gap notice after %d", v.name, len(comments), split)
		if !slices.Equal(gapsAt, []int{split}) {
			t.Errorf("viewer %s: gaps at %v; want one, at %d, where the new stream's comments start", v.name, gapsAt, split)
		}
	}
}

// TestRedisStallIntegration stops the Redis process (SIGSTOP) under steady
// posting and viewing, so that commands hang instead of failing, then lets
// it go on. Posts meanwhile get 503 within a bounded time (some of them may
// still be stored when Redis goes on: the client cannot know), viewers stay
// connected, and each gets each acknowledged comment exactly once and no
// gap.
func TestRedisStallIntegration(t *testing.T) {
	const room = "stall"
	srv := redistest.Start(t)
	api := startNode(t, "ingest", "--redis", srv.Addr(), "--append-timeout", appendTimeout.String())
	edge := startNode(t, "edge", "--redis", srv.Addr(), "--max-batch", "1000")
	viewers := []*viewer{watch(t, "stall#0", edge.wsAddr, room, ""), watch(t, "stall#1", edge.wsAddr, room, "")}

	pub := startPublishers(api.apiAddr, room, 2)
	defer pub.stop()
	pub.waitAcked(t, 20, time.Time{})
	srv.Pause()
	paused := time.Now()
	time.Sleep(outage)
	resuming := time.Now()
	srv.Resume()
	pub.waitAcked(t, 20, resuming)
	acked, _ := checkPosts(t, pub.stop(), paused, resuming, resuming)

	waitHas(t, viewers, acked)
	for _, v := range viewers {
		if err := v.err(); err != nil {
			t.Errorf("viewer %s was disconnected: %v", v.name, err)
		}
		if _, gapsAt, dropped := v.snapshot(); len(gapsAt) > 0 || dropped > 0 {
			t.Errorf("viewer %s: gaps at %v, %d dropped; want none", v.name, gapsAt, dropped)
		}
	}
}

// checkPosts checks the answers to posts around an outage of Redis that
// lasted from down to up, Redis answering again from back on: every post
// was answered within outageBound, those sent and answered within the
// outage with 503 unavailable, and others with 201 or 503. It returns the
// ids of the stored comments, all of them and those posted from back on.
func checkPosts(t *testing.T, results []postResult, down, up, back time.Time) (acked, ackedAfter []string) {
	t.Helper()
	failed := 0
	for _, r := range results {
		switch {
		case r.transErr != nil:
			t.Errorf("POST at %v: %v; want an answer", r.start.Sub(down), r.transErr)
			continue
		case r.took > outageBound:
			t.Errorf("POST at %v took %v; want an answer within %v", r.start.Sub(down), r.took, outageBound)
		}
		switch {
		case r.start.After(down) && r.start.Add(r.took).Before(up):
			if r.status != http.StatusServiceUnavailable || r.code != "unavailable" {
				t.Errorf("POST while Redis was down = %d %q; want 503 unavailable", r.status, r.code)
			}
			failed++
		case r.status == http.StatusCreated:
			acked = append(acked, r.id)
			if r.start.After(back) {
				ackedAfter = append(ackedAfter, r.id)
			}
		case r.status != http.StatusServiceUnavailable:
			t.Errorf("POST = %d %q; want 201, or 503 around the outage", r.status, r.code)
		}
	}
	if failed == 0 {
		t.Errorf("no post was answered while Redis was down")
	}
	t.Logf("%d posts: %d stored (%d after Redis came back), %d answered 503 while it was down",
		len(results), len(acked), len(ackedAfter), failed)
	return acked, ackedAfter
}

func commentIDs(comments []received) []codec.ID {
	ids := make([]codec.ID, len(comments))
	for i, c := range comments {
		ids[i] = c.id
	}
	return ids
}

// publishers post comments to one room as fast as the API answers, each
// from its own goroutine, and record every answer.
type publishers struct {
	stopped chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex
	results []postResult
}

// startPublishers starts n publishers posting to room through the API at
// addr.
func startPublishers(addr, room string, n int) *publishers {
	p := &publishers{stopped: make(chan struct{})}
	for w := range n {
		p.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-p.stopped:
					return
				default:
				}
				res := post(addr, room, fmt.Sprintf("publisher %d: %d", w, i))
				p.mu.Lock()
				p.results = append(p.results, res)
				p.mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	return p
}

// waitAcked waits until n posts sent after since were stored.
func (p *publishers) waitAcked(t *testing.T, n int, since time.Time) {
	t.Helper()
	waitFor(t, waitTimeout, fmt.Sprintf("%d posts stored", n), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		acked := 0
		for _, r := range p.results {
			if r.status == http.StatusCreated && r.start.After(since) {
				acked++
			}
		}
		return acked >= n
	})
}

// stop stops the publishers and returns every answer they got. It may be
// called more than once.
func (p *publishers) stop() []postResult {
	select {
	case <-p.stopped:
	default:
		close(p.stopped)
	}
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.results)
}
