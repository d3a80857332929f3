package policy

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

func newStored(t *testing.T, cfg StoredHookConfig) *StoredHook {
	t.Helper()
	cfg.Logger = quiet
	h, err := NewStoredHook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// run runs h until the test ends, and checks Run returns then.
func run(t *testing.T, h *StoredHook) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		h.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

func stored(h *StoredHook, n int) []codec.ID {
	ids := make([]codec.ID, n)
	for i := range ids {
		c := testComment()
		c.Message.TS = int64(1700000000000 + i)
		ids[i] = codec.ID{MS: uint64(c.Message.TS), Seq: 0}
		h.After(context.Background(), c, ids[i])
	}
	return ids
}

// TestStoredDelivers checks the backend receives every stored comment
// with its id, signed.
func TestStoredDelivers(t *testing.T) {
	secret := []byte("k")
	var mu sync.Mutex
	got := make(map[string]storedEvent)
	b := startBackend(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		ts := r.Header.Get(HeaderWebhookTimestamp)
		if r.Header.Get(HeaderWebhookSignature) != SignWebhook(secret, ts, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var e storedEvent
		_ = json.Unmarshal(body, &e)
		mu.Lock()
		got[e.ID] = e
		mu.Unlock()
	})
	h := newStored(t, StoredHookConfig{Endpoint: Endpoint{URL: b.URL, Secret: secret}})
	run(t, h)
	ids := stored(h, 20)
	deadline := time.Now().Add(5 * time.Second)
	for h.Stats().Delivered < 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range ids {
		e, ok := got[id.String()]
		if !ok || e.Room != "r" || e.UID != "u1" || e.Text != "hello" || e.TS != int64(id.MS) {
			t.Errorf("backend got %+v for %s", e, id)
		}
	}
	if s := h.Stats(); s != (StoredHookStats{Delivered: 20}) {
		t.Errorf("Stats = %+v; want 20 delivered", s)
	}
}

// TestStoredDeadNeverBlocks checks that After returns at once with the
// backend dead or hanging, drops what the queue cannot hold, and starts no
// goroutine per comment.
func TestStoredDeadNeverBlocks(t *testing.T) {
	hang := startBackend(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { <-r.Context().Done() })
	for _, url := range []string{deadURL(t), hang.URL} {
		h := newStored(t, StoredHookConfig{Endpoint: Endpoint{URL: url, Timeout: time.Second, Retries: 2}, Queue: 8, Workers: 2})
		run(t, h)
		goroutines := runtime.NumGoroutine()
		start := time.Now()
		stored(h, 200)
		// Well under 1 ms each even with -race on a busy machine; one
		// call waiting for the backend would take a second.
		if elapsed := time.Since(start); elapsed > 900*time.Millisecond {
			t.Errorf("%s: 200 After calls took %v", url, elapsed)
		}
		// The promise is no goroutine per comment. The count is the whole
		// process's, so it also holds what net/http runs for each request
		// in flight to the backend, on both sides (the client's read and
		// write loops and dial, the test server's connection and its
		// reader), and what the previous backend's requests are still
		// winding down: a dozen or more at times (21 against 9 once, in
		// CI), never near the 200 a goroutine per comment would add.
		if n := runtime.NumGoroutine(); n > goroutines+50 {
			t.Errorf("%s: %d goroutines after 200 comments; %d before", url, n, goroutines)
		}
		if s := h.Stats(); s.Dropped < 150 || s.Delivered != 0 {
			t.Errorf("%s: Stats = %+v; want most dropped, none delivered", url, s)
		}
	}
}

// TestStoredRetries checks a 5xx is retried and then delivered.
func TestStoredRetries(t *testing.T) {
	var calls atomic.Int64
	flaky := startBackend(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if calls.Add(1)%2 == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h := newStored(t, StoredHookConfig{Endpoint: Endpoint{URL: flaky.URL, Retries: 1}, Workers: 1})
	run(t, h)
	stored(h, 3)
	deadline := time.Now().Add(5 * time.Second)
	for h.Stats().Delivered < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := h.Stats(); s != (StoredHookStats{Delivered: 3}) || flaky.hits.Load() != 6 {
		t.Errorf("Stats = %+v after %d calls; want 3 delivered after 6", s, flaky.hits.Load())
	}
}
