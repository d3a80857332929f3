package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// idp is an identity provider's JWK Set endpoint run by a test: it serves
// the document set last, or fails with the status set last, and counts
// the requests.
type idp struct {
	*httptest.Server
	hits atomic.Int64

	mu struct {
		sync.Mutex
		doc    []byte
		status int         // answered instead of the document when not 0
		header http.Header // added to the answer
	}
}

// startIdP starts an endpoint serving the JWK Set of keys. It is closed
// when the test ends.
func startIdP(t testing.TB, keys ...map[string]any) *idp {
	t.Helper()
	p := &idp{}
	p.publish(keySetJSON(t, keys...))
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		p.mu.Lock()
		doc, status, header := p.mu.doc, p.mu.status, p.mu.header
		p.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		if status != 0 {
			http.Error(w, "unavailable", status)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *idp) publish(doc []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.doc, p.mu.status = doc, 0
}

func (p *idp) fail(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.status = status
}

func (p *idp) setHeader(h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.header = h
}

func (p *idp) url() string { return p.URL + "/.well-known/jwks.json" }

// testLogger logs to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// runKeySet fetches the key set of cfg and runs it until the test ends.
func runKeySet(t testing.TB, cfg KeySetConfig) *KeySet {
	t.Helper()
	s, err := NewKeySet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fetch(t.Context(), testLogger(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, testLogger(t))
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

// eventually polls cond every few milliseconds until it holds, failing
// the test after 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// idpClaims are the claims of a token of the identity provider.
func idpClaims(sub string) *tokenClaims {
	return &tokenClaims{RegisteredClaims: registered(sub, time.Now().Add(time.Hour), time.Time{}, time.Now())}
}

// TestKeySetRotation checks that a key the provider adds is used once a
// token naming its kid has made the set fetch again, and that the key it
// withdraws stops working, cached tokens included.
func TestKeySetRotation(t *testing.T) {
	oldKey, newKey := signer(algRS256, 0), signer(algES256, 0)
	p := startIdP(t, jwkOf("2024", oldKey.public()))
	set := runKeySet(t, KeySetConfig{URL: p.url(), MinRefresh: 20 * time.Millisecond, Refresh: time.Hour})
	v := newTestVerifier(t, Config{Secret: []byte{}, KeySet: set})
	oldToken, newToken := signAs(t, oldKey, "2024", idpClaims("u-old")), signAs(t, newKey, "2025", idpClaims("u-new"))
	if _, err := v.Verify(oldToken); err != nil {
		t.Fatalf("token of the published key: %v", err)
	}

	// The provider publishes the next key and signs with it.
	p.publish(keySetJSON(t, jwkOf("2024", oldKey.public()), jwkOf("2025", newKey.public())))
	if _, err := v.Verify(newToken); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("token of a key not fetched yet: %v; want ErrUnknownKey", err)
	}
	eventually(t, "the new key to be fetched", func() bool {
		_, err := v.Verify(newToken)
		return err == nil
	})
	if _, err := v.Verify(oldToken); err != nil {
		t.Errorf("token of the previous key, still published: %v", err)
	}

	// The provider withdraws the old key; the next fetch drops it.
	p.publish(keySetJSON(t, jwkOf("2025", newKey.public())))
	hits := p.hits.Load()
	_, _ = v.Verify(signAs(t, newKey, "2026", idpClaims("u")))
	eventually(t, "a fetch after the unknown kid 2026", func() bool { return p.hits.Load() > hits })
	eventually(t, "the withdrawn key to be refused", func() bool {
		_, err := v.Verify(oldToken)
		return errors.Is(err, ErrUnknownKey)
	})
	if _, err := v.Verify(newToken); err != nil {
		t.Errorf("token of the current key after the withdrawal: %v", err)
	}
}

// TestKeySetProviderDown checks that the keys fetched keep verifying while
// the provider fails, that Run retries, and that it picks up the provider's
// keys when it is back.
func TestKeySetProviderDown(t *testing.T) {
	key, next := signer(algEdDSA, 0), signer(algEdDSA, 1)
	p := startIdP(t, jwkOf("k1", key.public()))
	set := runKeySet(t, KeySetConfig{URL: p.url(), MinRefresh: 10 * time.Millisecond, Refresh: 20 * time.Millisecond})
	v := newTestVerifier(t, Config{Secret: []byte{}, KeySet: set, CacheSize: -1})
	token := signAs(t, key, "k1", idpClaims("u1"))

	for _, failure := range []func(){
		func() { p.fail(http.StatusServiceUnavailable) },
		func() { p.publish([]byte("<html>maintenance</html>")) },
		func() { p.publish(keySetJSON(t)) },
	} {
		failure()
		hits := p.hits.Load()
		eventually(t, "two fetches from the failing provider", func() bool { return p.hits.Load() >= hits+2 })
		if _, err := v.Verify(token); err != nil {
			t.Errorf("token of a fetched key while the provider fails: %v", err)
		}
	}

	// Connections refused: the provider is gone.
	down := startIdP(t, jwkOf("k1", key.public()))
	downSet := runKeySet(t, KeySetConfig{URL: down.url(), MinRefresh: 10 * time.Millisecond, Refresh: 20 * time.Millisecond})
	down.Close()
	time.Sleep(100 * time.Millisecond)
	if _, err := newTestVerifier(t, Config{Secret: []byte{}, KeySet: downSet}).Verify(token); err != nil {
		t.Errorf("token of a fetched key with the provider gone: %v", err)
	}

	// Back, with a new key.
	p.publish(keySetJSON(t, jwkOf("k1", key.public()), jwkOf("k2", next.public())))
	eventually(t, "the key published after the outage", func() bool {
		_, err := v.Verify(signAs(t, next, "k2", idpClaims("u2")))
		return err == nil
	})
}

// TestKeySetFlood checks that tokens naming random kids cost the provider
// at most one fetch per MinRefresh, and that Verify never waits for one.
func TestKeySetFlood(t *testing.T) {
	key := signer(algES256, 0)
	p := startIdP(t, jwkOf("k", key.public()))
	const minRefresh = 100 * time.Millisecond
	set := runKeySet(t, KeySetConfig{URL: p.url(), MinRefresh: minRefresh, Refresh: time.Hour})
	v := newTestVerifier(t, Config{Secret: []byte{}, KeySet: set})
	tokens := make([]string, 64)
	for i := range tokens {
		tokens[i] = signAs(t, key, "random-"+strconv.Itoa(i), idpClaims("u"))
	}

	const flood = time.Second
	start := time.Now()
	hitsBefore := p.hits.Load()
	var verified atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; time.Since(start) < flood; i++ {
				if _, err := v.Verify(tokens[i%len(tokens)]); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("token of a random kid: %v; want ErrUnknownKey", err)
					return
				}
				verified.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	hits := p.hits.Load() - hitsBefore
	// One fetch at once, then one per interval, and one that may have
	// been waiting for the interval to end.
	limit := 2 + int64(elapsed/minRefresh)
	t.Logf("%d tokens of random kids in %v: %d fetches (at most %d)", verified.Load(), elapsed, hits, limit)
	if hits < 2 || hits > limit {
		t.Errorf("%d fetches during a flood of %v with MinRefresh %v; want 2 to %d", hits, elapsed, minRefresh, limit)
	}
	if _, err := v.Verify(signAs(t, key, "k", idpClaims("u"))); err != nil {
		t.Errorf("the genuine token after the flood: %v", err)
	}
}

// TestVerifyNeverWaits checks that a token naming an unknown kid is
// refused while the fetch it asked for hangs.
func TestVerifyNeverWaits(t *testing.T) {
	key := signer(algEdDSA, 0)
	release := make(chan struct{})
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) > 1 {
			<-release
		}
		_, _ = w.Write(keySetJSON(t, jwkOf("k", key.public())))
	}))
	defer srv.Close()
	defer close(release)
	set := runKeySet(t, KeySetConfig{URL: srv.URL, MinRefresh: time.Millisecond, Refresh: time.Hour})
	v := newTestVerifier(t, Config{Secret: []byte{}, KeySet: set})

	_, _ = v.Verify(signAs(t, key, "new-1", idpClaims("u")))
	eventually(t, "the fetch to hang", func() bool { return hits.Load() == 2 })
	done := make(chan error, 1)
	go func() {
		_, err := v.Verify(signAs(t, key, "new-2", idpClaims("u")))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Verify during a hanging fetch: %v; want ErrUnknownKey", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Verify waited for the hanging fetch")
	}
}

func TestKeySetFetchRefuses(t *testing.T) {
	ed := jwkOf("k", signer(algEdDSA, 0).public())
	good := keySetJSON(t, ed)
	big := keySetJSON(t, with(ed, map[string]any{"x5c": []string{strings.Repeat("A", 4096)}}))
	// chunked answers no Content-Length: the body is cut at the limit.
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 4 {
			_, _ = w.Write(big[:len(big)/4])
			w.(http.Flusher).Flush()
		}
		_, _ = w.Write(big[len(big)/4*4:])
	}))
	defer chunked.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer hang.Close()
	p := startIdP(t, ed)
	closed := startIdP(t, ed)
	closed.Close()

	tests := []struct {
		name  string
		cfg   KeySetConfig
		serve func()
		want  error
	}{
		{"too large", KeySetConfig{URL: p.url(), MaxBytes: 2048}, func() { p.publish(big) }, ErrKeySetTooLarge},
		{"too large, chunked", KeySetConfig{URL: chunked.URL, MaxBytes: 2048}, nil, ErrKeySetTooLarge},
		{"not found", KeySetConfig{URL: p.url()}, func() { p.fail(http.StatusNotFound) }, ErrKeySet},
		{"HTML", KeySetConfig{URL: p.url()}, func() { p.publish([]byte("<html>login</html>")) }, ErrKeySet},
		{"no usable key", KeySetConfig{URL: p.url()}, func() { p.publish(keySetJSON(t, with(ed, map[string]any{"use": "enc"}))) }, ErrKeySet},
		{"connection refused", KeySetConfig{URL: closed.url()}, nil, ErrKeySet},
		{"timeout", KeySetConfig{URL: hang.URL, Timeout: 50 * time.Millisecond}, nil, ErrKeySet},
	}
	for _, tt := range tests {
		if tt.serve != nil {
			tt.serve()
		}
		s, err := NewKeySet(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Fetch(t.Context(), testLogger(t)); !errors.Is(err, tt.want) {
			t.Errorf("%s: Fetch = %v; want %v", tt.name, err, tt.want)
		}
		if s.keys.Load() != nil {
			t.Errorf("%s: the set holds keys after a failed fetch", tt.name)
		}
	}

	// A failed fetch leaves the last good set.
	p.publish(good)
	s, err := NewKeySet(KeySetConfig{URL: p.url(), MaxBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fetch(t.Context(), testLogger(t)); err != nil {
		t.Fatal(err)
	}
	p.publish(big)
	if err := s.Fetch(t.Context(), testLogger(t)); !errors.Is(err, ErrKeySetTooLarge) {
		t.Errorf("Fetch of an oversize set: %v; want ErrKeySetTooLarge", err)
	}
	if keys := s.keys.Load(); keys == nil || len(*keys) != 1 || (*keys)[0].kid != "k" {
		t.Errorf("after a failed fetch the set is %v; want the last good one", keys)
	}
}

func TestNewKeySetRefuses(t *testing.T) {
	for _, u := range []string{"", "jwks.json", "ftp://idp.test/jwks.json", "file:///etc/jwks.json", "https://", "http://[::1"} {
		if _, err := NewKeySet(KeySetConfig{URL: u}); !errors.Is(err, ErrKeySet) {
			t.Errorf("NewKeySet(%q) = %v; want ErrKeySet", u, err)
		}
	}
}

func TestNoDowngrade(t *testing.T) {
	request := func(u string) *http.Request {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: parsed}
	}
	tests := []struct {
		via  []string
		to   string
		fine bool
	}{
		{[]string{"https://idp.test/jwks"}, "https://cdn.idp.test/jwks", true},
		{[]string{"http://idp.test/jwks"}, "https://idp.test/jwks", true},
		{[]string{"http://idp.test/jwks"}, "http://idp.test/keys", true},
		{[]string{"https://idp.test/jwks"}, "http://idp.test/jwks", false},
		{[]string{"https://a", "https://b", "https://c", "https://d", "https://e"}, "https://f", false},
	}
	for _, tt := range tests {
		via := make([]*http.Request, len(tt.via))
		for i, u := range tt.via {
			via[i] = request(u)
		}
		if err := noDowngrade(request(tt.to), via); (err == nil) != tt.fine {
			t.Errorf("redirect from %v to %s: %v; want allowed %v", tt.via, tt.to, err, tt.fine)
		}
	}
}

func TestRefreshAfter(t *testing.T) {
	cfg := KeySetConfig{Refresh: 10 * time.Minute, MinRefresh: 30 * time.Second}
	tests := []struct {
		cacheControl []string
		want         time.Duration
	}{
		{nil, 10 * time.Minute},
		{[]string{"public, max-age=300"}, 5 * time.Minute},
		{[]string{"public, max-age=21600, must-revalidate"}, 10 * time.Minute},
		{[]string{"max-age=5"}, 30 * time.Second},
		{[]string{`max-age="120"`}, 2 * time.Minute},
		{[]string{"MAX-AGE=120"}, 2 * time.Minute},
		{[]string{"no-cache"}, 30 * time.Second},
		{[]string{"max-age=600", "no-store"}, 30 * time.Second},
		{[]string{"no-store, max-age=600"}, 30 * time.Second},
		{[]string{"max-age=soon"}, 10 * time.Minute},
		{[]string{"max-age=-1"}, 10 * time.Minute},
		{[]string{"private"}, 10 * time.Minute},
	}
	for _, tt := range tests {
		h := http.Header{}
		for _, v := range tt.cacheControl {
			h.Add("Cache-Control", v)
		}
		if got := refreshAfter(h, cfg); got != tt.want {
			t.Errorf("refreshAfter(Cache-Control %q) = %v; want %v", tt.cacheControl, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		cfg      KeySetConfig
		failures int
		want     time.Duration
	}{
		{KeySetConfig{Refresh: 10 * time.Minute, MinRefresh: 30 * time.Second}, 1, 30 * time.Second},
		{KeySetConfig{Refresh: 10 * time.Minute, MinRefresh: 30 * time.Second}, 2, time.Minute},
		{KeySetConfig{Refresh: 10 * time.Minute, MinRefresh: 30 * time.Second}, 5, 8 * time.Minute},
		{KeySetConfig{Refresh: 10 * time.Minute, MinRefresh: 30 * time.Second}, 6, 10 * time.Minute},
		{KeySetConfig{Refresh: 10 * time.Minute, MinRefresh: 30 * time.Second}, 1000, 10 * time.Minute},
		{KeySetConfig{Refresh: 24 * time.Hour, MinRefresh: 24 * time.Hour}, 100, 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := tt.cfg.retryAfter(tt.failures); got != tt.want {
			t.Errorf("%+v.retryAfter(%d) = %v; want %v", tt.cfg, tt.failures, got, tt.want)
		}
	}
}

// TestKeySetMaxAge checks that Run fetches again after the max-age of the
// provider's answer.
func TestKeySetMaxAge(t *testing.T) {
	p := startIdP(t, jwkOf("k", signer(algEdDSA, 0).public()))
	p.setHeader(http.Header{"Cache-Control": {"public, max-age=1"}})
	runKeySet(t, KeySetConfig{URL: p.url(), MinRefresh: 100 * time.Millisecond, Refresh: time.Hour})
	start := time.Now()
	eventually(t, "a fetch after max-age", func() bool { return p.hits.Load() >= 2 })
	if elapsed := time.Since(start); elapsed < 800*time.Millisecond {
		t.Errorf("fetched again after %v; want about the max-age, 1s", elapsed)
	}
}

// BenchmarkVerifyAlgorithms verifies tokens of each algorithm with a key
// from a key set, as an identity provider's: cached, the path of a user's
// every post after the first, and uncached, parsing and the signature
// check every time.
func BenchmarkVerifyAlgorithms(b *testing.B) {
	for _, alg := range []string{algRS256, algES256, algEdDSA} {
		for _, cached := range []bool{true, false} {
			name := fmt.Sprintf("%s/cached=%v", alg, cached)
			b.Run(name, func(b *testing.B) {
				cfg := Config{Secret: []byte{}, KeySet: keySetOf(b, setKey(b, alg, 0, "kid-1"))}
				if !cached {
					cfg.CacheSize = -1
				}
				v := newTestVerifier(b, cfg)
				token := signAs(b, signer(alg, 0), "kid-1", &tokenClaims{Name: "viewer", RegisteredClaims: registered("u-123456", time.Now().Add(time.Hour), time.Time{}, time.Now())})
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(token); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
