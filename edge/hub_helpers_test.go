package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/edge"

	"github.com/gobwas/ws"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/stream"
)

// waitTimeout bounds every wait for something the hub does on its own
// goroutines. It is generous: the tests run with the race detector on a
// small machine.
const waitTimeout = 10 * time.Second

// loop is a serial executor: one goroutine runs the funcs handed to it in
// order, as an event loop does. It stops when the test ends.
type loop struct {
	fns  chan func()
	quit chan struct{}
	done chan struct{}
}

func newLoop(tb testing.TB) *loop {
	l := &loop{fns: make(chan func(), 1024), quit: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	tb.Cleanup(func() {
		close(l.quit)
		<-l.done
	})
	return l
}

func (l *loop) run() {
	defer close(l.done)
	for {
		select {
		case fn := <-l.fns:
			fn()
		case <-l.quit:
			return
		}
	}
}

// Execute queues fn. After the loop stopped it drops fn.
func (l *loop) Execute(fn func()) {
	select {
	case l.fns <- fn:
	case <-l.quit:
	}
}

// Do runs fn on the loop and waits for it to return.
func (l *loop) Do(fn func()) {
	ran := make(chan struct{})
	l.Execute(func() {
		fn()
		close(ran)
	})
	select {
	case <-ran:
	case <-l.done:
	}
}

// viewer records what the hub gives it. Its fields are owned by its loop
// and read by the test only through loop.Do, so a call from any other
// goroutine is a data race the race detector reports.
type viewer struct {
	loop  *loop
	frame bool // it joined with the WebSocket frame encoding

	// Owned by loop.
	frames [][]byte
	joined []string
	// slow makes it refuse every frame but urgent ones, as a connection
	// past SoftOutbound does, and report no drained backlog.
	slow bool
}

func (v *viewer) Send(frame []byte, urgent bool) bool {
	if v.slow && !urgent {
		return false
	}
	v.frames = append(v.frames, bytes.Clone(frame))
	return true
}

func (v *viewer) Joined(room string) { v.joined = append(v.joined, room) }

func (v *viewer) Drained() bool { return !v.slow }

// state returns copies of what the viewer has received so far.
func (v *viewer) state() (frames [][]byte, joined []string) {
	v.loop.Do(func() {
		frames = slices.Clone(v.frames)
		joined = slices.Clone(v.joined)
	})
	return frames, joined
}

// batch is a decoded frame.
type batch struct {
	Type    string `json:"type"`
	Room    string `json:"room"`
	Msgs    []msg  `json:"msgs"`
	Dropped int    `json:"dropped"`
	Gap     bool   `json:"gap"`
}

// msg is one decoded message: its stream ID and the number the test gave it.
type msg struct {
	ID   string `json:"id"`
	Prio int    `json:"prio"`
	CID  string `json:"cid"`
	UID  string `json:"uid"`
	N    int    `json:"n"`
}

// payload returns the JSON of a frame of either encoding.
func payload(tb testing.TB, frame []byte, wsFrame bool) []byte {
	tb.Helper()
	if !wsFrame {
		return frame
	}
	h, n, err := codec.ParseHeader(frame)
	if err != nil || n == 0 {
		tb.Fatalf("ParseHeader(%q) = %v, %d, %v; want a complete header", frame, h, n, err)
	}
	if !h.Fin || h.OpCode != ws.OpText || h.Masked || h.Length != int64(len(frame)-n) {
		tb.Fatalf("frame header %+v for %d payload bytes; want a final unmasked text frame", h, len(frame)-n)
	}
	return frame[n:]
}

// decode decodes a frame strictly: valid JSON, nothing unknown, nothing
// after it.
func decode(tb testing.TB, frame []byte, wsFrame bool) batch {
	tb.Helper()
	p := payload(tb, frame, wsFrame)
	var b batch
	d := json.NewDecoder(bytes.NewReader(p))
	d.DisallowUnknownFields()
	if err := d.Decode(&b); err != nil || d.More() || !json.Valid(p) {
		tb.Fatalf("frame %q is not one batch object: %v", p, err)
	}
	if b.Type != "batch" {
		tb.Fatalf("frame %q has type %q; want batch", p, b.Type)
	}
	return b
}

// batches decodes what v has received.
func (v *viewer) batches(tb testing.TB) []batch {
	tb.Helper()
	frames, _ := v.state()
	out := make([]batch, len(frames))
	for i, f := range frames {
		out[i] = decode(tb, f, v.frame)
	}
	return out
}

// ids returns the IDs of every message v has received, in order.
func (v *viewer) ids(tb testing.TB) []string {
	tb.Helper()
	var ids []string
	for _, b := range v.batches(tb) {
		for _, m := range b.Msgs {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// waitFor polls cond until it holds, and fails the test after waitTimeout.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitIDs waits until v has received at least n messages and returns their
// IDs.
func (v *viewer) waitIDs(tb testing.TB, n int) []string {
	tb.Helper()
	var ids []string
	waitFor(tb, fmt.Sprintf("%d messages", n), func() bool {
		ids = v.ids(tb)
		return len(ids) >= n
	})
	return ids
}

// waitJoined waits until v's join is live.
func (v *viewer) waitJoined(tb testing.TB) {
	tb.Helper()
	waitFor(tb, "Joined", func() bool {
		_, joined := v.state()
		return len(joined) > 0
	})
}

// countingEncoder counts its calls per room.
type countingEncoder struct {
	enc fanout.Encoder

	mu struct {
		sync.Mutex
		calls map[string]int
	}
}

func newCountingEncoder(enc fanout.Encoder) *countingEncoder {
	c := &countingEncoder{enc: enc}
	c.mu.calls = make(map[string]int)
	return c
}

func (c *countingEncoder) AppendBatch(dst []byte, b *codec.Batch) []byte {
	c.mu.Lock()
	c.mu.calls[b.Room]++
	c.mu.Unlock()
	return c.enc.AppendBatch(dst, b)
}

func (c *countingEncoder) AppendOnline(dst []byte, room string, count int) []byte {
	return c.enc.AppendOnline(dst, room, count)
}

// encoder adapts a pair of codec functions to fanout.Encoder.
type encoder struct {
	batch  func([]byte, *codec.Batch) []byte
	online func([]byte, string, int) []byte
}

func (e encoder) AppendBatch(dst []byte, b *codec.Batch) []byte { return e.batch(dst, b) }

func (e encoder) AppendOnline(dst []byte, room string, count int) []byte {
	return e.online(dst, room, count)
}

func (c *countingEncoder) calls(room string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.calls[room]
}

// Encodings every env registers, in this order.
var (
	jsonEncoding  = encoder{codec.AppendBatchJSON, codec.AppendOnlineJSON}
	frameEncoding = encoder{codec.AppendBatchFrame, codec.AppendOnlineFrame}
)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a running Hub over a Memory log with a few shards, each on its own
// loop, and the two encodings registered (counted).
type env struct {
	tb     testing.TB
	mem    *stream.Memory
	hub    *fanout.Hub
	loops  []*loop
	shards []*edge.Shard
	logs   *syncBuffer
	// jsonEnc and frameEnc are the encoder indexes; counts[i] counts the
	// calls of encoder i.
	jsonEnc, frameEnc int
	counts            []*countingEncoder
}

// newEnv starts a Hub reading log (mem when log is nil).
func newEnv(tb testing.TB, cfg fanout.Config, mem *stream.Memory, log stream.Log, shards int) *env {
	tb.Helper()
	if log == nil {
		log = mem
	}
	if cfg.OnlineInterval == 0 {
		cfg.OnlineInterval = time.Hour // online frames only where a test asks for them
	}
	e := &env{tb: tb, mem: mem, logs: new(syncBuffer)}
	e.hub = fanout.New(cfg, log, slog.New(slog.NewTextHandler(e.logs, nil)))
	for _, enc := range []fanout.Encoder{jsonEncoding, frameEncoding} {
		c := newCountingEncoder(enc)
		e.counts = append(e.counts, c)
		if i := e.hub.RegisterEncoder(c); i != len(e.counts)-1 {
			tb.Fatalf("RegisterEncoder returned %d; want %d", i, len(e.counts)-1)
		}
	}
	e.jsonEnc, e.frameEnc = 0, 1
	for range shards {
		l := newLoop(tb)
		e.loops = append(e.loops, l)
		e.shards = append(e.shards, edge.NewShard(e.hub, l))
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- e.hub.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			tb.Errorf("Run returned %v; want context.Canceled", err)
		}
	})
	return e
}

// newMemory returns a Memory log keeping maxLen entries per room (a large
// default when zero).
func newMemory(maxLen int) *stream.Memory {
	if maxLen == 0 {
		maxLen = 1 << 20
	}
	return stream.NewMemory(stream.MemoryConfig{MaxLen: maxLen})
}

// viewer returns a viewer owned by shard's loop.
func (e *env) viewer(shard, enc int) *viewer {
	return &viewer{loop: e.loops[shard], frame: enc == e.frameEnc}
}

// join subscribes v (of shard) to room on its loop.
func (e *env) join(shard int, room string, v *viewer, since *codec.ID) *edge.Member {
	enc := e.jsonEnc
	if v.frame {
		enc = e.frameEnc
	}
	var sub *edge.Member
	e.loops[shard].Do(func() { sub = e.shards[shard].Join(room, v, enc, since) })
	return sub
}

// leave ends sub on shard's loop.
func (e *env) leave(shard int, sub *edge.Member) {
	e.loops[shard].Do(func() { e.shards[shard].Leave(sub) })
}

// append stores message n in room and returns its ID.
func (e *env) append(room string, n int) string {
	e.tb.Helper()
	id, err := e.mem.Append(context.Background(), room, msgData(n))
	if err != nil {
		e.tb.Fatalf("Append(%q) = %v", room, err)
	}
	return id.String()
}

// appendRaw stores data as is in room.
func (e *env) appendRaw(room string, data []byte) string {
	e.tb.Helper()
	id, err := e.mem.Append(context.Background(), room, data)
	if err != nil {
		e.tb.Fatalf("Append(%q) = %v", room, err)
	}
	return id.String()
}

// streamIDs returns the IDs the log holds for room after since.
func (e *env) streamIDs(room string, since codec.ID) []string {
	e.tb.Helper()
	page, err := e.mem.Range(context.Background(), stream.Query{Room: room, After: since})
	if err != nil {
		e.tb.Fatalf("Range(%q) = %v", room, err)
	}
	ids := make([]string, len(page.Entries))
	for i, en := range page.Entries {
		ids[i] = en.ID.String()
	}
	return ids
}

// online returns the hub's count of room's viewers.
func (e *env) online(room string) int {
	e.tb.Helper()
	n, err := e.hub.Online(context.Background(), room)
	if err != nil {
		e.tb.Fatalf("Online(%q) = %v", room, err)
	}
	return n
}

func msgData(n int) []byte { return []byte(`{"n":` + strconv.Itoa(n) + `}`) }

// prioData is message n with a priority.
func prioData(n int) []byte { return []byte(`{"n":` + strconv.Itoa(n) + `,"prio":1}`) }

func parseID(tb testing.TB, s string) *codec.ID {
	tb.Helper()
	id, err := codec.ParseID(s)
	if err != nil {
		tb.Fatal(err)
	}
	return &id
}

// ns returns the numbers of msgs.
func ns(msgs []msg) []int {
	out := make([]int, len(msgs))
	for i, m := range msgs {
		out[i] = m.N
	}
	return out
}

// diffIDs describes how got differs from want in a few words, or returns
// "" when they are equal.
func diffIDs(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	window := func(ids []string) []string { return ids[i:min(len(ids), i+4)] }
	return fmt.Sprintf("got %d IDs, want %d; first difference at %d: got %v, want %v",
		len(got), len(want), i, window(got), window(want))
}
