package loadgen

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// loopsPerWorker is how many event loops a worker process runs: one per
// core of the machine the generator was written for. Each loop is one
// goroutine that owns its viewers' sockets through one epoll instance, so
// reading 10 000 viewers costs a few threads, not 10 000 goroutines and
// their wake-ups.
const loopsPerWorker = 2

// coalesce is how long a loop pauses after a wait that found only a few
// sockets ready, so that the next wait finds more: a room's frame reaches
// its thousands of viewers over a few milliseconds, and one epoll_wait
// per socket or two cost as much as the reads (28 % of a worker's CPU in
// a hot room of 10 000 viewers). It adds at most this much to the
// latencies measured.
const coalesce = 500 * time.Microsecond

// loopWait bounds each epoll_wait: how late a loop notices a command, a
// retry that is due or a connect that timed out.
const loopWait = 50 * time.Millisecond

// Viewer connection states.
const (
	stateIdle        = iota // no socket: waiting to dial, or done
	stateConnecting         // non-blocking connect in flight
	stateHandshaking        // upgrade sent, waiting for 101 and joined
	stateLive               // joined: reading frames
)

var (
	errWouldBlock     = errors.New("loadgen: would block")
	errConnectTimeout = errors.New("loadgen: connect, upgrade and join timed out")
)

// fdReader reads a non-blocking socket for a wsReader: it answers
// errWouldBlock once the socket is drained, so that the reader keeps its
// state and is called again on the next readiness. After a read that did
// not fill the buffer it assumes the socket drained, which saves the
// read(2) that would say EAGAIN: epoll (level-triggered) reports the
// socket again if more arrived.
type fdReader struct {
	fd      int
	drained bool
}

func (f *fdReader) Read(p []byte) (int, error) {
	if f.drained {
		return 0, errWouldBlock
	}
	for {
		n, err := unix.Read(f.fd, p)
		switch {
		case n > 0:
			f.drained = n < len(p)
			return n, nil
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			f.drained = true
			return 0, errWouldBlock
		case err == nil:
			return 0, io.EOF
		default:
			return 0, err
		}
	}
}

// retry is a viewer to dial again at a time.
type retry struct {
	at time.Time
	v  *viewer
}

// loop is one event loop of a worker. Its goroutine owns everything below
// and the state of its viewers; other goroutines only send commands.
type loop struct {
	w        *worker
	server   unix.SockaddrInet4
	epfd     int
	wakefd   int // eventfd: a command is waiting
	commands chan string

	viewers  []*viewer
	byFD     map[int]*viewer
	events   []unix.EpollEvent
	queue    []*viewer // waiting for a dial slot
	retries  []retry
	inFlight int // connects and handshakes
	slots    int // most connects and handshakes in flight
	stopping bool
}

func newLoop(w *worker, viewers []*viewer, slots int) (*loop, error) {
	addr, err := net.ResolveTCPAddr("tcp", w.plan.WSAddr)
	if err != nil {
		return nil, err
	}
	ip4 := addr.IP.To4()
	if ip4 == nil {
		return nil, fmt.Errorf("loadgen: %s is not an IPv4 address", w.plan.WSAddr)
	}
	l := &loop{
		w: w, viewers: viewers, byFD: make(map[int]*viewer, len(viewers)),
		events: make([]unix.EpollEvent, 256), commands: make(chan string, 4), slots: max(1, slots),
	}
	l.server.Port = addr.Port
	copy(l.server.Addr[:], ip4)
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, err
	}
	if l.wakefd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		_ = unix.Close(l.epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(l.wakefd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, l.wakefd, &ev); err != nil {
		l.close()
		return nil, err
	}
	l.queue = append(l.queue, viewers...)
	return l, nil
}

func (l *loop) close() {
	_ = unix.Close(l.wakefd)
	_ = unix.Close(l.epfd)
}

// send hands a command to the loop and wakes it.
func (l *loop) send(cmd string) {
	l.commands <- cmd
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(l.wakefd, one[:])
}

// run serves the loop's viewers until a stop command, then closes every
// connection politely and returns.
func (l *loop) run() {
	defer l.close()
	lastSweep := time.Now()
	for !l.stopping {
		l.dialQueued()
		n, err := unix.EpollWait(l.epfd, l.events, int(loopWait/time.Millisecond))
		if err != nil && err != unix.EINTR {
			l.w.logf("epoll_wait: %v", err)
			return
		}
		for _, ev := range l.events[:max(n, 0)] {
			fd := int(ev.Fd)
			if fd == l.wakefd {
				l.drainCommands()
				continue
			}
			if v := l.byFD[fd]; v != nil {
				l.onReady(v, ev.Events)
			}
		}
		if n > 0 && n < len(l.events)/4 {
			time.Sleep(coalesce)
		}
		now := time.Now()
		l.dueRetries(now)
		if now.Sub(lastSweep) >= loopWait {
			lastSweep = now
			l.sweepTimeouts(now)
		}
	}
	for _, v := range l.viewers {
		if v.state == stateLive {
			l.w.counters.open.Add(-1)
			_ = v.sendFrame(opClose, []byte{0x03, 0xE8})
		}
		if v.state != stateIdle {
			l.drop(v)
		}
	}
}

func (l *loop) drainCommands() {
	var buf [8]byte
	_, _ = unix.Read(l.wakefd, buf[:])
	for {
		select {
		case cmd := <-l.commands:
			switch cmd {
			case cmdStop:
				l.stopping = true
			case cmdReconnect:
				// Drop every connection; each counts as no disconnect
				// (the worker changed forceGen) and reconnects.
				for _, v := range l.viewers {
					if v.state == stateLive {
						l.end(v, errDropped)
					}
				}
			}
		default:
			return
		}
	}
}

var errDropped = errors.New("loadgen: dropped by the generator")

// dialQueued starts connects while slots are free.
func (l *loop) dialQueued() {
	for len(l.queue) > 0 && l.inFlight < l.slots {
		v := l.queue[0]
		l.queue = l.queue[1:]
		l.dial(v)
	}
}

// dial starts a non-blocking connect from the viewer's source address.
func (l *loop) dial(v *viewer) {
	v.start = time.Now()
	if v.first && v.attempts == 0 {
		l.w.noteDial(v.start.UnixNano())
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		l.failed(v, err)
		return
	}
	// The port is chosen at connect, per destination: thousands of
	// viewers on one source address need no port each of their own.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	var src unix.SockaddrInet4
	copy(src.Addr[:], v.local.To4())
	if err := unix.Bind(fd, &src); err != nil {
		_ = unix.Close(fd)
		l.failed(v, err)
		return
	}
	if err := unix.Connect(fd, &l.server); err != nil && err != unix.EINPROGRESS {
		_ = unix.Close(fd)
		l.failed(v, err)
		return
	}
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		_ = unix.Close(fd)
		l.failed(v, err)
		return
	}
	v.fd, v.state = fd, stateConnecting
	v.src = fdReader{fd: fd}
	l.byFD[fd] = v
	l.inFlight++
}

func (l *loop) onReady(v *viewer, events uint32) {
	v.src.drained = false
	switch v.state {
	case stateConnecting:
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		soErr, err := unix.GetsockoptInt(v.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && soErr != 0 {
			err = unix.Errno(soErr)
		}
		if err == nil {
			err = l.sendUpgrade(v)
		}
		if err != nil {
			l.failed(v, err)
		}
	case stateHandshaking:
		if err := l.handshake(v); err != nil && !errors.Is(err, errWouldBlock) {
			l.failed(v, err)
		}
	case stateLive:
		if err := v.readFrames(); !errors.Is(err, errWouldBlock) {
			l.end(v, err)
		}
	}
}

// sendUpgrade writes the upgrade request on a connected socket and waits
// for the answer.
func (l *loop) sendUpgrade(v *viewer) error {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	v.key = base64.StdEncoding.EncodeToString(raw[:])
	target := "/ws?room=" + v.room
	if rate := l.w.plan.Layout.maxRate(v.index); rate > 0 {
		target += "&max_rate=" + strconv.Itoa(rate)
	}
	v.out = appendUpgradeRequest(v.out[:0], l.w.plan.WSAddr, target, v.key)
	if n, err := unix.Write(v.fd, v.out); err != nil || n != len(v.out) {
		return fmt.Errorf("loadgen: writing the upgrade request: %d of %d bytes: %v", n, len(v.out), err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(v.fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, v.fd, &ev); err != nil {
		return err
	}
	v.state = stateHandshaking
	v.r = newWSReader(&v.src, 1024, l.w.plan.MaxMessage)
	return nil
}

// handshake reads the upgrade answer and the joined message, which must
// be the first message, then makes the viewer live.
func (l *loop) handshake(v *viewer) error {
	if !v.headRead {
		head, err := v.r.readHead(8 << 10)
		if err != nil {
			return err
		}
		if err := checkUpgradeResponse(head, acceptKey(v.key)); err != nil {
			return err
		}
		v.headRead = true
	}
	for {
		op, payload, err := v.r.next()
		if err != nil {
			return err
		}
		switch op {
		case opPing, opPong:
			continue
		case opClose:
			return fmt.Errorf("%w before joined: code %d", errServerClosed, closeCode(payload))
		}
		if !bytes.Contains(payload, joinedMarker) {
			return fmt.Errorf("%w: %.80q", errNotJoined, payload)
		}
		v.onMessage(payload, v.r.readAt)
		l.live(v)
		if err := v.readFrames(); !errors.Is(err, errWouldBlock) {
			l.end(v, err)
		}
		return nil
	}
}

// live counts a viewer that just joined.
func (l *loop) live(v *viewer) {
	w := l.w
	l.inFlight--
	v.state, v.attempts, v.headRead = stateLive, 0, false
	v.gen = w.forceGen.Load()
	if v.first {
		v.first, v.joined = false, true
		w.noteJoin(v.start, time.Unix(0, v.r.readAt))
		w.counters.joined.Add(1)
		w.joinedOne()
	} else {
		w.counters.reconnects.Add(1)
		w.noteReconnect(time.Now().UnixNano())
	}
	w.counters.open.Add(1)
}

// failed ends a connect, upgrade or join that failed: it is tried again
// after 50–150 ms, except that a first connection gives up after three
// attempts.
func (l *loop) failed(v *viewer, err error) {
	if v.state == stateConnecting || v.state == stateHandshaking {
		l.inFlight--
	}
	l.drop(v)
	v.attempts++
	if v.first && v.attempts >= 3 {
		l.w.counters.failed.Add(1)
		l.w.logf("viewer %d: %v", v.index, err)
		v.first = false
		l.w.joinedOne()
		return
	}
	l.retryLater(v)
}

// end ends a live connection: a disconnect unless the generator expected
// it, then a reconnect when the plan says so.
func (l *loop) end(v *viewer, err error) {
	w := l.w
	w.counters.open.Add(-1)
	if err != nil && isProtocolError(err) {
		w.counters.malformed.Add(1)
	}
	l.drop(v)
	if w.forceGen.Load() == v.gen && !errors.Is(err, errDropped) {
		w.counters.disconnects.Add(1)
		if !errors.Is(err, errServerClosed) {
			w.logf("viewer %d: disconnected: %v", v.index, err)
		}
	}
	if w.plan.Reconnect && !l.stopping {
		l.retryLater(v)
	}
}

// drop closes the viewer's socket.
func (l *loop) drop(v *viewer) {
	if v.fd < 0 {
		return
	}
	delete(l.byFD, v.fd)
	_ = unix.Close(v.fd) // closing removes it from the epoll set
	v.fd, v.state, v.r, v.headRead = -1, stateIdle, nil, false
}

func (l *loop) retryLater(v *viewer) {
	l.retries = append(l.retries, retry{at: time.Now().Add(time.Duration(50+rand.IntN(100)) * time.Millisecond), v: v})
}

// dueRetries queues the viewers whose retry is due.
func (l *loop) dueRetries(now time.Time) {
	kept := l.retries[:0]
	for _, r := range l.retries {
		if now.Before(r.at) {
			kept = append(kept, r)
			continue
		}
		l.queue = append(l.queue, r.v)
	}
	clear(l.retries[len(kept):])
	l.retries = kept
}

// sweepTimeouts fails the connects and handshakes older than the plan's
// ConnectTimeout.
func (l *loop) sweepTimeouts(now time.Time) {
	if l.inFlight == 0 {
		return
	}
	for _, v := range l.viewers {
		if (v.state == stateConnecting || v.state == stateHandshaking) && now.Sub(v.start) > l.w.plan.ConnectTimeout {
			l.failed(v, errConnectTimeout)
		}
	}
}

// readFrames reads every complete frame buffered or readable now: data
// is counted, a ping answered, a close ends the connection
// (errServerClosed). It returns errWouldBlock once the socket is drained.
func (v *viewer) readFrames() error {
	for {
		op, payload, err := v.r.next()
		if err != nil {
			return err
		}
		switch op {
		case opText, opBinary:
			v.onMessage(payload, v.r.readAt)
		case opPing:
			if err := v.sendFrame(opPong, payload); err != nil {
				return err
			}
		case opClose:
			_ = v.sendFrame(opClose, payload[:min(2, len(payload))])
			return fmt.Errorf("%w: code %d", errServerClosed, closeCode(payload))
		}
	}
}

// sendFrame writes one masked frame; a full socket buffer loses it, which
// for the pongs and closes of a viewer the server is flooding is fine.
func (v *viewer) sendFrame(op byte, payload []byte) error {
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rand.Uint32())
	v.out = appendClientFrame(v.out[:0], op, payload, key)
	_, err := unix.Write(v.fd, v.out)
	if err == unix.EAGAIN {
		return nil
	}
	return err
}
