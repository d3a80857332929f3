package floor

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Drainer reads and discards whatever arrives on a set of non-blocking
// sockets, from one goroutine through one epoll instance: level-triggered,
// one read per ready socket per wait. It is the least a reader can spend
// per frame, the reading side of the write floor. A Drainer is owned by
// one goroutine.
type Drainer struct {
	epfd   int
	events []unix.EpollEvent
	buf    []byte
	open   int

	// Bytes is how many bytes were read so far.
	Bytes int64
	// Reads is how many read(2) calls returned data.
	Reads int64
}

// NewDrainer returns an empty Drainer. Close releases it.
func NewDrainer() (*Drainer, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &Drainer{epfd: epfd, events: make([]unix.EpollEvent, 512), buf: make([]byte, 64<<10)}, nil
}

// Add watches fd, which must be a non-blocking socket; the Drainer closes
// it when the peer closes or it fails.
func (d *Drainer) Add(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(d.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return err
	}
	d.open++
	return nil
}

// Open returns how many sockets are still watched.
func (d *Drainer) Open() int { return d.open }

// Wait waits up to timeoutMs milliseconds (-1: no limit) for readable
// sockets and reads each once.
func (d *Drainer) Wait(timeoutMs int) error {
	n, err := unix.EpollWait(d.epfd, d.events, timeoutMs)
	if errors.Is(err, unix.EINTR) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ev := range d.events[:n] {
		fd := int(ev.Fd)
		got, err := unix.Read(fd, d.buf)
		switch {
		case got > 0:
			d.Bytes += int64(got)
			d.Reads++
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		default: // end of stream or a failed socket
			_ = unix.EpollCtl(d.epfd, unix.EPOLL_CTL_DEL, fd, nil)
			_ = unix.Close(fd)
			d.open--
		}
	}
	return nil
}

// Close closes the epoll instance; sockets still watched stay open.
func (d *Drainer) Close() error { return unix.Close(d.epfd) }
