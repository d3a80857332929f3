package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// Redis trims a stream (MAXLEN ~) by whole nodes of stream-node-max-entries
// entries, 100 by default: the gap tests make nodes small so that a few
// dozen posts are enough to trim past --retention.
var smallNodes = []string{"--stream-node-max-entries", "4"}

// TestGapBehindRetentionIntegration checks the gap notices of readers that
// fall behind retention (--retention 10) on Redis.
func TestGapBehindRetentionIntegration(t *testing.T) {
	t.Run("ResumeWithOldSince", testGapResume)
	t.Run("LiveReaderCutOff", testGapLive)
}

// testGapResume: a viewer that resumes with a since older than what the
// stream keeps gets the retained comments in a first frame marked gap, and
// so does the history endpoint.
func testGapResume(t *testing.T) {
	srv := redistest.Start(t, smallNodes...)
	n := startNode(t, "serve", "--redis", srv.Addr(), "--retention", "10")
	first := mustPost(t, n.apiAddr, "old", "first")
	var ids []string
	for i := range 40 {
		ids = append(ids, mustPost(t, n.apiAddr, "old", fmt.Sprint(i)))
	}
	v := watch(t, "resumer", n.wsAddr, "old", first)
	last := ids[len(ids)-1]
	waitHas(t, []*viewer{v}, []string{last})
	comments, gapsAt, _ := v.snapshot()
	if len(gapsAt) != 1 || gapsAt[0] != 0 {
		t.Errorf("resuming from a trimmed id: gaps at %v; want one, in the first frame", gapsAt)
	}
	if len(comments) < 10 || len(comments) >= len(ids) || comments[0].id.String() == ids[0] {
		t.Errorf("resuming from a trimmed id replayed %d comments; want the retained ones (10 or a few more of %d)", len(comments), len(ids))
	}

	// The history endpoint says the same.
	var history struct {
		Msgs []struct {
			ID string `json:"id"`
		} `json:"msgs"`
		Gap bool `json:"gap"`
	}
	resp, err := httpClient.Get("http://" + n.apiAddr + "/v1/rooms/old/danmaku?limit=1000&since=" + first)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&history); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET history = %s, %v", resp.Status, err)
	}
	if !history.Gap || len(history.Msgs) != len(comments) || history.Msgs[len(history.Msgs)-1].ID != last {
		t.Errorf("history since a trimmed id: gap %v, %d msgs; want a gap and the %d retained ending at %s", history.Gap, len(history.Msgs), len(comments), last)
	}
}

// testGapLive: an edge whose reads fail while the room gets more comments
// than retention keeps (its Redis user is disabled and its connections
// killed) resumes by itself once it can read again, and its viewers get a
// live frame marked gap, then the retained comments, then new ones.
func testGapLive(t *testing.T) {
	srv := redistest.Start(t, smallNodes...)
	srv.MustDo("ACL", "SETUSER", "edge", "on", ">secret", "~*", "&*", "+@all")
	api := startNode(t, "ingest", "--redis", srv.Addr(), "--retention", "10")
	edge := startNode(t, "edge", "--redis", srv.Addr(), "--retention", "10",
		"--redis-username", "edge", "--redis-password", "secret")
	v := watch(t, "live", edge.wsAddr, "busy", "")
	before := mustPost(t, api.apiAddr, "busy", "before")
	waitHas(t, []*viewer{v}, []string{before})

	srv.MustDo("ACL", "SETUSER", "edge", "off")
	srv.MustDo("CLIENT", "KILL", "USER", "edge")
	var missed []string
	for i := range 40 {
		missed = append(missed, mustPost(t, api.apiAddr, "busy", fmt.Sprint(i)))
	}
	// Let the edge fail to read before it may again.
	time.Sleep(200 * time.Millisecond)
	srv.MustDo("ACL", "SETUSER", "edge", "on")

	after := mustPost(t, api.apiAddr, "busy", "after")
	waitHas(t, []*viewer{v}, []string{after})
	if err := v.err(); err != nil {
		t.Errorf("the viewer was disconnected: %v", err)
	}
	comments, gapsAt, _ := v.snapshot()
	if len(gapsAt) != 1 || gapsAt[0] != 1 {
		t.Fatalf("gaps at %v; want one, right after the comment before the cut", gapsAt)
	}
	// From the frame marked gap on: the comments the stream still held
	// when the edge read again (10 or a few more, the newest), then
	// "after" unless it was among them.
	got := commentIDs(comments[1:])
	lastMissed, err1 := codec.ParseID(missed[len(missed)-1])
	firstMissed, err2 := codec.ParseID(missed[0])
	want, err3 := codec.ParseID(after)
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	if len(got) < 10 || got[0] == firstMissed || !slices.Contains(got, lastMissed) || got[len(got)-1] != want {
		t.Errorf("after the gap: %v; want the newest 10 or a few more of %s, then %s", got, missed, after)
	}
}
