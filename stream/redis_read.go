package stream

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/redis/rueidis"

	"github.com/danmu-dev/danmu/rdb"
)

// Read returns one page for each cursor whose room has entries after it,
// holding up to count of them (zero or less means no cap), in cursor order,
// like Memory. When none has any and block is positive, it waits up to
// block and returns nil without one. It returns ctx.Err() when ctx ends
// first; other failures wrap ErrUnavailable. Cursors must name distinct
// rooms: Redis answers a stream named twice in one XREAD once.
//
// Waiting uses XREAD with the cursors' IDs (never $) and a finite BLOCK. On
// a single Redis one XREAD names every room. On a cluster one XREAD may only
// name keys of one hash slot, so the cursors are grouped by slot: Read
// first sends one non-blocking XREAD per slot, pipelined, and returns what
// they find; if nothing, it blocks with one XREAD per slot at once, returns
// as soon as one brings entries (with those of any other that did) and
// cancels the rest, or, beyond MaxBlockingReads slots, polls. A canceled
// XREAD is ended with CLIENT UNBLOCK, so its connection is kept.
//
// XREAD alone cannot see gaps, so after it Read verifies some rooms with
// XINFO STREAM, all in one pipelined round trip (see classify):
//
//   - A room whose page is full (count entries, or MaxLen): only a reader
//     behind by MaxLen entries can have been trimmed past, because MAXLEN ~
//     never keeps fewer than MaxLen, so a page that is not full cannot
//     follow a trimmed part. Its page gets Gap when entries are missing.
//   - A room followed from a non-zero cursor, at most once per second per
//     room (so idle rooms cost one XINFO STREAM per second, or per block
//     when longer): this finds a stream that was deleted (a Gap page
//     without entries), one that came back with IDs lower than the cursor
//     (a Gap page with its entries from the beginning) and one created
//     again after the cursor (its page gets Gap).
//
// An empty Gap page is returned once per room and cursor: a reader that
// keeps its cursor after it does not get another one every second, nor a
// second Gap when the stream comes back. A reset goes unnoticed when Read
// returns entries of the new stream before the room's next check, which
// moves the reader's cursor into the new stream's history.
func (r *Redis) Read(ctx context.Context, cursors []Cursor, count int, block time.Duration) ([]Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(cursors) == 0 {
		return nil, sleep(ctx, block)
	}
	opCtx, cancel := r.bound(ctx, max(block, 0))
	defer cancel()
	rd := redisRead{
		r:       r,
		cursors: cursors,
		keys:    make([]string, len(cursors)),
		ids:     make([]string, len(cursors)),
		count:   count,
	}
	for i, c := range cursors {
		rd.keys[i] = r.key(c.Room)
		rd.ids[i] = c.After.String()
	}
	found, err := rd.read(opCtx, block)
	var reports []int
	if err == nil {
		found, reports, err = rd.verify(opCtx, found)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, rdb.Unavailable(fmt.Sprintf("read %d rooms", len(cursors)), err)
	}
	now := time.Now()
	for _, i := range reports {
		r.checks.reported(cursors[i].Room, cursors[i].After, now)
	}
	if len(found) == 0 {
		return nil, nil
	}
	slices.SortFunc(found, func(a, b foundPage) int { return cmp.Compare(a.cursor, b.cursor) })
	pages := make([]Page, len(found))
	for i := range found {
		pages[i] = found[i].page
	}
	return pages, nil
}

// sleep waits for block or until ctx ends.
func sleep(ctx context.Context, block time.Duration) error {
	if block <= 0 {
		return nil
	}
	timer := time.NewTimer(block)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// redisRead is the state of one Read call.
type redisRead struct {
	r       *Redis
	cursors []Cursor
	keys    []string // stream key of each cursor's room
	ids     []string // each cursor's position, as XREAD takes it
	count   int
}

// readGroup holds the indexes of the cursors one XREAD names: all of them
// on a single Redis, those of one hash slot on a cluster.
type readGroup []int

// foundPage is a page found for the cursor at index cursor.
type foundPage struct {
	cursor int
	page   Page
}

// read returns the pages of the rooms that have entries after their
// cursors, waiting up to block for some.
func (rd *redisRead) read(ctx context.Context, block time.Duration) ([]foundPage, error) {
	groups := rd.groups()
	if len(groups) == 1 {
		return rd.collect(nil, groups[0], rd.r.client.Do(ctx, rd.command(groups[0], block)))
	}
	found, err := rd.readOnce(ctx, groups)
	if err != nil || len(found) > 0 || block <= 0 {
		return found, err
	}
	if len(groups) > rd.r.maxBlockingReads {
		return rd.poll(ctx, groups, block)
	}
	return rd.blockAny(ctx, groups, block)
}

// groups splits the cursors into the groups one XREAD each can read.
func (rd *redisRead) groups() []readGroup {
	if !rd.r.cluster {
		all := make(readGroup, len(rd.keys))
		for i := range all {
			all[i] = i
		}
		return []readGroup{all}
	}
	bySlot := make(map[uint16]int)
	var groups []readGroup
	for i, key := range rd.keys {
		s := rdb.Slot(key)
		g, ok := bySlot[s]
		if !ok {
			g = len(groups)
			bySlot[s] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// command returns the XREAD of group g, blocking for block when positive.
func (rd *redisRead) command(g readGroup, block time.Duration) rueidis.Completed {
	keys, ids := rd.keys, rd.ids
	if len(g) != len(rd.keys) {
		keys = make([]string, len(g))
		ids = make([]string, len(g))
		for j, i := range g {
			keys[j], ids[j] = rd.keys[i], rd.ids[i]
		}
	}
	count := int64(rd.count)
	ms := block.Milliseconds()
	if block > 0 && block%time.Millisecond != 0 {
		ms++ // BLOCK 0 would wait forever
	}
	xread := rd.r.client.B().Xread()
	switch {
	case count > 0 && block > 0:
		return xread.Count(count).Block(ms).Streams().Key(keys...).Id(ids...).Build().UnblockOnCancel()
	case block > 0:
		return xread.Block(ms).Streams().Key(keys...).Id(ids...).Build().UnblockOnCancel()
	case count > 0:
		return xread.Count(count).Streams().Key(keys...).Id(ids...).Build()
	default:
		return xread.Streams().Key(keys...).Id(ids...).Build()
	}
}

// collect appends to dst the pages of group g found in an XREAD reply.
func (rd *redisRead) collect(dst []foundPage, g readGroup, res rueidis.RedisResult) ([]foundPage, error) {
	streams, err := readStreams(res)
	if err != nil || len(streams) == 0 {
		return dst, err
	}
	for _, i := range g {
		msg, ok := streams[rd.keys[i]]
		if !ok {
			continue
		}
		entries, err := appendEntries(nil, &msg)
		if err != nil {
			return dst, err
		}
		if len(entries) > 0 {
			dst = append(dst, foundPage{cursor: i, page: Page{Room: rd.cursors[i].Room, Entries: entries}})
		}
	}
	return dst, nil
}

// readOnce reads every group without blocking, in one pipelined round trip
// per node.
func (rd *redisRead) readOnce(ctx context.Context, groups []readGroup) ([]foundPage, error) {
	cmds := make(rueidis.Commands, len(groups))
	for i, g := range groups {
		cmds[i] = rd.command(g, 0)
	}
	var found []foundPage
	for i, res := range rd.r.client.DoMulti(ctx, cmds...) {
		var err error
		if found, err = rd.collect(found, groups[i], res); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// blockAny runs one blocking XREAD per group at once and returns when one
// brings entries, with those the others brought before they were canceled,
// or when all time out. Every goroutine it starts has ended when it
// returns.
func (rd *redisRead) blockAny(ctx context.Context, groups []readGroup, block time.Duration) ([]foundPage, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type reply struct {
		group int
		res   rueidis.RedisResult
	}
	replies := make(chan reply, len(groups))
	for i, g := range groups {
		cmd := rd.command(g, block)
		go func() { replies <- reply{group: i, res: rd.r.client.Do(ctx, cmd)} }()
	}
	var found []foundPage
	var firstErr error
	stopped := false
	for range groups {
		rep := <-replies
		var err error
		found, err = rd.collect(found, groups[rep.group], rep.res)
		switch {
		case err != nil && !stopped:
			firstErr, stopped = err, true
			cancel()
		case len(found) > 0 && !stopped:
			stopped = true
			cancel()
		}
	}
	if len(found) > 0 {
		return found, nil
	}
	return nil, firstErr
}

// poll reads every group without blocking every PollInterval until one
// brings entries or block has passed.
func (rd *redisRead) poll(ctx context.Context, groups []readGroup, block time.Duration) ([]foundPage, error) {
	deadline := time.Now().Add(block)
	for {
		wait := min(rd.r.pollInterval, time.Until(deadline))
		if wait <= 0 {
			return nil, nil
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		found, err := rd.readOnce(ctx, groups)
		if err != nil || len(found) > 0 {
			return found, err
		}
	}
}

// verify checks with XINFO STREAM the rooms Read's doc lists, sets Gap on
// their pages or adds pages for them, and returns the cursors of the empty
// Gap pages, to remember as reported once the pages are returned.
func (rd *redisRead) verify(ctx context.Context, found []foundPage) (_ []foundPage, _ []int, err error) {
	r := rd.r
	full := int64(rd.count)
	if full <= 0 || full > r.maxLenEntries {
		full = r.maxLenEntries
	}
	slices.SortFunc(found, func(a, b foundPage) int { return cmp.Compare(a.cursor, b.cursor) })
	now := time.Now()
	var check, pageOf []int // cursor indexes to verify, and their index in found or -1
	r.checks.mu.Lock()
	r.checks.pruneLocked(now)
	next := 0
	for i, c := range rd.cursors {
		p := -1
		if next < len(found) && found[next].cursor == i {
			p = next
			next++
		}
		if (p >= 0 && int64(len(found[p].page.Entries)) >= full) ||
			(!c.After.IsZero() && r.checks.dueLocked(c.Room, now)) {
			check = append(check, i)
			pageOf = append(pageOf, p)
		}
	}
	r.checks.mu.Unlock()
	if len(check) == 0 {
		return found, nil, nil
	}
	defer func() {
		if err != nil {
			// The checks did not happen: the next Read must make them,
			// or a reset it would have seen goes unnoticed once XREAD
			// moves the cursor into the new stream.
			r.checks.undo(rd.cursors, check)
		}
	}()

	cmds := make(rueidis.Commands, len(check))
	for k, i := range check {
		cmds[k] = r.client.B().XinfoStream().Key(rd.keys[i]).Build()
	}
	var reports, fetch []int
	var fetchGap []bool
	for k, res := range r.client.DoMulti(ctx, cmds...) {
		info, err := parseStreamInfo(res)
		if err != nil {
			return nil, nil, err
		}
		i := check[k]
		c := rd.cursors[i]
		v := info.classify(c.After)
		if v == intact {
			continue
		}
		// A reset already reported at this cursor (with an empty page,
		// the one kind a reader cannot move past) is not reported again.
		already := r.checks.alreadyReported(c.Room, c.After)
		gap := v == trimmed || !already
		switch {
		case pageOf[k] >= 0:
			found[pageOf[k]].page.Gap = gap
		case info.length > 0:
			fetch = append(fetch, i)
			fetchGap = append(fetchGap, gap)
		case !already:
			found = append(found, foundPage{cursor: i, page: Page{Room: c.Room, Gap: true}})
			reports = append(reports, i)
		}
	}
	if len(fetch) == 0 {
		return found, reports, nil
	}

	// The stream holds entries after the cursor that XREAD did not return:
	// its IDs went back below the cursor, or it was created after the
	// XREAD. Either way the page starts from its oldest entry.
	cmds = make(rueidis.Commands, len(fetch))
	for k, i := range fetch {
		cmds[k] = r.rangeCommand(rd.keys[i], codec.ID{}, codec.ID{}, rd.count, false)
	}
	for k, res := range r.client.DoMulti(ctx, cmds...) {
		msg, err := res.ToMessage()
		if err != nil {
			return nil, nil, err
		}
		entries, err := appendEntries(nil, &msg)
		if err != nil {
			return nil, nil, err
		}
		i := fetch[k]
		if len(entries) == 0 && !fetchGap[k] {
			continue
		}
		found = append(found, foundPage{cursor: i, page: Page{Room: rd.cursors[i].Room, Entries: entries, Gap: fetchGap[k]}})
	}
	return found, reports, nil
}
