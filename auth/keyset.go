package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults for the zero fields of KeySetConfig.
const (
	// DefaultKeySetRefresh is the longest time between two fetches of a
	// key set: identity providers publish a new key well before they sign
	// with it, and a token naming an unknown kid fetches sooner.
	DefaultKeySetRefresh = 10 * time.Minute
	// DefaultKeySetMinRefresh is the shortest time between two fetches,
	// whatever asks for one: tokens naming unknown kids (a flood of them
	// costs the identity provider one request per interval), a short
	// Cache-Control max-age, or retries after a failure.
	DefaultKeySetMinRefresh = 30 * time.Second
	// DefaultKeySetTimeout bounds one fetch, connection and body included.
	DefaultKeySetTimeout = 10 * time.Second
	// DefaultKeySetMaxBytes bounds the document read: a key set of a few
	// keys, certificates included, is a few kilobytes.
	DefaultKeySetMaxBytes = 256 << 10
)

// KeySetConfig configures a KeySet. URL is required.
type KeySetConfig struct {
	// URL is where the JWK Set (RFC 7517) is published, http or https:
	// the jwks_uri of an OpenID provider's discovery document.
	URL string
	// Refresh is the longest time between two fetches. A Cache-Control
	// max-age in the answer shortens it, down to MinRefresh. Zero or less
	// means DefaultKeySetRefresh.
	Refresh time.Duration
	// MinRefresh is the shortest time between two fetches of Run. Zero or
	// less means DefaultKeySetMinRefresh.
	MinRefresh time.Duration
	// Timeout bounds one fetch. Zero or less means DefaultKeySetTimeout.
	Timeout time.Duration
	// MaxBytes is the largest document accepted. Zero or less means
	// DefaultKeySetMaxBytes.
	MaxBytes int64
}

func (c KeySetConfig) withDefaults() KeySetConfig {
	if c.Refresh <= 0 {
		c.Refresh = DefaultKeySetRefresh
	}
	if c.MinRefresh <= 0 {
		c.MinRefresh = DefaultKeySetMinRefresh
	}
	c.MinRefresh = min(c.MinRefresh, c.Refresh)
	if c.Timeout <= 0 {
		c.Timeout = DefaultKeySetTimeout
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultKeySetMaxBytes
	}
	return c
}

// KeySet is the set of public keys an identity provider publishes at a
// URL, for Config.KeySet. Fetch loads it; Run keeps it fresh. Verifying
// never waits for the network: a token naming a kid the set lacks is
// refused at once and asks Run for a fetch, so that the token's next try
// succeeds once the new key is in. On a failed fetch the last good set
// stays. It is safe for concurrent use.
type KeySet struct {
	// Immutable after NewKeySet.
	cfg    KeySetConfig
	client *http.Client

	// keys is the last good set, nil before the first. Fetches replace
	// it whole; verifying reads it without a lock.
	keys atomic.Pointer[[]verificationKey]
	// removals counts the fetches that dropped a key. A Verifier's cached
	// claims of an earlier count are verified again: tokens signed with a
	// withdrawn key stop working.
	removals atomic.Uint64
	// refreshAt is when the last good fetch said to fetch again, in Unix
	// nanoseconds, for Run to begin with after Fetch.
	refreshAt atomic.Int64
	// wanted asks Run for a fetch. Its capacity is 1: any number of
	// requests made before a fetch starts is served by that fetch.
	wanted chan struct{}
}

// NewKeySet returns a KeySet for cfg, holding no key until Fetch or Run
// fetches them. It fails when the URL is not an http or https one.
func NewKeySet(cfg KeySetConfig) (*KeySet, error) {
	cfg = cfg.withDefaults()
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: URL %q: want an http:// or https:// URL", ErrKeySet, cfg.URL)
	}
	s := &KeySet{cfg: cfg, wanted: make(chan struct{}, 1)}
	s.client = &http.Client{CheckRedirect: noDowngrade}
	return s, nil
}

// noDowngrade follows at most 5 redirects, never from https to http: keys
// fetched in clear text could be anyone's.
func noDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect from https to %s refused", req.URL.Scheme)
	}
	return nil
}

// Fetch fetches the key set now and keeps it if it is good, logging its
// keys and the ones it skipped. It is meant for startup, where a URL that
// does not serve a usable key set should stop the process; later, Run
// fetches.
func (s *KeySet) Fetch(ctx context.Context, logger *slog.Logger) error {
	f, err := s.fetch(ctx)
	if err != nil {
		return err
	}
	logger.Info("token key set fetched", "url", s.cfg.URL, "kids", f.added, "skipped", f.skipped)
	return nil
}

// Run keeps the key set fresh until ctx ends: it fetches when the set is
// older than Refresh (or the max-age of the last answer), and when a
// token named an unknown kid, but its fetches are never closer than
// MinRefresh. A failed
// fetch keeps the last good set and is retried after MinRefresh, then
// twice as long each time up to Refresh. It fetches at once if the set
// holds no key yet, else when the last fetch said to. logger gets the failures and the changes of the set.
func (s *KeySet) Run(ctx context.Context, logger *slog.Logger) {
	wait := time.Duration(0)
	if s.keys.Load() != nil {
		wait = time.Until(time.Unix(0, s.refreshAt.Load()))
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var last time.Time // when Run's last fetch started
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wanted:
			if early := time.Until(last.Add(s.cfg.MinRefresh)); early > 0 {
				timer.Reset(early)
				continue
			}
		}
		// Requests made until now are served by this fetch.
		select {
		case <-s.wanted:
		default:
		}
		last = time.Now()
		f, err := s.fetch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			retry := s.cfg.retryAfter(failures)
			logger.Warn("token key set: fetch failed; the last good set stays",
				"url", s.cfg.URL, "err", err, "failures", failures, "retry_in", retry)
			timer.Reset(retry)
			continue
		}
		if failures > 0 || len(f.added) > 0 || len(f.removed) > 0 {
			logger.Info("token key set fetched", "url", s.cfg.URL, "added", f.added, "removed", f.removed,
				"skipped", f.skipped, "after_failures", failures)
		}
		failures = 0
		timer.Reset(f.next)
	}
}

// fetched is what one good fetch did.
type fetched struct {
	added, removed []string      // kids of the keys it added and removed
	skipped        []string      // why the keys it did not use were skipped
	next           time.Duration // when to fetch again
}

// fetch gets the key set and installs it.
func (s *KeySet) fetch(ctx context.Context) (fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.URL, nil)
	if err != nil {
		return fetched{}, fmt.Errorf("%w: %w", ErrKeySet, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fetched{}, fmt.Errorf("%w: %w", ErrKeySet, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fetched{}, fmt.Errorf("%w: GET %s: %s", ErrKeySet, s.cfg.URL, resp.Status)
	}
	if resp.ContentLength > s.cfg.MaxBytes {
		return fetched{}, fmt.Errorf("%w: GET %s: %w: %d bytes > %d", ErrKeySet, s.cfg.URL, ErrKeySetTooLarge, resp.ContentLength, s.cfg.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBytes+1))
	if err != nil {
		return fetched{}, fmt.Errorf("%w: GET %s: %w", ErrKeySet, s.cfg.URL, err)
	}
	if int64(len(body)) > s.cfg.MaxBytes {
		return fetched{}, fmt.Errorf("%w: GET %s: %w: more than %d bytes", ErrKeySet, s.cfg.URL, ErrKeySetTooLarge, s.cfg.MaxBytes)
	}
	keys, skipped, err := parseKeySet(body)
	if err != nil {
		return fetched{}, fmt.Errorf("GET %s: %w", s.cfg.URL, err)
	}
	f := fetched{skipped: skipped, next: refreshAfter(resp.Header, s.cfg)}
	f.added, f.removed = s.install(keys)
	s.refreshAt.Store(time.Now().Add(f.next).UnixNano())
	return f, nil
}

// install makes keys the current set and returns the kids of the keys it
// added and removed. A removal bumps the generation.
func (s *KeySet) install(keys []verificationKey) (added, removed []string) {
	var old []verificationKey
	if p := s.keys.Swap(&keys); p != nil {
		old = *p
	}
	for _, k := range keys {
		if !slices.ContainsFunc(old, k.equal) {
			added = append(added, k.kid)
		}
	}
	for _, k := range old {
		if !slices.ContainsFunc(keys, k.equal) {
			removed = append(removed, k.kid)
		}
	}
	if len(removed) > 0 {
		s.removals.Add(1)
	}
	return added, removed
}

// retryAfter returns when to fetch again after the failures-th failed
// fetch in a row: MinRefresh, doubling with each failure, up to Refresh.
func (c KeySetConfig) retryAfter(failures int) time.Duration {
	retry := c.MinRefresh
	for i := 1; i < failures && retry < c.Refresh; i++ {
		retry *= 2
	}
	return min(retry, c.Refresh)
}

// refreshAfter returns when to fetch again after an answer with header h:
// after its Cache-Control max-age (no-cache and no-store count as 0),
// bounded by cfg's MinRefresh and Refresh; after Refresh without one.
func refreshAfter(h http.Header, cfg KeySetConfig) time.Duration {
	maxAge := time.Duration(-1)
	for _, value := range h.Values("Cache-Control") {
		for directive := range strings.SplitSeq(value, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(name) {
			case "no-cache", "no-store":
				maxAge = 0
			case "max-age":
				seconds, err := strconv.ParseUint(strings.Trim(arg, `"`), 10, 32)
				if err == nil && maxAge != 0 {
					maxAge = time.Duration(seconds) * time.Second
				}
			}
		}
	}
	if maxAge < 0 {
		return cfg.Refresh
	}
	return min(max(maxAge, cfg.MinRefresh), cfg.Refresh)
}

// appendKeys appends to dst the keys of the set that verify alg and carry
// kid (every key of alg when kid is empty), and asks Run for a fetch when
// the token names a kid the set lacks.
func (s *KeySet) appendKeys(dst []jwt.VerificationKey, kid, alg string) []jwt.VerificationKey {
	var keys []verificationKey
	if p := s.keys.Load(); p != nil {
		keys = *p
	}
	if kid != "" && !slices.ContainsFunc(keys, func(k verificationKey) bool { return k.kid == kid }) {
		select {
		case s.wanted <- struct{}{}:
		default:
		}
		return dst
	}
	return appendMatching(dst, keys, kid, alg)
}

// generation changes whenever a fetch drops a key.
func (s *KeySet) generation() uint64 { return s.removals.Load() }
