package edge

import (
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/stream"
)

// postN posts n comments to room and returns their IDs in order.
func postN(t *testing.T, env *testEnv, room string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = env.post(t, room, "m"+strconv.Itoa(i)).String()
	}
	return ids
}

// readIDs reads batches of room until it has n message IDs and returns
// them with the first batch read.
func readIDs(t *testing.T, c *websocket.Conn, room string, n int) ([]string, serverMessage) {
	t.Helper()
	var ids []string
	var first serverMessage
	for i := 0; len(ids) < n; i++ {
		m := readMessage(t, c)
		if m.Type != "batch" || m.Room != room || m.Dropped != 0 {
			t.Fatalf("got %+v after %d messages; want a batch of %s", m, len(ids), room)
		}
		if i == 0 {
			first = m
		} else if m.Gap {
			t.Fatalf("batch %d reports a gap: %+v", i, m)
		}
		for _, it := range m.Msgs {
			ids = append(ids, it.ID)
		}
	}
	return ids, first
}

// TestResume: a viewer that joins with since gets exactly the messages
// after it, then the live ones, with nothing missed or repeated at the
// seam, while messages keep arriving during the join.
func TestResume(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{})
	const room = "replay"
	ids := postN(t, env, room, 10)
	const k = 3

	// The first viewer of the room joins from the URL (the room is not
	// followed yet), the second by message once it is live. Messages are
	// posted all along.
	var live []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id, err := env.appendComment(room, "live"+strconv.Itoa(i))
			if err != nil {
				t.Error(err)
				return
			}
			live = append(live, id.String())
			time.Sleep(time.Millisecond)
		}
	})
	first := env.dial(t, "?room="+room+"&since="+ids[k])
	expectReply(t, first, "joined", room, "")
	second := env.dial(t, "")
	send(t, second, `{"type":"join","room":"`+room+`","since":"`+ids[k+2]+`"}`)
	expectReply(t, second, "joined", room, "")
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	all := append(slices.Clone(ids), live...)

	for i, tt := range []struct {
		c     *websocket.Conn
		after int
	}{{first, k}, {second, k + 2}} {
		want := all[tt.after+1:]
		got, firstBatch := readIDs(t, tt.c, room, len(want))
		if firstBatch.Gap {
			t.Errorf("viewer %d: first batch reports a gap", i)
		}
		if !slices.Equal(got, want) {
			t.Errorf("viewer %d got %v; want %v", i, got, want)
		}
	}

	// Both are live: the next message reaches each once.
	next := env.post(t, room, "next").String()
	for i, c := range []*websocket.Conn{first, second} {
		if got, _ := readIDs(t, c, room, 1); !slices.Equal(got, []string{next}) {
			t.Errorf("viewer %d got %v; want [%s]", i, got, next)
		}
	}
}

// TestResumeEdges: since at the newest message replays nothing; since at
// or before what retention kept reports a gap before what is left.
func TestResumeEdges(t *testing.T) {
	t.Parallel()
	const retention = 5
	env := startEnv(t, envConfig{memory: stream.MemoryConfig{MaxLen: retention}})

	t.Run("since the newest", func(t *testing.T) {
		ids := postN(t, env, "newest", 3)
		c := env.dial(t, "?room=newest&since="+ids[2])
		expectReply(t, c, "joined", "newest", "")
		next := env.post(t, "newest", "next").String()
		if got, first := readIDs(t, c, "newest", 1); !slices.Equal(got, []string{next}) || first.Gap {
			t.Errorf("got %v (gap %v); want [%s]", got, first.Gap, next)
		}
	})
	t.Run("since trimmed", func(t *testing.T) {
		ids := postN(t, env, "trimmed", 2*retention)
		c := env.dial(t, "?room=trimmed&since="+ids[1])
		expectReply(t, c, "joined", "trimmed", "")
		got, first := readIDs(t, c, "trimmed", retention)
		if !first.Gap {
			t.Errorf("first batch %+v; want gap:true", first)
		}
		if want := ids[retention:]; !slices.Equal(got, want) {
			t.Errorf("got %v; want %v", got, want)
		}
	})
	t.Run("join message since trimmed", func(t *testing.T) {
		ids := postN(t, env, "trimmed2", 2*retention)
		c := env.dial(t, "")
		send(t, c, `{"type":"join","room":"trimmed2","since":"0-1"}`)
		expectReply(t, c, "joined", "trimmed2", "")
		got, first := readIDs(t, c, "trimmed2", retention)
		if !first.Gap {
			t.Errorf("first batch %+v; want gap:true", first)
		}
		if want := ids[retention:]; !slices.Equal(got, want) {
			t.Errorf("got %v; want %v", got, want)
		}
	})
}

// TestResumePastReplayLimit: a replay longer than ReplayLimit keeps the
// newest messages and reports a gap before them.
func TestResumePastReplayLimit(t *testing.T) {
	t.Parallel()
	const limit = 4
	env := startEnv(t, envConfig{fanout: fanout.Config{ReplayLimit: limit}})
	ids := postN(t, env, "long", 3*limit)
	c := env.dial(t, "?room=long&since="+ids[0])
	expectReply(t, c, "joined", "long", "")
	got, first := readIDs(t, c, "long", limit)
	if !first.Gap {
		t.Errorf("first batch %+v; want gap:true", first)
	}
	if want := ids[len(ids)-limit:]; !slices.Equal(got, want) {
		t.Errorf("got %v; want %v", got, want)
	}
}
