package edge

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
)

// TestMessageFloodIsClosed: a client that sends requests faster than
// MessageRate (bursts of MessageBurst) is closed with 1008 after the burst,
// whatever the requests: pings, invalid joins or Bilibili heartbeats.
func TestMessageFloodIsClosed(t *testing.T) {
	env := startEnv(t, envConfig{edge: Config{MessageRate: 1, MessageBurst: 5}})
	for _, tc := range []struct {
		name    string
		target  string
		enter   bool
		request []byte
	}{
		{"pings", "/ws", false, clientFrame(true, ws.OpPing, []byte("ping"))},
		{"invalid joins", "/ws", false, textFrame(`{"type":"join","room":"` + strings.Repeat("z", 4000) + `"}`)},
		{"heartbeats", "/sub", true, binaryFrame(biliPacket(codec.BiliOpHeartbeat, ""))},
		{"heartbeats in one message", "/sub", true, binaryFrame(bytes.Repeat(biliPacket(codec.BiliOpHeartbeat, ""), 100))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := env.rawUpgrade(t, tc.target)
			if tc.enter {
				rc.write(binaryFrame(biliPacket(codec.BiliOpEnter, enterBody(1, 0))))
				rc.expectEnterReply(codec.BiliCodeOK)
			}
			rc.write(bytes.Repeat(tc.request, 100))
			replies := 0
			for {
				h, payload := rc.readFrame()
				if h.OpCode != ws.OpClose {
					replies++
					if len(payload) > 512 {
						t.Fatalf("a reply of %d bytes to a request; want a short one", len(payload))
					}
					continue
				}
				code, _, err := codec.ParseCloseBody(payload)
				if err != nil || code != ws.StatusPolicyViolation {
					t.Fatalf("close %q (%v); want 1008", payload, err)
				}
				break
			}
			if replies > 5 {
				t.Errorf("%d replies before the close; want at most the burst, 5", replies)
			}
		})
	}
}

// TestUnreadRepliesAreCut: a client that sends requests within the rate but
// never reads the replies is treated like a slow viewer: past SoftOutbound
// its replies are skipped, so the server buffers no more, and once it has
// stayed there for SlowTimeout it is cut. Replies count against the
// outbound limits as batches do.
func TestUnreadRepliesAreCut(t *testing.T) {
	env := startEnv(t, envConfig{edge: Config{
		MessageRate: 1e6, MessageBurst: 1e6,
		SoftOutbound: 16 << 10, HardOutbound: 32 << 10,
		SlowTimeout: 200 * time.Millisecond, SweepInterval: 20 * time.Millisecond,
	}})
	rc := env.dialSmallWindow(t)
	rc.write([]byte(upgradeRequest("/ws")))
	rc.expectUpgraded()
	ping := clientFrame(true, ws.OpPing, bytes.Repeat([]byte("p"), 125))
	before := env.srv.Stats().SlowClosed.Load()
	// 100 000 pongs of 127 bytes: 12.7 MB, more than the kernel buffers.
	for range 100 {
		if _, err := rc.conn.Write(bytes.Repeat(ping, 1000)); err != nil {
			break // the server cut the connection
		}
	}
	waitFor(t, "the client to be cut", func() bool { return env.srv.Stats().SlowClosed.Load() > before })
	if env.srv.Stats().FramesSkipped.Load() == 0 {
		t.Error("no reply was skipped; want those past SoftOutbound skipped")
	}
	waitFor(t, "the connection to close", func() bool { return env.srv.Stats().Open.Load() == 0 })
}

// TestJoinRate: joins past JoinBurst are refused with too_many_joins until
// the bucket refills; leaving does not give a join back.
func TestJoinRate(t *testing.T) {
	env := startEnv(t, envConfig{edge: Config{JoinRate: 0.001, JoinBurst: 2}})
	c := env.dial(t, "")
	send(t, c, `{"type":"join","room":"a"}`)
	expectReply(t, c, "joined", "a", "")
	send(t, c, `{"type":"leave","room":"a"}`)
	expectReply(t, c, "left", "a", "")
	send(t, c, `{"type":"join","room":"b"}`)
	expectReply(t, c, "joined", "b", "")
	send(t, c, `{"type":"join","room":"c"}`)
	expectReply(t, c, "error", "c", "too_many_joins")
}

// TestJoinChurnIsBounded: many clients join a room with since=0 (a replay
// of everything retained) and leave again, as fast as they can write. What
// it costs the server is bounded by the join rate, and the replays run in
// a bounded number of goroutines, shared and cancelled, never one per join.
func TestJoinChurnIsBounded(t *testing.T) {
	env := startEnv(t, envConfig{})
	for i := range 1200 {
		env.post(t, "churn", "old "+strconv.Itoa(i))
	}
	churn := bytes.Repeat([]byte(string(textFrame(`{"type":"join","room":"churn","since":"0"}`))+
		string(textFrame(`{"type":"leave","room":"churn"}`))), 50)
	baseline := runtime.NumGoroutine()
	peak := baseline
	const clients = 40
	for range clients {
		rc := env.rawUpgrade(t, "/ws")
		rc.write(churn)
		peak = max(peak, runtime.NumGoroutine())
	}
	waitFor(t, "the churning clients to be closed", func() bool {
		peak = max(peak, runtime.NumGoroutine())
		return env.srv.Stats().Open.Load() == 0
	})
	st := env.srv.hub.Stats()
	replays := st.ReplaysRequested.Load() + st.ReplaysFromMemory.Load()
	if limit := uint64(clients * (DefaultJoinBurst + 2)); replays > limit {
		t.Errorf("%d replays for %d clients; want at most %d: the join rate bounds them", replays, clients, limit)
	}
	if reads := st.ReplayReads.Load(); reads > st.ReplaysRequested.Load() {
		t.Errorf("%d stream reads for %d replays; want no more", reads, st.ReplaysRequested.Load())
	}
	if peak > baseline+fanout.DefaultReplayReads+20 {
		t.Errorf("goroutines peaked at %d from %d; want replays in at most %d", peak, baseline, fanout.DefaultReplayReads)
	}
}
