package policy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// backend is a webhook backend on loopback that counts its calls and
// answers each with handle.
type backend struct {
	*httptest.Server
	hits atomic.Int64
}

func startBackend(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		handle(w, r, body)
	}))
	t.Cleanup(b.Close)
	return b
}

// answering returns a handler that answers status and body.
func answering(status int, body string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// deadURL returns a URL nothing listens on: connections are refused.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/hook"
}

var quiet = slog.New(slog.DiscardHandler)

func newPublish(t *testing.T, cfg PublishHookConfig) *PublishHook {
	t.Helper()
	cfg.Logger = quiet
	h, err := NewPublishHook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func testComment() *Comment {
	return &Comment{
		Room:     "r",
		Message:  codec.Message{UID: "u1", Name: "Ann", Text: "hello", Color: codec.DefaultColor, Mode: codec.ModeScroll},
		User:     User{ID: "u1", Name: "Ann", Role: "viewer", Authenticated: true},
		ClientIP: netip.MustParseAddr("192.0.2.7"),
	}
}

func before(h *PublishHook) (*Comment, error) {
	c := testComment()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c, h.Before(ctx, c)
}

// TestPublishAccept checks what the backend receives, the signature, and
// that an empty 2xx and an accept both let the comment through unchanged.
func TestPublishAccept(t *testing.T) {
	secret := []byte("s3cret")
	for _, answer := range []string{"", `{"action":"accept","text":"ignored"}`, `{}`} {
		var got publishRequest
		var signed bool
		b := startBackend(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
			_ = json.Unmarshal(body, &got)
			ts := r.Header.Get(HeaderWebhookTimestamp)
			signed = ts != "" && r.Header.Get(HeaderWebhookSignature) == SignWebhook(secret, ts, body) &&
				r.Header.Get("Content-Type") == "application/json"
			_, _ = io.WriteString(w, answer)
		})
		h := newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL, Secret: secret}})
		c, err := before(h)
		if err != nil || c.Message != testComment().Message {
			t.Errorf("answer %q: Before = %v, %+v; want nil, unchanged", answer, err, c.Message)
		}
		want := publishRequest{webhookComment: webhookComment{Room: "r", UID: "u1", Name: "Ann", Text: "hello",
			Color: codec.DefaultColor, Mode: codec.ModeScroll}, ClientIP: "192.0.2.7", Role: "viewer", Authenticated: true}
		if got != want || !signed {
			t.Errorf("backend got %+v (signed %v); want %+v, signed", got, signed, want)
		}
	}
}

func TestSignWebhook(t *testing.T) {
	// echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
	got := SignWebhook([]byte("key"), "1700000000", []byte(`{"a":1}`))
	if !strings.HasPrefix(got, "sha256=") || len(got) != len("sha256=")+64 {
		t.Fatalf("SignWebhook = %q", got)
	}
	if got == SignWebhook([]byte("key"), "1700000001", []byte(`{"a":1}`)) {
		t.Error("signature does not cover the timestamp")
	}
}

// TestPublishReject checks a rejection carries the backend's code and
// message when they are fit to pass on, and neither otherwise.
func TestPublishReject(t *testing.T) {
	tests := []struct {
		answer string
		want   Rejection
	}{
		{`{"action":"reject","code":"no_links","message":"links are for supporters"}`, Rejection{"no_links", "links are for supporters"}},
		{`{"action":"reject"}`, Rejection{}},
		{`{"action":"reject","code":"Bad Code","message":"a\nb"}`, Rejection{}},
		{`{"action":"reject","code":"` + strings.Repeat("x", 65) + `"}`, Rejection{}},
	}
	for _, tt := range tests {
		b := startBackend(t, answering(200, tt.answer))
		_, err := before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL}}))
		var r *Rejection
		if !errors.As(err, &r) || *r != tt.want {
			t.Errorf("answer %s: Before = %v; want %+v", tt.answer, err, tt.want)
		}
	}
}

// TestPublishRewrite checks a rewrite sets text and prio, and that an
// invalid one is a failed call.
func TestPublishRewrite(t *testing.T) {
	b := startBackend(t, answering(200, `{"action":"rewrite","text":"hello ✨","prio":2}`))
	c, err := before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL}}))
	if err != nil || c.Message.Text != "hello ✨" || c.Message.Prio != 2 {
		t.Errorf("rewrite: Before = %v, %+v; want text and prio rewritten", err, c.Message)
	}
	b = startBackend(t, answering(200, `{"action":"rewrite","prio":1}`))
	if c, err = before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL}})); err != nil || c.Message.Text != "hello" || c.Message.Prio != 1 {
		t.Errorf("prio only: Before = %v, %+v; want prio 1, text kept", err, c.Message)
	}
	for _, answer := range []string{
		`{"action":"rewrite","text":""}`,
		`{"action":"rewrite","text":"two\nlines"}`,
		`{"action":"rewrite","text":"` + strings.Repeat("x", 11) + `"}`,
		`{"action":"rewrite","prio":-1}`,
		`{"action":"delete"}`,
		`not json`,
	} {
		b := startBackend(t, answering(200, answer))
		c, err := before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL}, MaxTextRunes: 10}))
		if !errors.Is(err, ErrHookUnavailable) || c.Message != testComment().Message {
			t.Errorf("answer %s: Before = %v, %+v; want ErrHookUnavailable, unchanged", answer, err, c.Message)
		}
		c, err = before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL}, MaxTextRunes: 10, FailOpen: true}))
		if err != nil || c.Message != testComment().Message {
			t.Errorf("answer %s, fail open: Before = %v, %+v; want nil, unchanged", answer, err, c.Message)
		}
	}
}

// TestPublishSlow checks a backend slower than the timeout fails the call
// within the bound: closed refuses, open accepts.
func TestPublishSlow(t *testing.T) {
	release := make(chan struct{})
	b := startBackend(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	for _, open := range []bool{false, true} {
		h := newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL, Timeout: 100 * time.Millisecond, Retries: 1}, FailOpen: open})
		start := time.Now()
		_, err := before(h)
		elapsed := time.Since(start)
		if open && err != nil || !open && !errors.Is(err, ErrHookUnavailable) {
			t.Errorf("fail open %v: Before = %v", open, err)
		}
		// Two attempts of 100 ms and a 50 ms pause.
		if elapsed < 200*time.Millisecond || elapsed > time.Second {
			t.Errorf("fail open %v: Before took %v; want about 250ms", open, elapsed)
		}
	}
	// The request's own deadline ends the retries sooner.
	h := newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL, Timeout: time.Second, Retries: 3}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := h.Before(ctx, testComment()); !errors.Is(err, ErrHookUnavailable) || time.Since(start) > 500*time.Millisecond {
		t.Errorf("short deadline: Before = %v after %v; want ErrHookUnavailable within 100ms", err, time.Since(start))
	}
}

// TestPublishRetries checks 5xx and transport errors are retried and 4xx
// are not, and that success after a 5xx accepts.
func TestPublishRetries(t *testing.T) {
	var calls atomic.Int64
	b := startBackend(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, `{"action":"rewrite","text":"second"}`)
	})
	c, err := before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL, Retries: 1}}))
	if err != nil || c.Message.Text != "second" || b.hits.Load() != 2 {
		t.Errorf("5xx then 200: Before = %v, %q after %d calls; want nil, second, 2 calls", err, c.Message.Text, b.hits.Load())
	}
	b = startBackend(t, answering(http.StatusServiceUnavailable, ""))
	if _, err := before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL, Retries: 2}})); !errors.Is(err, ErrHookUnavailable) || b.hits.Load() != 3 {
		t.Errorf("always 503: Before = %v after %d calls; want ErrHookUnavailable after 3", err, b.hits.Load())
	}
	b = startBackend(t, answering(http.StatusNotFound, ""))
	if _, err := before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL, Retries: 2}})); !errors.Is(err, ErrHookUnavailable) || b.hits.Load() != 1 {
		t.Errorf("404: Before = %v after %d calls; want ErrHookUnavailable after 1", err, b.hits.Load())
	}
	b = startBackend(t, answering(200, `{"action":"rewrite","text":"`+strings.Repeat("x", MaxWebhookAnswerBytes)+`"}`))
	if _, err := before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL}})); !errors.Is(err, ErrHookUnavailable) {
		t.Errorf("answer above 64 KiB: Before = %v; want ErrHookUnavailable", err)
	}
	elsewhere := startBackend(t, answering(200, ""))
	b = startBackend(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	})
	if _, err := before(newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL}})); !errors.Is(err, ErrHookUnavailable) || elsewhere.hits.Load() != 0 {
		t.Errorf("redirect: Before = %v, %d calls elsewhere; want ErrHookUnavailable, none", err, elsewhere.hits.Load())
	}
}

// TestPublishDead checks a backend that refuses connections fails every
// post at once, by the failure policy.
func TestPublishDead(t *testing.T) {
	url := deadURL(t)
	for _, open := range []bool{false, true} {
		h := newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: url, Retries: 1}, FailOpen: open})
		start := time.Now()
		_, err := before(h)
		if open && err != nil || !open && !errors.Is(err, ErrHookUnavailable) || time.Since(start) > time.Second {
			t.Errorf("fail open %v: Before = %v after %v", open, err, time.Since(start))
		}
	}
}

// TestPublishBreaker checks the breaker stops calls after the failures in
// a row, lets one probe through after the cooldown, and closes when the
// backend answers again.
func TestPublishBreaker(t *testing.T) {
	var healthy atomic.Bool
	b := startBackend(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	const cooldown = 200 * time.Millisecond
	h := newPublish(t, PublishHookConfig{Endpoint: Endpoint{URL: b.URL}, BreakerFailures: 3, BreakerCooldown: cooldown})
	for range 10 {
		if _, err := before(h); !errors.Is(err, ErrHookUnavailable) {
			t.Fatalf("Before = %v; want ErrHookUnavailable", err)
		}
	}
	if n := b.hits.Load(); n != 3 {
		t.Errorf("backend called %d times by 10 posts; want 3, then the breaker open", n)
	}
	time.Sleep(cooldown + 50*time.Millisecond)
	for range 5 {
		_, _ = before(h) // the probe fails: open again
	}
	if n := b.hits.Load(); n != 4 {
		t.Errorf("backend called %d times; want 4: one probe after the cooldown", n)
	}
	healthy.Store(true)
	time.Sleep(cooldown + 50*time.Millisecond)
	for range 5 {
		if _, err := before(h); err != nil {
			t.Errorf("after recovery: Before = %v; want nil", err)
		}
	}
	if n := b.hits.Load(); n != 9 {
		t.Errorf("backend called %d times; want 9: the probe closed the breaker", n)
	}
}

func TestBreakerOneProbe(t *testing.T) {
	b := newBreaker(1, time.Second)
	now := time.Now()
	if ok, _ := b.allow(now); !ok {
		t.Fatal("closed breaker refused")
	}
	if !b.done(false, false, now) {
		t.Error("first failure of 1 did not open the breaker")
	}
	if ok, _ := b.allow(now.Add(time.Second / 2)); ok {
		t.Error("open breaker allowed a call")
	}
	later := now.Add(2 * time.Second)
	if ok, probe := b.allow(later); !ok || !probe {
		t.Error("no probe after the cooldown")
	}
	if ok, _ := b.allow(later); ok {
		t.Error("a second call while the probe runs")
	}
	b.done(true, true, later)
	if ok, probe := b.allow(later); !ok || probe {
		t.Error("breaker not closed by a good probe")
	}
}

func TestNewWebhookURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/", "http://", "localhost:80", "://"} {
		if _, err := NewPublishHook(PublishHookConfig{Endpoint: Endpoint{URL: u}}); !errors.Is(err, ErrWebhook) {
			t.Errorf("NewPublishHook(%q) = %v; want ErrWebhook", u, err)
		}
		if _, err := NewStoredHook(StoredHookConfig{Endpoint: Endpoint{URL: u}}); !errors.Is(err, ErrWebhook) {
			t.Errorf("NewStoredHook(%q) = %v; want ErrWebhook", u, err)
		}
	}
}
