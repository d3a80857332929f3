package policy

import (
	"context"
	"sync"
	"time"
)

// minSweep is the number of keys below which Memory never sweeps: a sweep
// walks every key, so it runs only when the map has doubled since the
// last one, which keeps its cost constant per write.
const minSweep = 1024

// entry is a value with an expiry in Unix nanoseconds (zero: none).
type entry struct {
	value   int64
	expires int64
}

// Memory is the Store of a single node: a map with expiring entries, each
// operation atomic under one lock. The zero value is not usable; create
// one with NewMemory. Expired entries are swept as the map grows, so it
// holds about twice the live keys at most.
type Memory struct {
	mu struct {
		sync.Mutex
		entries   map[Key]entry
		nextSweep int
	}
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	m := &Memory{}
	m.mu.entries = make(map[Key]entry)
	m.mu.nextSweep = minSweep
	return m
}

// getLocked returns the live value of key.
func (m *Memory) getLocked(key Key, now int64) (entry, bool) {
	e, ok := m.mu.entries[key]
	if !ok {
		return entry{}, false
	}
	if e.expires != 0 && e.expires <= now {
		delete(m.mu.entries, key)
		return entry{}, false
	}
	return e, true
}

// setLocked stores e under key and sweeps expired entries when the map
// has doubled since the last sweep.
func (m *Memory) setLocked(key Key, e entry, now int64) {
	m.mu.entries[key] = e
	if len(m.mu.entries) < m.mu.nextSweep {
		return
	}
	for k, e := range m.mu.entries {
		if e.expires != 0 && e.expires <= now {
			delete(m.mu.entries, k)
		}
	}
	m.mu.nextSweep = max(2*len(m.mu.entries), minSweep)
}

// Take implements Store with the generic cell rate algorithm: each bucket
// keeps the time at which it will be full again (its theoretical arrival
// time), which is all a token bucket needs. All buckets are checked
// before any is charged.
func (m *Memory) Take(ctx context.Context, buckets []Bucket) (time.Duration, error) {
	now := time.Now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	var wait int64
	for _, b := range buckets {
		if b.Limit.Enabled() {
			wait = max(wait, m.waitLocked(b, now))
		}
	}
	if wait > 0 {
		return time.Duration(wait), nil
	}
	for _, b := range buckets {
		if b.Limit.Enabled() {
			tat := max(m.tatLocked(b.Key, now), now) + int64(b.Limit.interval())
			m.setLocked(b.Key, entry{value: tat, expires: tat}, now)
		}
	}
	return 0, nil
}

// tatLocked returns the theoretical arrival time of bucket key, or zero.
func (m *Memory) tatLocked(key Key, now int64) int64 {
	e, _ := m.getLocked(key, now)
	return e.value
}

// waitLocked returns how long b has no token, or zero.
func (m *Memory) waitLocked(b Bucket, now int64) int64 {
	interval := int64(b.Limit.interval())
	tat := max(m.tatLocked(b.Key, now), now)
	return max(tat+interval-b.Limit.burst()*interval-now, 0)
}

// Claim implements Store.
func (m *Memory) Claim(ctx context.Context, key Key, ttl time.Duration) (time.Duration, error) {
	now := time.Now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.getLocked(key, now); ok {
		return time.Duration(e.expires - now), nil
	}
	m.setLocked(key, entry{value: 1, expires: now + int64(ttl)}, now)
	return 0, nil
}

// Marked implements Store.
func (m *Memory) Marked(ctx context.Context, key Key) (time.Duration, error) {
	now := time.Now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.getLocked(key, now); ok {
		return time.Duration(e.expires - now), nil
	}
	return 0, nil
}

// SetSlowMode implements Store.
func (m *Memory) SetSlowMode(ctx context.Context, room string, interval time.Duration) error {
	now := time.Now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	if interval <= 0 {
		delete(m.mu.entries, slowModeKey(room))
		return nil
	}
	m.setLocked(slowModeKey(room), entry{value: int64(interval)}, now)
	return nil
}

// Pace implements Store.
func (m *Memory) Pace(ctx context.Context, room, uid string) (time.Duration, error) {
	now := time.Now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	mode, ok := m.getLocked(slowModeKey(room), now)
	if !ok {
		return 0, nil
	}
	interval := mode.value
	key := paceKey(room, uid)
	if last, ok := m.getLocked(key, now); ok && now-last.value < interval {
		return time.Duration(interval - (now - last.value)), nil
	}
	m.setLocked(key, entry{value: now, expires: now + interval}, now)
	return 0, nil
}

// Ban implements Store.
func (m *Memory) Ban(ctx context.Context, room, uid string, d time.Duration) error {
	now := time.Now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLocked(banKey(room, uid), entry{value: 1, expires: now + int64(d)}, now)
	return nil
}

// Unban implements Store.
func (m *Memory) Unban(ctx context.Context, room, uid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mu.entries, banKey(room, uid))
	return nil
}

// Banned implements Store.
func (m *Memory) Banned(ctx context.Context, room, uid string) (time.Duration, error) {
	return m.Marked(ctx, banKey(room, uid))
}
