package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// sseEvent is one event curl printed: the join, or a batch, its id and
// comments.
type sseEvent struct {
	joined bool
	id     string
	ids    []string
}

// curlSSE runs curl on the edge's /sse for room, with Last-Event-ID when
// last is set, waits for the join, and sends the batches it prints on the
// channel, closed when curl ends.
func curlSSE(t *testing.T, ctx context.Context, edge, room, last string) <-chan sseEvent {
	t.Helper()
	args := []string{"-sSN", "http://" + edge + "/sse?room=" + room}
	if last != "" {
		args = append(args, "-H", "Last-Event-ID: "+last)
	}
	cmd := exec.CommandContext(ctx, "curl", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	events := make(chan sseEvent, 64)
	go func() {
		defer close(events)
		defer cmd.Wait()
		lines := bufio.NewScanner(stdout)
		var ev sseEvent
		for lines.Scan() {
			line := lines.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.id = line[len("id: "):]
			case strings.HasPrefix(line, "data: "):
				var frame struct {
					Type string `json:"type"`
					Msgs []struct {
						ID string `json:"id"`
					} `json:"msgs"`
				}
				if json.Unmarshal([]byte(line[len("data: "):]), &frame) == nil {
					for _, m := range frame.Msgs {
						ev.ids = append(ev.ids, m.ID)
					}
					ev.joined = frame.Type == "joined"
					if ev.joined || frame.Type == "batch" {
						events <- ev
					}
				}
				ev = sseEvent{}
			}
		}
	}()
	select {
	case ev := <-events:
		if !ev.joined {
			t.Fatalf("curl's first event %+v; want the join", ev)
		}
	case <-time.After(waitTimeout):
		t.Fatal("curl's stream did not begin")
	}
	return events
}

// readComments reads batches from events until it has n comments and
// returns them and the last event id.
func readComments(t *testing.T, events <-chan sseEvent, n int) (ids []string, last string) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for len(ids) < n {
		var ev sseEvent
		var ok bool
		select {
		case ev, ok = <-events:
		case <-timeout:
			t.Fatalf("curl got %v after %v; want %d comments", ids, waitTimeout, n)
		}
		if !ok {
			t.Fatalf("curl ended after %v; want %d comments", ids, n)
		}
		ids = append(ids, ev.ids...)
		last = ev.id
	}
	return ids, last
}

// TestCurlSSEResume: curl watches a room over Server-Sent Events on an
// edge, which is stopped; comments are posted meanwhile (to an ingest node
// on the same Redis); curl resumes on the restarted edge with the last
// event id it got, and gets every comment once.
func TestCurlSSEResume(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed: %v", err)
	}
	srv := redistest.Start(t)
	api := startNode(t, "ingest", "--redis", srv.Addr())
	edge := startNode(t, "edge", "--redis", srv.Addr())
	const room = "curl"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := curlSSE(t, ctx, edge.wsAddr, room, "")
	var want []string
	for _, text := range []string{"one", "two", "three"} {
		want = append(want, mustPost(t, api.apiAddr, room, text))
	}
	got, last := readComments(t, events, len(want))
	if !slices.Equal(got, want) || last != want[len(want)-1] {
		t.Fatalf("curl got %v, last event id %q; want %v, the last one's id", got, last, want)
	}

	if err := edge.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case ev, ok := <-events:
		if ok {
			t.Fatalf("curl read %+v after the edge stopped", ev)
		}
	case <-time.After(waitTimeout):
		t.Fatal("curl's stream did not end when the edge stopped")
	}
	var missed []string
	for _, text := range []string{"posted while the edge was down", "and another"} {
		missed = append(missed, mustPost(t, api.apiAddr, room, text))
	}
	restarted := startNode(t, "edge", "--redis", srv.Addr())
	events = curlSSE(t, ctx, restarted.wsAddr, room, last)
	got, _ = readComments(t, events, len(missed))
	live := mustPost(t, api.apiAddr, room, "live again")
	more, _ := readComments(t, events, 1)
	if got = append(got, more...); !slices.Equal(got, append(missed, live)) {
		t.Errorf("after the restart curl got %v; want %v then %s, once each", got, missed, live)
	}
}
