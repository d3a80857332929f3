package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/policy"
)

const testHookSecret = "hook-secret-for-tests"

// hookBackend is a webhook backend on loopback: it checks the signature,
// counts the calls and answers with handle.
type hookBackend struct {
	*httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	bodies []map[string]any
}

func startHookBackend(t *testing.T, handle func(w http.ResponseWriter, comment map[string]any)) *hookBackend {
	t.Helper()
	b := &hookBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(policy.HeaderWebhookTimestamp)
		if r.Header.Get(policy.HeaderWebhookSignature) != policy.SignWebhook([]byte(testHookSecret), ts, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var comment map[string]any
		_ = json.Unmarshal(body, &comment)
		b.mu.Lock()
		b.bodies = append(b.bodies, comment)
		b.mu.Unlock()
		handle(w, comment)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *hookBackend) received() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]map[string]any(nil), b.bodies...)
}

// TestServeWebhooks runs serve with both webhooks set by flags, and checks
// the publish webhook rejects and rewrites what viewers and the history
// then see, and that the stored webhook receives every stored comment
// with its id.
func TestServeWebhooks(t *testing.T) {
	publish := startHookBackend(t, func(w http.ResponseWriter, comment map[string]any) {
		switch comment["text"] {
		case "buy now":
			_, _ = io.WriteString(w, `{"action":"reject","code":"no_ads","message":"no ads here"}`)
		case "gold":
			_, _ = io.WriteString(w, `{"action":"rewrite","text":"★ gold","prio":2}`)
		}
	})
	stored := startHookBackend(t, func(http.ResponseWriter, map[string]any) {})
	n := startNode(t, "serve", "--hook-secret", testHookSecret,
		"--publish-hook-url", publish.URL, "--stored-hook-url", stored.URL)
	v := watch(t, "viewer", n.wsAddr, "r", "")
	gold := mustPost(t, n.apiAddr, "r", "gold")
	hello := mustPost(t, n.apiAddr, "r", "hello")
	if res := post(n.apiAddr, "r", "buy now"); res.status != 422 || res.code != "no_ads" {
		t.Errorf("rejected post: %d %q %v; want 422 no_ads", res.status, res.code, res.transErr)
	}
	waitHas(t, []*viewer{v}, []string{gold, hello})
	comments, _, _ := v.snapshot()
	if len(comments) != 2 || comments[0].text != "★ gold" || comments[1].text != "hello" {
		t.Errorf("viewer got %+v; want the rewrite and hello", comments)
	}

	if msgs := history(t, n.apiAddr, "r", ""); len(msgs) != 2 || msgs[0].Text != "★ gold" || msgs[0].Prio != 2 {
		t.Errorf("history = %+v; want the rewrite with prio 2 first", msgs)
	}

	waitFor(t, 5*time.Second, "the stored webhook to receive both comments", func() bool { return len(stored.received()) == 2 })
	got := make(map[string]any)
	for _, c := range stored.received() {
		got[c["id"].(string)] = c["text"]
	}
	if got[gold] != "★ gold" || got[hello] != "hello" {
		t.Errorf("stored webhook got %v; want %s ★ gold and %s hello", got, gold, hello)
	}
	if c := publish.received()[0]; c["room"] != "r" || c["client_ip"] != "127.0.0.1" {
		t.Errorf("publish webhook got %v", c)
	}
}

// TestServeWebhookFailing checks a publish webhook that fails: closed
// refuses with 503 hook_unavailable, the breaker stops the calls, open
// accepts; and a dead stored webhook never slows a post.
func TestServeWebhookFailing(t *testing.T) {
	failing := startHookBackend(t, func(w http.ResponseWriter, _ map[string]any) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	dead := deadHookURL(t)
	n := startNode(t, "serve", "--hook-secret", testHookSecret, "--publish-hook-url", failing.URL,
		"--publish-hook-retries", "1", "--publish-hook-breaker-failures", "2", "--publish-hook-breaker-cooldown", "1h")
	for i := range 5 {
		if res := post(n.apiAddr, "r", "hi"); res.status != 503 || res.code != "hook_unavailable" {
			t.Errorf("post %d: %d %q %v; want 503 hook_unavailable", i, res.status, res.code, res.transErr)
		}
	}
	if hits := failing.hits.Load(); hits != 4 {
		t.Errorf("failing backend called %d times by 5 posts; want 4: 2 posts of 2 tries, then the breaker open", hits)
	}

	slow := startHookBackend(t, func(http.ResponseWriter, map[string]any) { time.Sleep(2 * time.Second) })
	n = startNode(t, "serve", "--publish-hook-url", slow.URL, "--publish-hook-timeout", "100ms",
		"--publish-hook-retries", "0", "--publish-hook-fail", "open", "--stored-hook-url", dead)
	start := time.Now()
	mustPost(t, n.apiAddr, "r", "slow backend, fail open")
	if took := time.Since(start); took > time.Second {
		t.Errorf("post with a slow backend took %v; want about 100ms", took)
	}
	if slow.hits.Load() != 1 {
		t.Errorf("slow backend called %d times; want 1", slow.hits.Load())
	}

	n = startNode(t, "serve", "--stored-hook-url", dead, "--stored-hook-queue", "4")
	var slowest time.Duration
	for range 50 {
		res := post(n.apiAddr, "r", "to a dead stored webhook")
		if res.status != http.StatusCreated {
			t.Fatalf("post: %d %q %v", res.status, res.code, res.transErr)
		}
		slowest = max(slowest, res.took)
	}
	if slowest > 500*time.Millisecond {
		t.Errorf("slowest post with a dead stored webhook took %v", slowest)
	}
}

// TestWebhookFlagErrors checks bad webhook flags are usage errors.
func TestWebhookFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--publish-hook-url", "ftp://example.com/"},
		{"--publish-hook-url", "http://127.0.0.1:1/", "--publish-hook-fail", "maybe"},
		{"--stored-hook-url", "example.com/hook"},
		{"--publish-hook-url", "http://127.0.0.1:1/", "--publish-hook-timeout", "2s"},
	} {
		var o options
		if err := parseFlags(commandFlags("serve", commandRoles["serve"], &o), args, io.Discard); err != nil {
			t.Fatal(err)
		}
		var usage usageError
		if _, err := openWebhooks(&o, nil); !errors.As(err, &usage) {
			t.Errorf("%s: openWebhooks = %v; want a usage error", strings.Join(args, " "), err)
		}
	}
}

func deadHookURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String() + "/hook"
}
