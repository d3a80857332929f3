package edge_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/stream"
)

// errInjected is the failure faultyLog returns.
var errInjected = errors.New("injected failure")

// faultyLog is a Memory log whose calls can be made to fail a number of
// times, or to wait until released.
type faultyLog struct {
	*stream.Memory

	// readFails, lastFails and rangeFails are how many of the next calls
	// fail.
	readFails, lastFails, rangeFails atomic.Int32
	// holdLast and holdRange make the calls wait for release.
	holdLast, holdRange atomic.Bool
	// rangeEntered and rangeReturned receive one value per held Range.
	rangeEntered, rangeReturned chan struct{}

	releaseOnce sync.Once
	released    chan struct{}
}

func newFaultyLog(mem *stream.Memory) *faultyLog {
	return &faultyLog{
		Memory:        mem,
		rangeEntered:  make(chan struct{}, 16),
		rangeReturned: make(chan struct{}, 16),
		released:      make(chan struct{}),
	}
}

// release lets held calls go on, and every later one through at once.
func (f *faultyLog) release() { f.releaseOnce.Do(func() { close(f.released) }) }

func (f *faultyLog) hold(ctx context.Context) error {
	select {
	case <-f.released:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take consumes one planned failure.
func take(failures *atomic.Int32) bool {
	for {
		n := failures.Load()
		if n <= 0 {
			return false
		}
		if failures.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (f *faultyLog) Read(ctx context.Context, cursors []stream.Cursor, count int, block time.Duration) ([]stream.Page, error) {
	if take(&f.readFails) {
		return nil, errInjected
	}
	return f.Memory.Read(ctx, cursors, count, block)
}

func (f *faultyLog) Last(ctx context.Context, room string) (codec.ID, error) {
	if f.holdLast.Load() {
		if err := f.hold(ctx); err != nil {
			return codec.ID{}, err
		}
	}
	if take(&f.lastFails) {
		return codec.ID{}, errInjected
	}
	return f.Memory.Last(ctx, room)
}

func (f *faultyLog) Range(ctx context.Context, q stream.Query) (stream.Page, error) {
	if f.holdRange.Load() {
		f.rangeEntered <- struct{}{}
		defer func() { f.rangeReturned <- struct{}{} }()
		if err := f.hold(ctx); err != nil {
			return stream.Page{}, err
		}
	}
	if take(&f.rangeFails) {
		return stream.Page{}, errInjected
	}
	return f.Memory.Range(ctx, q)
}

// TestReadFailureRecovers makes the follower's reads fail a few times
// while messages keep coming: delivery resumes and nothing is lost.
func TestReadFailureRecovers(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReadBlock: 100 * time.Millisecond}, faulty.Memory, faulty, 1)
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, nil)
	v.waitJoined(t)
	e.append("room", 0)
	v.waitIDs(t, 1)

	faulty.readFails.Store(3)
	for n := 1; n <= 20; n++ {
		e.append("room", n)
		time.Sleep(10 * time.Millisecond)
	}
	if d := diffIDs(v.waitIDs(t, 21), e.streamIDs("room", codec.ID{})); d != "" {
		t.Errorf("after failed reads: %s", d)
	}
	if n := faulty.readFails.Load(); n != 0 {
		t.Errorf("%d planned read failures did not happen", n)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "stream read failed") {
		t.Errorf("logs %q do not report the failed reads", logs)
	}
	for _, b := range v.batches(t) {
		if b.Gap || b.Dropped != 0 {
			t.Errorf("batch %+v reports a loss", b)
		}
	}
}

// TestFollowBeyondMaxRooms follows rooms on an embedded log that holds
// as many rooms with entries as it may: posts to a new room fail, but
// following it does not, so the rooms that hold entries keep delivering.
func TestFollowBeyondMaxRooms(t *testing.T) {
	t.Parallel()
	mem := stream.NewMemory(stream.MemoryConfig{MaxRooms: 1, RoomIdle: time.Hour})
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReadBlock: 100 * time.Millisecond}, mem, nil, 1)
	e.append("full", 0)
	full, fresh := e.viewer(0, e.jsonEnc), e.viewer(0, e.jsonEnc)
	e.join(0, "full", full, nil)
	e.join(0, "fresh", fresh, nil)
	full.waitJoined(t)
	fresh.waitJoined(t)
	if _, err := mem.Append(context.Background(), "fresh", msgData(1)); !errors.Is(err, stream.ErrTooManyRooms) {
		t.Fatalf("Append to a room beyond MaxRooms = %v; want ErrTooManyRooms", err)
	}
	e.append("full", 2)
	full.waitIDs(t, 1)
	if n := e.hub.Stats().ReadErrors.Load(); n != 0 {
		t.Errorf("%d read errors; want none", n)
	}
	if ids := fresh.ids(t); len(ids) != 0 {
		t.Errorf("the viewer of the room beyond MaxRooms got %v", ids)
	}
}

// TestLastFailureRetries makes finding a new room's newest entry fail
// twice: the join completes once it succeeds, with its replay.
func TestLastFailureRetries(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond}, faulty.Memory, faulty, 1)
	first := e.append("room", 0)
	e.append("room", 1)
	faulty.lastFails.Store(2)
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, parseID(t, first))
	v.waitJoined(t)
	e.append("room", 2)
	if got, want := v.waitIDs(t, 2), e.streamIDs("room", *parseID(t, first)); !slices.Equal(got, want) {
		t.Errorf("viewer got %v; want %v", got, want)
	}
	if n := faulty.lastFails.Load(); n != 0 {
		t.Errorf("%d planned Last failures did not happen", n)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "cannot find the newest entry") {
		t.Errorf("logs %q do not report the failed lookups", logs)
	}
}

// TestReplayFailureReportsGap makes a replay's read fail: the viewer is
// told of a gap, then gets the live messages.
func TestReplayFailureReportsGap(t *testing.T) {
	t.Parallel()
	faulty := newFaultyLog(newMemory(0))
	// No replays from memory: this one must read the stream.
	e := newEnv(t, fanout.Config{FlushInterval: time.Millisecond, ReplayCache: -1}, faulty.Memory, faulty, 1)
	keeper := e.viewer(0, e.jsonEnc)
	e.join(0, "room", keeper, nil)
	keeper.waitJoined(t)
	first := e.append("room", 0)
	e.append("room", 1)
	keeper.waitIDs(t, 2)

	faulty.rangeFails.Store(1)
	v := e.viewer(0, e.jsonEnc)
	e.join(0, "room", v, parseID(t, first))
	v.waitJoined(t)
	e.append("room", 2)
	v.waitIDs(t, 1)
	bs := v.batches(t)
	if len(bs) != 2 || !bs[0].Gap || len(bs[0].Msgs) != 0 || bs[1].Gap || !slices.Equal(ns(bs[1].Msgs), []int{2}) {
		t.Errorf("after a failed replay the viewer got %+v; want an empty gap batch, then message 2", bs)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "replay failed") {
		t.Errorf("logs %q do not report the failed replay", logs)
	}
}
