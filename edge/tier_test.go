package edge

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/fanout"
)

// TestSlowViewerKeepsPriority: a viewer that stops reading while its room
// is busy is moved to the priority-only tier rather than cut: the normal
// comments are skipped for it, the priority ones still written, and when
// it reads again it finds every priority comment, then returns to the full
// stream after a gap notice. The viewers that read lose nothing.
func TestSlowViewerKeepsPriority(t *testing.T) {
	env := startEnv(t, envConfig{
		edge:   Config{SoftOutbound: 16 << 10, HardOutbound: 64 << 20, SlowTimeout: time.Hour, SweepInterval: 20 * time.Millisecond},
		fanout: fanout.Config{MaxBatch: 10000},
	})
	const room = "busy"
	slow := env.joinSmallWindow(t, room)
	fast := env.fastReaders(t, room, 2)
	stats := env.srv.Stats()

	// Large normal comments until the slow viewer is moved.
	text := strings.Repeat("danmaku! ", 1000)
	var normal []string
	post := func(prio int) string {
		id, err := env.appendPrio(room, fmt.Sprintf("%s %d", text, len(normal)), prio)
		if err != nil {
			t.Fatal(err)
		}
		expectIDs(t, fast, []string{id.String()})
		return id.String()
	}
	for stats.TierMoves.Load() == 0 {
		if len(normal) > 20000 {
			t.Fatalf("the slow viewer was not moved after %d comments", len(normal))
		}
		normal = append(normal, post(0))
	}
	// Then priority comments among more normal ones, in batches of
	// their own (each waits for the readers).
	var prio []string
	for i := range 30 {
		if i%3 == 0 {
			prio = append(prio, post(1))
		} else {
			normal = append(normal, post(0))
		}
	}
	if stats.SlowClosed.Load() != 0 || stats.TierReturns.Load() != 0 {
		t.Fatalf("the slow viewer was cut (%d) or returned (%d) while it read nothing", stats.SlowClosed.Load(), stats.TierReturns.Load())
	}

	// It reads again: every priority comment is there, some normal ones
	// are not, and once drained it gets the full stream again.
	got := map[string]bool{}
	gaps, dropped := 0, 0
	var after struct {
		sync.Mutex
		ids []string
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				// Batches give the viewer its chance to return.
				if id, err := env.appendComment(room, "after"); err == nil {
					after.Lock()
					after.ids = append(after.ids, id.String())
					after.Unlock()
				}
			}
		}
	}()
	// A normal comment posted after the reads began that reaches the
	// viewer shows it is back in the full stream.
	returned := func() bool {
		after.Lock()
		defer after.Unlock()
		return slices.ContainsFunc(after.ids, func(id string) bool { return got[id] })
	}
	deadline := time.Now().Add(3 * waitTimeout)
	for !returned() {
		if time.Now().After(deadline) {
			t.Fatalf("the slow viewer did not return to the full stream (%d moves, %d returns)", stats.TierMoves.Load(), stats.TierReturns.Load())
		}
		h, payload := slow.readFrame()
		if h.OpCode != ws.OpText {
			continue
		}
		m, err := decodeServerMessage(payload)
		if err != nil {
			t.Fatal(err)
		}
		if m.Gap {
			gaps++
		}
		dropped += m.Dropped
		for _, it := range m.Msgs {
			got[it.ID] = true
		}
	}
	for _, id := range prio {
		if !got[id] {
			t.Errorf("priority comment %s did not reach the slow viewer", id)
		}
	}
	missed := slices.DeleteFunc(slices.Clone(normal), func(id string) bool { return got[id] })
	if len(missed) == 0 || gaps == 0 && dropped == 0 {
		t.Errorf("the slow viewer got every normal comment, %d gaps, %d dropped; want some skipped, and told", gaps, dropped)
	}
	t.Logf("slow viewer: %d of %d normal comments skipped; %d gap notices, %d counted dropped", len(missed), len(normal), gaps, dropped)
	if stats.SlowClosed.Load() != 0 || stats.TierReturns.Load() == 0 {
		t.Errorf("the slow viewer was cut (%d) or never counted back (%d)", stats.SlowClosed.Load(), stats.TierReturns.Load())
	}
}

// TestMaxRate: a viewer of /ws or /sse that asks for max_rate=5 gets at
// most about that many normal comments a second, every priority one, and
// the rest counted in "dropped"; a viewer without it gets everything.
func TestMaxRate(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	const room = "phones"
	full := env.dial(t, "?room="+room)
	expectReply(t, full, "joined", room, "")
	thinned := env.dial(t, "?room="+room+"&max_rate=5")
	expectReply(t, thinned, "joined", room, "")
	sse := env.dialSSE(t, "/sse?room="+room+"&max_rate=5", "")
	sse.next() // joined

	start := time.Now()
	var prio []string
	const total = 100
	for i := range total {
		p := 0
		if i%25 == 24 {
			p = 1 // the last one too: the thinned tiers' counts end with it
		}
		id, err := env.appendPrio(room, fmt.Sprint(i), p)
		if err != nil {
			t.Fatal(err)
		}
		if p > 0 {
			prio = append(prio, id.String())
		}
	}
	count := func(next func() serverMessage) (got []string) {
		dropped := 0
		for len(got)+dropped < total {
			m := next()
			if m.Type != "batch" {
				continue
			}
			dropped += m.Dropped
			for _, it := range m.Msgs {
				got = append(got, it.ID)
			}
		}
		return got
	}
	if got := count(func() serverMessage { return readMessage(t, full) }); len(got) != total {
		t.Errorf("full viewer got %d comments; want %d", len(got), total)
	}
	elapsed := time.Since(start)
	for name, next := range map[string]func() serverMessage{
		"ws":  func() serverMessage { return readMessage(t, thinned) },
		"sse": func() serverMessage { _, m := sse.next(); return m },
	} {
		got := count(next)
		for _, id := range prio {
			if !slices.Contains(got, id) {
				t.Errorf("%s: priority comment %s missing", name, id)
			}
		}
		if most := len(prio) + 5*(1+int(elapsed.Seconds()+1)); len(got) > most {
			t.Errorf("%s: got %d comments in %v; want at most %d", name, len(got), elapsed, most)
		}
	}
	if m := env.srv.Stats().Members(); m[classThinned] != 2 || m[classFull] != 1 {
		t.Errorf("Members() = %v; want 1 full, 2 thinned", m)
	}
}
