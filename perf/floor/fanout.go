package floor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/valyala/fasthttp"
	"golang.org/x/sys/unix"

	"github.com/danmu-dev/danmu/codec"
	danmufanout "github.com/danmu-dev/danmu/fanout"
)

// Fanout is the floor of danmu's fan-out: the least a server can do to
// deliver comments the way danmu does. Viewers open a WebSocket at
// /ws?room=R and get a joined message; comments posted to
// /v1/rooms/{room}/danmaku are gathered per room and flushed as danmu's
// hub flushes them (the same frame budget, window bounds and leading
// edge), each flush encoded once into the batch frame danmu's edge
// writes, and written with write(2) to the room's viewers by one thread
// per core. No event loop, no reads after the handshake, no heartbeats,
// no stream, no validation: the load generator's hot-room and many-rooms
// scenarios against it (loadgen --target floor) measure the machine's
// floor of what danmu's figures are divided by.
type Fanout struct {
	// Immutable after NewFanout.
	writers []chan flushJob
	budget  int64

	active atomic.Int64 // rooms that flushed within the last second

	mu struct {
		sync.Mutex
		rooms map[string]*fanRoom
	}

	// ShortWrites counts writes the kernel did not take whole: the
	// floor drops the rest, where danmu would queue it.
	ShortWrites atomic.Int64
}

// fanRoom is one room of a Fanout.
type fanRoom struct {
	name      string
	lastFlush atomic.Int64 // Unix nanoseconds of the last flush

	mu struct {
		sync.Mutex
		members [][]int // per writer; copied on join, so a flush may keep a slice
		viewers int
		pending []codec.Item
		seq     uint64
		lastMS  uint64
		armed   bool // a flush is due by timer
	}
}

// flushJob is one frame for one writer's share of a room's viewers.
type flushJob struct {
	frame []byte
	fds   []int
}

// NewFanout starts the writers of a Fanout with danmu's window bounds and
// frame budget, the writes per second its rooms share (zero or less:
// danmu's default, fanout.DefaultFrameBudget).
func NewFanout(budget int) *Fanout {
	if budget <= 0 {
		budget = danmufanout.DefaultFrameBudget
	}
	f := &Fanout{budget: int64(budget)}
	f.mu.rooms = make(map[string]*fanRoom)
	for range runtime.NumCPU() {
		jobs := make(chan flushJob, 1024)
		f.writers = append(f.writers, jobs)
		go f.write(jobs)
	}
	go f.countActive()
	return f
}

// write writes each job's frame to its sockets, on a thread of its own.
func (f *Fanout) write(jobs <-chan flushJob) {
	runtime.LockOSThread()
	for job := range jobs {
		for _, fd := range job.fds {
			if n, err := unix.Write(fd, job.frame); n != len(job.frame) && !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.ECONNRESET) {
				f.ShortWrites.Add(1)
			}
		}
	}
}

// countActive counts, every 100 ms, the rooms that flushed within the
// last second, as danmu's hub does to share the frame budget.
func (f *Fanout) countActive() {
	for now := range time.Tick(100 * time.Millisecond) {
		since := now.Add(-time.Second).UnixNano()
		var n int64
		f.mu.Lock()
		for _, r := range f.mu.rooms {
			if r.lastFlush.Load() > since {
				n++
			}
		}
		f.mu.Unlock()
		f.active.Store(n)
	}
}

// room returns the room named name, made on first use.
func (f *Fanout) room(name string) *fanRoom {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.mu.rooms[name]
	if r == nil {
		r = &fanRoom{name: name}
		r.mu.members = make([][]int, len(f.writers))
		f.mu.rooms[name] = r
	}
	return r
}

// join adds the live socket fd to room's viewers, on writer i.
func (f *Fanout) join(room string, fd, i int) {
	r := f.room(room)
	r.mu.Lock()
	defer r.mu.Unlock()
	w := i % len(f.writers)
	r.mu.members[w] = append(r.mu.members[w][:len(r.mu.members[w]):len(r.mu.members[w])], fd)
	r.mu.viewers++
}

// HandlePost takes a comment posted to /v1/rooms/{room}/danmaku (its text
// only) into its room's next frame and answers 201, as the ingest floor
// does; any other request is answered 404.
func (f *Fanout) HandlePost(ctx *fasthttp.RequestCtx) {
	room, ok := bytes.CutPrefix(ctx.Path(), []byte("/v1/rooms/"))
	room, ok2 := bytes.CutSuffix(room, []byte("/danmaku"))
	if !ctx.IsPost() || !ok || !ok2 {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		return
	}
	var in struct {
		Text string `json:"text"`
	}
	if err := codec.JSON.Unmarshal(ctx.PostBody(), &in); err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	f.post(string(room), in.Text)
	handle(ctx)
}

// post adds text to room's pending comments and flushes the room at once
// when it was quiet for a window, or arms its flush.
func (f *Fanout) post(name, text string) {
	r := f.room(name)
	now := time.Now()
	r.mu.Lock()
	ms := uint64(now.UnixMilli())
	if ms == r.mu.lastMS {
		r.mu.seq++
	} else {
		r.mu.lastMS, r.mu.seq = ms, 0
	}
	id := codec.ID{MS: ms, Seq: r.mu.seq}
	stored, err := codec.EncodeStored(codec.Message{
		UID: "anonymous", Name: "guest", Color: codec.DefaultColor, Mode: codec.ModeScroll, TS: int64(ms), Text: text,
	})
	if err == nil {
		r.mu.pending = append(r.mu.pending, codec.DecodeEntry(id, stored).Item)
	}
	if r.mu.armed {
		r.mu.Unlock()
		return
	}
	due := time.Unix(0, r.lastFlush.Load()).Add(f.windowLocked(r))
	if wait := due.Sub(now); wait > 0 {
		r.mu.armed = true
		r.mu.Unlock()
		time.AfterFunc(wait, func() { f.flush(r) })
		return
	}
	r.mu.Unlock()
	f.flush(r)
}

// windowLocked returns r's flush window: danmu's with its default bounds.
func (f *Fanout) windowLocked(r *fanRoom) time.Duration {
	return danmufanout.FlushWindow(r.mu.viewers, f.active.Load(), f.budget,
		danmufanout.DefaultFlushInterval, danmufanout.DefaultMaxFlushInterval)
}

// flush encodes r's pending comments into one frame and hands it to every
// writer with its share of r's viewers.
func (f *Fanout) flush(r *fanRoom) {
	r.mu.Lock()
	items := r.mu.pending
	r.mu.pending, r.mu.armed = nil, false
	r.lastFlush.Store(time.Now().UnixNano())
	members := slices.Clone(r.mu.members) // join replaces its elements
	r.mu.Unlock()
	if len(items) == 0 {
		return
	}
	frame := codec.AppendBatchFrame(nil, &codec.Batch{Room: r.name, Items: items})
	for i, fds := range members {
		if len(fds) > 0 {
			f.writers[i] <- flushJob{frame: frame, fds: fds}
		}
	}
}

// Serve accepts viewers on the listening socket lfd until it is closed:
// each gets the upgrade answer and the joined message with blocking
// writes, then joins its room's writes.
func (f *Fanout) Serve(lfd int) error {
	for i := 0; ; i++ {
		fd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		switch {
		case err == unix.EINTR || err == unix.ECONNABORTED:
			continue
		case err != nil:
			return err
		}
		room, err := upgrade(fd)
		if err != nil {
			_ = unix.Close(fd)
			continue
		}
		f.join(room, fd, i)
	}
}

// upgrade upgrades the blocking socket fd with gobwas/ws, as danmu's edge
// does, to a viewer of the room its query names, sends it the joined
// message, and returns the room.
func upgrade(fd int) (string, error) {
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5}); err != nil {
		return "", err
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return "", err
	}
	var room string
	u := ws.Upgrader{OnRequest: func(uri []byte) error {
		if parsed, err := url.ParseRequestURI(string(uri)); err == nil {
			room = parsed.Query().Get("room")
		}
		if !codec.ValidRoom(room) {
			return ws.RejectConnectionError(ws.RejectionStatus(400), ws.RejectionReason("no valid room"))
		}
		return nil
	}}
	if _, err := u.Upgrade(blockingSocket(fd)); err != nil {
		return "", err
	}
	if err := writeFull(fd, codec.AppendFrame(nil, ws.OpText, []byte(`{"type":"joined","room":"`+room+`"}`))); err != nil {
		return "", err
	}
	return room, unix.SetNonblock(fd, true)
}

// blockingSocket is the io.ReadWriter of a blocking socket.
type blockingSocket int

func (fd blockingSocket) Read(p []byte) (int, error) {
	n, err := unix.Read(int(fd), p)
	if n == 0 && err == nil {
		return 0, io.EOF
	}
	return max(n, 0), err
}

func (fd blockingSocket) Write(p []byte) (int, error) {
	if err := writeFull(int(fd), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Listen returns a raw listening socket on addr, an IPv4 "host:port"
// (port 0: any free one), for Serve, and its port.
func Listen(addr string) (fd, port int, err error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return -1, 0, fmt.Errorf("floor: listen address %q is not an IPv4 host:port", addr)
	}
	return listen(ap, 4096)
}
