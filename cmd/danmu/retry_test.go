package main

import (
	"net/http"
	"slices"
	"testing"
)

// TestCIDIsTheAuthors: mallory posts cid "1" before alice posts hers, and
// alice retries her post. Viewers get mallory's and alice's comments, each
// once, live, in a replay and in history: a cid only makes the same user's
// retried copies disappear.
func TestCIDIsTheAuthors(t *testing.T) {
	n := startNode(t, "serve", "--jwt-secret", testSecret)
	alice, mallory := mintToken(t, "--sub", "alice"), mintToken(t, "--sub", "mallory")
	post := func(token, body string) string {
		t.Helper()
		a := send(t, n.apiAddr, http.MethodPost, "/v1/rooms/r/danmaku", token, body)
		if a.status != http.StatusCreated || a.id == "" {
			t.Fatalf("POST %s = %+v; want 201 with an id", body, a)
		}
		return a.id
	}
	start := post(alice, `{"text":"start"}`)
	live := watch(t, "live", n.wsAddr, "r", "")
	want := []string{
		post(mallory, `{"text":"mallory's","cid":"1"}`),
		post(alice, `{"text":"alice's","cid":"1"}`),
	}
	post(alice, `{"text":"alice's","cid":"1"}`) // a retry: stored again
	want = append(want, post(alice, `{"text":"end"}`))

	wantIDs := sortedIDs(t, want)
	waitHas(t, []*viewer{live}, want)
	if comments, _, _ := live.snapshot(); !slices.Equal(commentIDs(comments), wantIDs) {
		t.Errorf("live viewer got %v; want %v", commentIDs(comments), want)
	}
	late := watch(t, "late", n.wsAddr, "r", start)
	waitHas(t, []*viewer{late}, want)
	if comments, _, _ := late.snapshot(); !slices.Equal(commentIDs(comments), wantIDs) {
		t.Errorf("replayed viewer got %v; want %v", commentIDs(comments), want)
	}

	var listed []string
	for _, m := range history(t, n.apiAddr, "r", start) {
		listed = append(listed, m.ID)
	}
	if !slices.Equal(listed, want) {
		t.Errorf("history lists %v; want %v", listed, want)
	}
}
