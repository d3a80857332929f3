package floor

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	minWin  time.Duration
	maxWin  time.Duration
	budget  float64

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
	f := &Fanout{
		minWin: danmufanout.DefaultFlushInterval,
		maxWin: danmufanout.DefaultMaxFlushInterval,
		budget: float64(budget),
	}
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

// windowLocked returns r's flush window: danmu's (fanout's window.go).
func (f *Fanout) windowLocked(r *fanRoom) time.Duration {
	active := max(f.active.Load(), 1)
	w := time.Duration(float64(r.mu.viewers) * float64(active) / f.budget * float64(time.Second))
	return min(max(w, f.minWin), f.maxWin)
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

// upgrade reads the upgrade request on the blocking socket fd and answers
// it with 101 and the joined message, and returns the room asked for.
func upgrade(fd int) (string, error) {
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5}); err != nil {
		return "", err
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return "", err
	}
	var buf [4 << 10]byte
	n := 0
	for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
		if n == len(buf) {
			return "", errors.New("floor: upgrade request too large")
		}
		m, err := unix.Read(fd, buf[n:])
		if err != nil || m == 0 {
			return "", fmt.Errorf("floor: reading the upgrade request: %v", err)
		}
		n += m
	}
	room, key, err := parseUpgrade(buf[:n])
	if err != nil {
		return "", err
	}
	answer := appendUpgradeAnswer(nil, room, key)
	if err := writeFull(fd, answer); err != nil {
		return "", err
	}
	return room, unix.SetNonblock(fd, true)
}

// parseUpgrade returns the room (the query's "room", a valid room id) and
// the Sec-WebSocket-Key (without control characters) of req, the head of
// an upgrade request through its blank line.
func parseUpgrade(req []byte) (room, key string, err error) {
	line, headers, _ := bytes.Cut(req, []byte("\r\n"))
	fields := bytes.Fields(line)
	if len(fields) != 3 {
		return "", "", fmt.Errorf("floor: request line %q", line)
	}
	u, err := url.ParseRequestURI(string(fields[1]))
	if err != nil {
		return "", "", err
	}
	room = u.Query().Get("room")
	for h := range bytes.SplitSeq(headers, []byte("\r\n")) {
		if name, value, ok := bytes.Cut(h, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Sec-WebSocket-Key")) {
			key = string(bytes.TrimSpace(value))
		}
	}
	if !codec.ValidRoom(room) || key == "" || strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", "", fmt.Errorf("floor: upgrade request without a room or a key: %q", req)
	}
	return room, key, nil
}

// appendUpgradeAnswer appends the 101 answer to an upgrade request of key
// and the joined message of room.
func appendUpgradeAnswer(dst []byte, room, key string) []byte {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = base64.StdEncoding.AppendEncode(dst, sum[:])
	dst = append(dst, "\r\n\r\n"...)
	return codec.AppendFrame(dst, 0x1, []byte(`{"type":"joined","room":"`+room+`"}`))
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
