package stream

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxLen is the number of entries a Memory log keeps per room when
// MemoryConfig.MaxLen is zero.
const DefaultMaxLen = 10000

// minRoomCapacity is the first ring size of a room. Rings grow by doubling
// up to MaxLen, so a quiet room does not hold MaxLen slots.
const minRoomCapacity = 16

// publishedIDsPerAlloc is how many newest IDs a room publishes from one
// allocation (see room.newest).
const publishedIDsPerAlloc = 64

// MemoryConfig configures a Memory log. The zero value works.
type MemoryConfig struct {
	// MaxLen is the number of entries kept per room; each Append beyond it
	// trims the oldest entry, like XADD MAXLEN = N. Zero or less means
	// DefaultMaxLen.
	MaxLen int
}

// Memory is the embedded, in-process Log. It has the semantics of Redis
// Streams (see Append and Page.Gap) without their durability: entries live
// until trimmed or until the process exits. Rooms are created by their
// first Append (or by a blocking Read following them) and are never freed,
// so memory is bounded by the number of rooms times MaxLen entries.
//
// Memory is safe for concurrent use. The Data of returned entries is shared
// with the log and with every other reader, and must not be modified.
//
// Read passes over a room with nothing new after its cursor without locking
// it. A Read that has to wait registers with each room it follows, and an
// Append wakes only the Reads registered with its room; a woken Read
// re-examines only the rooms that woke it. So a reader following thousands
// of rooms pays one pass over them per Read, and is never woken by appends
// to rooms it does not follow. (One broadcast
// waking every waiting Read on any Append would spare the registrations, but
// make every Read rescan all its rooms after an Append anywhere; see
// BenchmarkMemoryRead1000Rooms.)
type Memory struct {
	// Immutable after NewMemory.
	maxLen int

	// rooms maps a room name to its *room. Rooms are added and never
	// removed, which is what sync.Map is fast at: a lookup takes no lock,
	// so readers scanning thousands of rooms do not contend with appends.
	rooms sync.Map
}

var _ Log = (*Memory)(nil)

// NewMemory returns an empty Memory log.
func NewMemory(cfg MemoryConfig) *Memory {
	m := &Memory{maxLen: cfg.MaxLen}
	if m.maxLen <= 0 {
		m.maxLen = DefaultMaxLen
	}
	return m
}

// Append stores a copy of data as the newest entry of room, trimming the
// oldest entry when the room holds MaxLen, and returns the new ID. The ID is
// assigned like XADD *: the current Unix millisecond with sequence 0, or, if
// the clock has not passed the room's newest ID (same millisecond, or the
// clock stepped back), that ID's millisecond with the next sequence. IDs of
// a room therefore always increase. Append fails only when ctx is done.
func (m *Memory) Append(ctx context.Context, room string, data []byte) (ID, error) {
	if err := ctx.Err(); err != nil {
		return ID{}, err
	}
	stored := append(make([]byte, 0, len(data)), data...)
	now := uint64(max(time.Now().UnixMilli(), 0))
	r := m.roomFor(room)
	r.mu.Lock()
	id := nextID(r.last(), now)
	r.appendLocked(Entry{ID: id, Data: stored}, m.maxLen)
	r.wakeLocked()
	r.mu.Unlock()
	return id, nil
}

// nextID returns the ID XADD * assigns after last at Unix millisecond now.
func nextID(last ID, now uint64) ID {
	if now > last.MS {
		return ID{MS: now}
	}
	return last.Next()
}

// Range returns the entries q selects, oldest first. A room never appended
// to gives an empty page.
func (m *Memory) Range(ctx context.Context, q Query) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	page := Page{Room: q.Room}
	if r := m.lookup(q.Room); r != nil {
		r.mu.Lock()
		page.Entries, page.Gap = r.rangeLocked(q.After, q.Through, q.Limit, q.Newest)
		r.mu.Unlock()
	}
	return page, nil
}

// Last returns the ID of room's newest entry, or the zero ID when the room
// has none.
func (m *Memory) Last(ctx context.Context, room string) (ID, error) {
	if err := ctx.Err(); err != nil {
		return ID{}, err
	}
	if r := m.lookup(room); r != nil {
		return r.last(), nil
	}
	return ID{}, nil
}

// Read returns one page for each cursor whose room has entries after it,
// holding up to count of them (zero or less means no cap), in cursor order.
// When none has any and block is positive, it waits until an Append to one
// of those rooms brings some, and returns nil after block without one. It
// returns ctx.Err() when ctx ends first.
func (m *Memory) Read(ctx context.Context, cursors []Cursor, count int, block time.Duration) ([]Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var w *waiter
	if block > 0 {
		w = &waiter{wake: make(chan struct{}, 1)}
		defer w.done.Store(true)
	}
	// Read the rooms with new entries. Until one turns up, register with
	// the others, each under its lock, so that no Append goes unnoticed.
	var pages []Page
	for i, c := range cursors {
		r := m.lookup(c.Room)
		switch {
		case r != nil && r.hasAfter(c.After):
			pages = r.readOrWait(pages, c, count, nil, i)
		case w != nil && len(pages) == 0:
			if r == nil {
				r = m.roomFor(c.Room)
			}
			pages = r.readOrWait(pages, c, count, w, i)
		}
	}
	if len(pages) > 0 || block <= 0 {
		return pages, nil
	}
	timer := time.NewTimer(block)
	defer timer.Stop()
	var fired []int
	for len(pages) == 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return nil, nil
		case <-w.wake:
		}
		fired = w.takeFired(fired)
		for _, i := range fired {
			pages = m.roomFor(cursors[i].Room).readOrWait(pages, cursors[i], count, w, i)
		}
	}
	return pages, nil
}

// lookup returns the room named name, or nil if it does not exist.
func (m *Memory) lookup(name string) *room {
	if r, ok := m.rooms.Load(name); ok {
		return r.(*room)
	}
	return nil
}

// roomFor returns the room named name, creating it if needed.
func (m *Memory) roomFor(name string) *room {
	if r := m.lookup(name); r != nil {
		return r
	}
	r, _ := m.rooms.LoadOrStore(name, &room{name: name})
	return r.(*room)
}

// room is the log of one room: a ring buffer of its newest entries.
type room struct {
	// Immutable.
	name string

	// newest points at the newest ID ever assigned (kept when trimmed), an
	// element of ids that is never written again, so Read can pass over a
	// room with nothing new without taking mu. Stored with mu held.
	newest atomic.Pointer[ID]

	mu sync.Mutex
	// Guarded by mu. ring[head] is the oldest of n entries, which run on
	// from there and wrap around the end of ring.
	ring    []Entry
	head    int
	n       int
	ids     []ID           // newest points into it; elements are written once
	trimmed ID             // greatest ID removed by retention
	waiters []registration // blocked Reads to wake on the next Append
}

// registration is a blocked Read waiting for an Append to a room.
type registration struct {
	waiter *waiter
	cursor int // index of the room's cursor in the Read's cursors
}

// atLocked returns the i-th oldest retained entry.
func (r *room) atLocked(i int) *Entry {
	j := r.head + i
	if j >= len(r.ring) {
		j -= len(r.ring)
	}
	return &r.ring[j]
}

// appendLocked stores e as the newest entry, trimming the oldest one when
// the room already holds maxLen.
func (r *room) appendLocked(e Entry, maxLen int) {
	switch {
	case r.n < len(r.ring):
		*r.atLocked(r.n) = e
		r.n++
	case len(r.ring) < maxLen:
		r.growLocked(min(max(2*len(r.ring), minRoomCapacity), maxLen))
		r.ring[r.n] = e
		r.n++
	default:
		r.trimmed = r.ring[r.head].ID
		r.ring[r.head] = e
		r.head++
		if r.head == len(r.ring) {
			r.head = 0
		}
	}
	if len(r.ids) == cap(r.ids) {
		r.ids = make([]ID, 0, publishedIDsPerAlloc)
	}
	r.ids = append(r.ids, e.ID)
	r.newest.Store(&r.ids[len(r.ids)-1])
}

// last returns the newest ID ever assigned, or the zero ID. It takes no lock.
func (r *room) last() ID {
	if p := r.newest.Load(); p != nil {
		return *p
	}
	return ID{}
}

// hasAfter reports whether the room holds entries after id. It takes no
// lock, so it may miss an Append that is still going on.
func (r *room) hasAfter(id ID) bool {
	p := r.newest.Load()
	return p != nil && id.Less(*p)
}

// growLocked moves the entries to a ring of size size, oldest first.
func (r *room) growLocked(size int) {
	ring := make([]Entry, size)
	tail := copy(ring, r.ring[r.head:])
	if tail < r.n {
		copy(ring[tail:], r.ring[:r.n-tail])
	}
	r.ring = ring
	r.head = 0
}

// searchLocked returns the index of the oldest retained entry after id, or
// n if there is none.
func (r *room) searchLocked(id ID) int {
	lo, hi := 0, r.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if id.Less(r.atLocked(mid).ID) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// rangeLocked returns the retained entries after after and, unless through
// is zero, at or before through: the oldest limit of them, or the newest
// when newest is set (zero or less means all). gap reports that entries
// after after are missing: trimmed, cut by a newest limit, or never in this
// log.
func (r *room) rangeLocked(after, through ID, limit int, newest bool) (entries []Entry, gap bool) {
	// A position before the oldest entry of a log that never trimmed one
	// was never in this log: it comes from a log that was reset (a
	// restarted process), so what followed it is lost too. Redis reports
	// the same case the same way.
	gap = after.Less(r.trimmed) ||
		(r.trimmed.IsZero() && !after.IsZero() && r.n > 0 && after.Less(r.atLocked(0).ID))
	if !r.hasAfter(after) {
		return nil, gap
	}
	start, end := r.searchLocked(after), r.n
	if !through.IsZero() {
		end = r.searchLocked(through)
	}
	if end <= start {
		return nil, gap
	}
	if limit > 0 && end-start > limit {
		if newest {
			start = end - limit
			gap = true
		} else {
			end = start + limit
		}
	}
	entries = make([]Entry, end-start)
	for i := range entries {
		entries[i] = *r.atLocked(start + i)
	}
	return entries, gap
}

// readOrWait appends to pages the page of up to count entries after c, if
// there are any. If there are none and pages is still empty, it registers w
// (when not nil) to be woken by the next Append, under the same lock, so
// that no Append can slip in between.
func (r *room) readOrWait(pages []Page, c Cursor, count int, w *waiter, cursor int) []Page {
	r.mu.Lock()
	defer r.mu.Unlock()
	entries, gap := r.rangeLocked(c.After, ID{}, count, false)
	if len(entries) > 0 {
		return append(pages, Page{Room: r.name, Entries: entries, Gap: gap})
	}
	if w != nil && len(pages) == 0 {
		r.waiters = slices.DeleteFunc(r.waiters, registration.finished)
		r.waiters = append(r.waiters, registration{waiter: w, cursor: cursor})
	}
	return pages
}

// finished reports whether the Read that registered has returned; such
// registrations are dropped by the room's next Append or registration.
func (g registration) finished() bool { return g.waiter.done.Load() }

// wakeLocked wakes every Read waiting for this room.
func (r *room) wakeLocked() {
	for _, g := range r.waiters {
		g.waiter.notify(g.cursor)
	}
	clear(r.waiters)
	r.waiters = r.waiters[:0]
}

// waiter is one blocked Read.
type waiter struct {
	wake chan struct{} // capacity 1: one pending wake-up covers many appends
	done atomic.Bool   // set when the Read returns

	mu struct {
		sync.Mutex
		fired []int // cursors whose rooms were appended to since the last take
	}
}

// notify records that the room of cursor was appended to and wakes the Read.
func (w *waiter) notify(cursor int) {
	if w.done.Load() {
		return
	}
	w.mu.Lock()
	w.mu.fired = append(w.mu.fired, cursor)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// takeFired moves the fired cursors into dst, in cursor order, and returns it.
func (w *waiter) takeFired(dst []int) []int {
	w.mu.Lock()
	dst = append(dst[:0], w.mu.fired...)
	w.mu.fired = w.mu.fired[:0]
	w.mu.Unlock()
	slices.Sort(dst)
	return dst
}
