package floor

import (
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// Raw loopback sockets, outside Go's network poller: a socket the runtime
// watches would cost it wake-ups the floor must not include.

// listenLoopback returns a listening socket on 127.0.0.1 and its port.
func listenLoopback(backlog int) (fd, port int, err error) {
	return listen(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0), backlog)
}

// listen returns a listening socket on ap, an IPv4 address and port (0:
// any free port), and its port.
func listen(ap netip.AddrPort, backlog int) (fd, port int, err error) {
	fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, err
	}
	err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())})
	}
	if err == nil {
		err = unix.Listen(fd, backlog)
	}
	var sa unix.Sockaddr
	if err == nil {
		sa, err = unix.Getsockname(fd)
	}
	if err != nil {
		_ = unix.Close(fd)
		return -1, 0, err
	}
	return fd, sa.(*unix.SockaddrInet4).Port, nil
}

// acceptBlocking accepts n connections on the listening socket lfd and
// returns them as blocking sockets with TCP_NODELAY, as a server writes
// to them (gnet sets TCP_NODELAY too). It fails when a connection takes
// longer than timeout to arrive.
func acceptBlocking(lfd, n int, timeout time.Duration) ([]int, error) {
	fds := make([]int, 0, n)
	for len(fds) < n {
		pfd := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
		ready, err := unix.Poll(pfd, int(timeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err == nil && ready == 0 {
			err = fmt.Errorf("floor: no connection within %v (%d of %d accepted)", timeout, len(fds), n)
		}
		var fd int
		if err == nil {
			fd, _, err = unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		}
		if err == nil {
			err = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		if err != nil {
			closeAll(fds)
			return nil, err
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// dialNonblocking connects to 127.0.0.1:port from source and returns the
// connected socket, non-blocking.
func dialNonblocking(source netip.Addr, port int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	err = unix.Bind(fd, &unix.SockaddrInet4{Addr: source.As4()})
	if err == nil {
		err = unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
	}
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// writeFull writes all of p to the blocking socket fd.
func writeFull(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}

// sourceAddr returns 127.0.0.(1 + i mod spread): connections spread over
// source addresses so that repeated runs never run out of ports to one
// destination.
func sourceAddr(i, spread int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i%spread)})
}

// processCPU returns this process's CPU time, user and system.
func processCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
