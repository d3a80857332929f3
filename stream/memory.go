package stream

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// DefaultMaxLen is the number of entries a Memory log keeps per room when
// MemoryConfig.MaxLen is zero.
const DefaultMaxLen = 10000

// DefaultMaxRooms is MemoryConfig.MaxRooms when it is zero: far more rooms
// than one process serves with viewers, yet a bound on the names a client
// can make the log keep (a room without entries costs about 400 bytes).
const DefaultMaxRooms = 100_000

// DefaultRoomIdle is MemoryConfig.RoomIdle when it is zero. It is well
// above fan-out's RoomLinger (30 s), so a room stays as long as any viewer
// of this process watches it and for minutes after the last one left,
// and a viewer reconnecting after a short break still resumes from its
// history; yet a room posted to once and abandoned frees its memory
// within minutes.
const DefaultRoomIdle = 10 * time.Minute

// minRoomCapacity is the first ring size of a room. Rings grow by doubling
// up to MaxLen, so a quiet room does not hold MaxLen slots.
const minRoomCapacity = 16

// publishedIDsPerAlloc is how many newest IDs a room publishes from one
// allocation (see room.newest).
const publishedIDsPerAlloc = 64

// maxSweepInterval bounds the time between two sweeps for idle rooms, so
// that rooms without entries, evicted by the first sweep that finds no Read
// waiting on them, go within a minute even with a long RoomIdle.
const maxSweepInterval = time.Minute

// fullSweepInterval is how soon after a sweep an Append that finds
// MaxRooms reached sweeps again before it fails, so that rooms gone idle
// since the last sweep make room without every failed Append paying a
// sweep.
const fullSweepInterval = time.Second

// MemoryConfig configures a Memory log. The zero value works.
type MemoryConfig struct {
	// MaxLen is the number of entries kept per room; each Append beyond it
	// trims the oldest entry, like XADD MAXLEN = N. Zero or less means
	// DefaultMaxLen.
	MaxLen int
	// MaxRooms caps the rooms that hold entries at once: the first Append
	// to a room beyond it fails with ErrTooManyRooms, until idle rooms are
	// evicted. Rooms that only blocked Reads follow are not counted (see
	// Memory). Zero or less means DefaultMaxRooms.
	MaxRooms int
	// RoomIdle is how long a room with entries stays after its last
	// Append and the last Read that followed it (see Memory). Zero or less
	// means DefaultRoomIdle.
	RoomIdle time.Duration
}

// Memory is the embedded, in-process Log. It has the semantics of Redis
// Streams (see Append and Page.Gap) without their durability: entries live
// until trimmed, until their room is evicted or until the process exits.
//
// A room is created by its first Append, or by a blocking Read following
// it, which needs a place to register. Rooms are evicted by sweeps, which
// Appends and blocking Reads run once per sweep interval (RoomIdle/4, at
// most a minute), each visiting every room. A sweep evicts a room on which no Read waits when
// the room has no entries, or when it was neither appended to nor followed
// by a Read for RoomIdle. So the rooms without entries are bounded by what
// the waiting Reads follow, and the others by MaxRooms; a room that a
// reader keeps following is never evicted.
//
// An evicted room is like a room of a restarted process: its history is
// gone. A room created again under its name assigns IDs above every ID of
// an evicted room, so a room's IDs keep increasing even when the clock
// steps back. A reader resuming from a position in an evicted room is never
// told that nothing is missing: until the room holds entries again, the
// position lies above Last, as after a reset (fan-out reports a gap); then
// it lies before the first entry of a log that never trimmed one, and
// Page.Gap is set.
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
// BenchmarkMemoryRead1000Rooms.) A Follower (NewFollower) goes further:
// its rooms stay registered between its Reads, so a Read looks only at the
// rooms appended to since the last one.
//
// Eviction marks a room dead under its lock before removing it from the
// map. An Append or a registering Read that locks a dead room looks the
// room up again, so no entry is stored in, and no Read waits on, a room
// that Appends can no longer find. Reading the entries of a dead room is
// harmless: they are what the room held when it was evicted.
type Memory struct {
	// Immutable after NewMemory. Times of the clock are nanoseconds since
	// epoch, on the monotonic clock (see clock).
	maxLen        int
	maxRooms      int64
	roomIdle      int64
	sweepInterval int64
	touchInterval int64 // how stale a room's usedAt may get while it is used
	epoch         time.Time

	// rooms maps a room name to its *room. A lookup takes no lock, so
	// readers scanning thousands of rooms do not contend with appends;
	// only sweeps remove rooms.
	rooms sync.Map

	// holding counts the rooms in rooms that hold entries; MaxRooms caps
	// it.
	holding atomic.Int64

	// floor is the greatest ID of an evicted room, or nil: the first ID of
	// a new room is above it.
	floor atomic.Pointer[codec.ID]

	// sweeping is set while a sweep runs; sweptAt is when the last one
	// began.
	sweeping atomic.Bool
	sweptAt  atomic.Int64
}

var _ Log = (*Memory)(nil)

// NewMemory returns an empty Memory log.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = DefaultMaxLen
	}
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = DefaultMaxRooms
	}
	if cfg.RoomIdle <= 0 {
		cfg.RoomIdle = DefaultRoomIdle
	}
	return &Memory{
		maxLen:        cfg.MaxLen,
		maxRooms:      int64(cfg.MaxRooms),
		roomIdle:      int64(cfg.RoomIdle),
		sweepInterval: int64(min(cfg.RoomIdle/4, maxSweepInterval)),
		touchInterval: int64(cfg.RoomIdle / 16),
		epoch:         time.Now(),
	}
}

// clock returns the time of the log's clock at now: nanoseconds since
// epoch, on the monotonic clock, so that a wall clock stepping does not
// evict rooms early or keep them.
func (m *Memory) clock(now time.Time) int64 { return int64(now.Sub(m.epoch)) }

// Append stores a copy of data as the newest entry of room, trimming the
// oldest entry when the room holds MaxLen, and returns the new ID. The ID is
// assigned like XADD *: the current Unix millisecond with sequence 0, or, if
// the clock has not passed the room's newest ID (same millisecond, or the
// clock stepped back), that ID's millisecond with the next sequence. IDs of
// a room therefore always increase, across evictions too (see Memory).
// Append fails when ctx is done, and with ErrTooManyRooms when the room
// holds no entries and MaxRooms rooms do.
func (m *Memory) Append(ctx context.Context, room string, data []byte) (codec.ID, error) {
	if err := ctx.Err(); err != nil {
		return codec.ID{}, err
	}
	stored := append(make([]byte, 0, len(data)), data...)
	now := time.Now()
	r, last, err := m.lockRoom(room, now)
	if err != nil {
		return codec.ID{}, err
	}
	id := nextID(last, uint64(max(now.UnixMilli(), 0)))
	r.appendLocked(Entry{ID: id, Data: stored}, m.maxLen)
	r.wakeLocked()
	r.mu.Unlock()
	return id, nil
}

// AppendBatch stores a copy of each of data, in order, as the newest
// entries of room, as Append would one after the other, but under one lock
// and with one wake-up of the room's readers. A batch's entries are all
// stored or all fail alike, with Append's errors.
func (m *Memory) AppendBatch(ctx context.Context, room string, data [][]byte) ([]codec.ID, []error) {
	ids, errs := make([]codec.ID, len(data)), make([]error, len(data))
	fail := func(err error) ([]codec.ID, []error) {
		for i := range errs {
			errs[i] = err
		}
		return ids, errs
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	// One copy of the whole batch, which the entries share, made before
	// the room is locked.
	size := 0
	for _, d := range data {
		size += len(d)
	}
	buf := make([]byte, 0, size)
	for _, d := range data {
		buf = append(buf, d...)
	}
	now := time.Now()
	r, last, err := m.lockRoom(room, now)
	if err != nil {
		return fail(err)
	}
	ms := uint64(max(now.UnixMilli(), 0))
	for i, d := range data {
		last = nextID(last, ms)
		ids[i] = last
		stored := buf[:len(d):len(d)]
		buf = buf[len(d):]
		r.appendLocked(Entry{ID: last, Data: stored}, m.maxLen)
	}
	r.wakeLocked()
	r.mu.Unlock()
	return ids, errs
}

// lockRoom returns the log of the room name, locked and touched at now, with the ID its
// next entry must follow. A room that holds no entries takes one of the
// MaxRooms places (after a full sweep, when none is free), or lockRoom
// fails with ErrTooManyRooms.
func (m *Memory) lockRoom(name string, now time.Time) (*room, codec.ID, error) {
	clock := m.clock(now)
	m.maybeSweep(clock, m.sweepInterval)
	for swept := false; ; {
		r := m.lockLive(name, clock)
		last := r.last()
		if r.n == 0 {
			if !m.reserve() {
				r.mu.Unlock()
				if !swept && m.maybeSweep(clock, int64(fullSweepInterval)) {
					swept = true
					continue
				}
				return nil, codec.ID{}, fmt.Errorf("%w: room %q would be one more than %d holding entries", ErrTooManyRooms, name, m.maxRooms)
			}
			// A new log, which may reuse the name of an evicted one.
			last = m.floorID()
		}
		r.touch(clock, m.touchInterval)
		return r, last, nil
	}
}

// reserve counts one more room holding entries, unless MaxRooms do.
func (m *Memory) reserve() bool {
	for {
		n := m.holding.Load()
		if n >= m.maxRooms {
			return false
		}
		if m.holding.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// floorID returns the greatest ID of an evicted room, or the zero ID.
func (m *Memory) floorID() codec.ID {
	if f := m.floor.Load(); f != nil {
		return *f
	}
	return codec.ID{}
}

// nextID returns the ID XADD * assigns after last at Unix millisecond now.
func nextID(last codec.ID, now uint64) codec.ID {
	if now > last.MS {
		return codec.ID{MS: now}
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
func (m *Memory) Last(ctx context.Context, room string) (codec.ID, error) {
	if err := ctx.Err(); err != nil {
		return codec.ID{}, err
	}
	if r := m.lookup(room); r != nil {
		return r.last(), nil
	}
	return codec.ID{}, nil
}

// Read returns one page for each cursor whose room has entries after it,
// holding up to count of them (zero or less means no cap), in cursor order.
// When none has any and block is positive, it waits until an Append to one
// of those rooms brings some, and returns nil after block without one. It
// returns ctx.Err() when ctx ends first. It never fails for MaxRooms: a
// room it waits on without entries is not counted.
func (m *Memory) Read(ctx context.Context, cursors []Cursor, count int, block time.Duration) ([]Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	clock := m.clock(time.Now())
	var w *waiter
	if block > 0 {
		m.maybeSweep(clock, m.sweepInterval)
		w = &waiter{wake: make(chan struct{}, 1)}
		defer w.done.Store(true)
	}
	// Read the rooms with new entries. Until one turns up, register with
	// the others, each under its lock, so that no Append goes unnoticed.
	var pages []Page
	for i, c := range cursors {
		r := m.lookup(c.Room)
		if r != nil {
			r.touch(clock, m.touchInterval)
		}
		switch {
		case r != nil && r.hasAfter(c.After):
			pages = m.readOrWait(r, pages, c, count, nil, i)
		case w != nil && len(pages) == 0:
			pages = m.readOrWait(r, pages, c, count, w, i)
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
			pages = m.readOrWait(m.lookup(cursors[i].Room), pages, cursors[i], count, w, i)
		}
	}
	return pages, nil
}

// readOrWait is room.readOrWait on r, the room of c, or nil when there was
// none: it creates the room to register w with, and looks the room up
// again when it was evicted before w could register.
func (m *Memory) readOrWait(r *room, pages []Page, c Cursor, count int, w *waiter, cursor int) []Page {
	for {
		if r == nil {
			r = m.roomFor(c.Room, m.clock(time.Now()))
		}
		var registered bool
		if pages, registered = r.readOrWait(pages, c, count, w, cursor); registered {
			return pages
		}
		r = nil
	}
}

// lockLive returns the room named name, created at clock if needed, locked
// and not evicted: a room evicted between its lookup and its locking is
// looked up again.
func (m *Memory) lockLive(name string, clock int64) *room {
	for {
		r := m.roomFor(name, clock)
		r.mu.Lock()
		if !r.dead {
			return r
		}
		r.mu.Unlock()
	}
}

// lookup returns the room named name, or nil if it does not exist.
func (m *Memory) lookup(name string) *room {
	if r, ok := m.rooms.Load(name); ok {
		return r.(*room)
	}
	return nil
}

// roomFor returns the room named name, creating it at clock if needed. The
// room returned may be evicted before the caller locks it (see room.dead).
func (m *Memory) roomFor(name string, clock int64) *room {
	if r := m.lookup(name); r != nil {
		return r
	}
	created := &room{name: name}
	created.usedAt.Store(clock)
	r, _ := m.rooms.LoadOrStore(name, created)
	return r.(*room)
}

// maybeSweep sweeps at clock unless a sweep began less than interval ago or
// is running, and reports whether it swept. The caller pays for the sweep,
// once per sweep interval: 80 to 200 ns per room, 10 to 20 ms for
// DefaultMaxRooms rooms (BenchmarkMemorySweep).
func (m *Memory) maybeSweep(clock, interval int64) bool {
	if clock-m.sweptAt.Load() < interval || !m.sweeping.CompareAndSwap(false, true) {
		return false
	}
	defer m.sweeping.Store(false)
	if clock-m.sweptAt.Load() < interval {
		return false // another sweep began meanwhile
	}
	m.sweptAt.Store(clock)
	m.sweep(clock)
	return true
}

// sweep evicts the idle rooms (see room.idleLocked). It does not lock a
// room with entries used within RoomIdle, and skips a room whose lock is
// held: an Append or a Read is using it. Sweeps may overlap (maybeSweep
// runs one at a time, but tests call sweep too): a room another sweep
// evicted is dead and left alone.
func (m *Memory) sweep(clock int64) {
	m.rooms.Range(func(_, value any) bool {
		r := value.(*room)
		if r.newest.Load() != nil && clock-r.usedAt.Load() < m.roomIdle {
			return true
		}
		if !r.mu.TryLock() {
			return true
		}
		if !r.dead && r.idleLocked(clock, m.roomIdle) {
			m.evictLocked(r)
		}
		r.mu.Unlock()
		return true
	})
}

// evictLocked marks r dead and removes it from the log. The floor is raised
// before the room leaves the map, so that an Append creating the room
// again reads a floor above r's IDs.
func (m *Memory) evictLocked(r *room) {
	r.dead = true
	if r.n > 0 {
		m.raiseFloor(r.last())
		m.holding.Add(-1)
	}
	m.rooms.CompareAndDelete(r.name, r)
}

// raiseFloor makes the floor at least id.
func (m *Memory) raiseFloor(id codec.ID) {
	for {
		old := m.floor.Load()
		if old != nil && !old.Less(id) {
			return
		}
		if m.floor.CompareAndSwap(old, &id) {
			return
		}
	}
}

// room is the log of one room: a ring buffer of its newest entries.
type room struct {
	// Immutable.
	name string

	// newest points at the newest ID ever assigned (kept when trimmed), an
	// element of ids that is never written again, so Read can pass over a
	// room with nothing new without taking mu. Stored with mu held.
	newest atomic.Pointer[codec.ID]

	// usedAt is the time of the log's clock of the last Append or Read
	// following the room, give or take Memory.touchInterval.
	usedAt atomic.Int64

	mu sync.Mutex
	// Guarded by mu. ring[head] is the oldest of n entries, which run on
	// from there and wrap around the end of ring.
	ring    []Entry
	head    int
	n       int
	ids     []codec.ID     // newest points into it; elements are written once
	trimmed codec.ID       // greatest ID removed by retention
	waiters []registration // blocked Reads to wake on the next Append
	// followers are the Followers of the room, marked by every Append
	// (memory_follow.go).
	followers []*followed
	// dead is set when the room is evicted, just before it leaves the
	// log's map; it never holds entries or registrations again.
	dead bool
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
		r.ids = make([]codec.ID, 0, publishedIDsPerAlloc)
	}
	r.ids = append(r.ids, e.ID)
	r.newest.Store(&r.ids[len(r.ids)-1])
}

// last returns the newest ID ever assigned, or the zero ID. It takes no lock.
func (r *room) last() codec.ID {
	if p := r.newest.Load(); p != nil {
		return *p
	}
	return codec.ID{}
}

// hasAfter reports whether the room holds entries after id. It takes no
// lock, so it may miss an Append that is still going on.
func (r *room) hasAfter(id codec.ID) bool {
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
func (r *room) searchLocked(id codec.ID) int {
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
func (r *room) rangeLocked(after, through codec.ID, limit int, newest bool) (entries []Entry, gap bool) {
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
// that no Append can slip in between. It reports false when it should have
// registered but the room is dead: the caller looks the room up again.
func (r *room) readOrWait(pages []Page, c Cursor, count int, w *waiter, cursor int) (_ []Page, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	entries, gap := r.rangeLocked(c.After, codec.ID{}, count, false)
	if len(entries) > 0 {
		return append(pages, Page{Room: r.name, Entries: entries, Gap: gap}), true
	}
	if w == nil || len(pages) > 0 {
		return pages, true
	}
	if r.dead {
		return pages, false
	}
	r.waiters = slices.DeleteFunc(r.waiters, registration.finished)
	r.waiters = append(r.waiters, registration{waiter: w, cursor: cursor})
	return pages, true
}

// touch records that the room is used at clock, unless usedAt is less
// than interval older: a reader passing over thousands of rooms does not
// write to each of them every time, nor does every Append to a busy room.
func (r *room) touch(clock, interval int64) {
	if clock-r.usedAt.Load() > interval {
		r.usedAt.Store(clock)
	}
}

// idleLocked reports whether the room may be evicted at clock: no Read
// waits on it, no Follower follows it, and it has no entries or was not
// used for idle. It drops
// the registrations of the Reads that returned.
func (r *room) idleLocked(clock, idle int64) bool {
	r.waiters = slices.DeleteFunc(r.waiters, registration.finished)
	return len(r.waiters) == 0 && len(r.followers) == 0 && (r.n == 0 || clock-r.usedAt.Load() >= idle)
}

// finished reports whether the Read that registered has returned; such
// registrations are dropped by the room's next Append or registration.
func (g registration) finished() bool { return g.waiter.done.Load() }

// wakeLocked wakes every Read waiting for this room and marks the room
// for its Followers.
func (r *room) wakeLocked() {
	for _, f := range r.followers {
		f.mark()
	}
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
