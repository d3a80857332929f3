package policy

import (
	"sync"
	"time"
)

// Circuit breaker defaults of the publish webhook.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 10 * time.Second
)

// breaker stops calls to a failing backend: after failures calls in a row
// have failed it opens, and calls fail at once for cooldown. Then it lets
// one call through as a probe (half-open): its success closes the breaker,
// its failure opens it for another cooldown. It is safe for concurrent use.
type breaker struct {
	// Immutable after newBreaker.
	failures int
	cooldown time.Duration

	mu struct {
		sync.Mutex
		// failed counts the calls failed in a row.
		failed int
		// openUntil, when not zero, is when the open breaker lets a probe
		// through.
		openUntil time.Time
		// probing is set while the probe of a half-open breaker runs.
		probing bool
	}
}

func newBreaker(failures int, cooldown time.Duration) *breaker {
	if failures <= 0 {
		failures = DefaultBreakerFailures
	}
	if cooldown <= 0 {
		cooldown = DefaultBreakerCooldown
	}
	return &breaker{failures: failures, cooldown: cooldown}
}

// allow reports whether a call may be made at now, and whether it is the
// probe of a half-open breaker. The caller of an allowed call must report
// its outcome with done.
func (b *breaker) allow(now time.Time) (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.openUntil.IsZero() {
		return true, false
	}
	if now.Before(b.mu.openUntil) || b.mu.probing {
		return false, false
	}
	b.mu.probing = true
	return true, true
}

// done records the outcome of an allowed call, and reports whether it
// opened the breaker.
func (b *breaker) done(probe, ok bool, now time.Time) (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.mu.probing = false
	}
	if ok {
		b.mu.failed = 0
		b.mu.openUntil = time.Time{}
		return false
	}
	b.mu.failed++
	if probe || (b.mu.openUntil.IsZero() && b.mu.failed >= b.failures) {
		b.mu.openUntil = now.Add(b.cooldown)
		return true
	}
	return false
}
