package ingest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/policy"
)

// TestPublishWebhook checks the answers to the publish webhook's verdicts,
// from a real backend: a rewrite is stored, a rejection answers 422 with
// the backend's code, and a dead backend 503 hook_unavailable.
func TestPublishWebhook(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case contains(body, `"text":"spam"`):
			_, _ = io.WriteString(w, `{"action":"reject","code":"no_spam","message":"not here"}`)
		case contains(body, `"text":"quiet"`):
			_, _ = io.WriteString(w, `{"action":"reject"}`)
		case contains(body, `"text":"gold"`):
			_, _ = io.WriteString(w, `{"action":"rewrite","text":"★ gold","prio":3}`)
		}
	}))
	defer backend.Close()
	publish, err := policy.NewPublishHook(policy.PublishHookConfig{Endpoint: policy.Endpoint{URL: backend.URL}})
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemory()
	ts := startHookServer(t, Config{}, mem, &syncBuffer{}, publish)
	r := ts.post(t, "r", `{"text":"gold"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST gold: %d %s", r.status, r.body)
	}
	var created struct {
		ID string `json:"id"`
		TS int64  `json:"ts"`
	}
	decodeStrict(t, r.body, &created)
	if m := storedMessage(t, mem, "r", created.ID); m.Text != "★ gold" || m.Prio != 3 {
		t.Errorf("stored %+v; want the rewrite", m)
	}
	if r := ts.post(t, "r", `{"text":"fine"}`); r.status != http.StatusCreated {
		t.Errorf("POST fine: %d %s", r.status, r.body)
	}
	checkError(t, "rejected with a code", ts.post(t, "r", `{"text":"spam"}`), 422, "no_spam")
	checkError(t, "rejected", ts.post(t, "r", `{"text":"quiet"}`), 422, CodeRejected)

	backend.Close()
	start := time.Now()
	checkError(t, "backend down", ts.post(t, "r", `{"text":"fine"}`), 503, CodeHookUnavailable)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("answer with the backend down took %v", elapsed)
	}
}

func contains(body []byte, s string) bool { return bytes.Contains(body, []byte(s)) }
