package floor

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
)

// ReaderPlan says which sockets a reader process opens.
type ReaderPlan struct {
	Port      int // on 127.0.0.1
	Sockets   int
	SourceIPs int // spread over 127.0.0.1..127.0.0.SourceIPs; default 16
}

// RunReader is the reading side of the write floor, run in a process of
// its own so that each side holds at most Sockets descriptors: it opens
// plan.Sockets connections, writes "ready" to out, and drains them all
// through one Drainer. Each line of in is a byte count: once it has read
// that many bytes in all, it answers with a line "<cpu ns> <reads>", its
// own CPU time so far and the read(2) calls that returned data. It returns
// when in ends or every connection closed.
func RunReader(plan ReaderPlan, in io.Reader, out io.Writer) error {
	if plan.SourceIPs <= 0 {
		plan.SourceIPs = 16
	}
	d, err := NewDrainer()
	if err != nil {
		return err
	}
	defer d.Close()
	fds := make([]int, 0, plan.Sockets)
	defer func() {
		if d.Open() > 0 {
			closeAll(fds)
		}
	}()
	for i := range plan.Sockets {
		fd, err := dialNonblocking(sourceAddr(i, plan.SourceIPs), plan.Port)
		if err != nil {
			return fmt.Errorf("floor: reader: connection %d: %w", i, err)
		}
		fds = append(fds, fd)
		if err := d.Add(fd); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(out, "ready\n"); err != nil {
		return err
	}
	// target is the byte count asked for, -1 when none is pending; done
	// is set when in ends.
	var target atomic.Int64
	var done atomic.Bool
	target.Store(-1)
	go func() {
		lines := bufio.NewScanner(in)
		for lines.Scan() {
			n, err := strconv.ParseInt(strings.TrimSpace(lines.Text()), 10, 64)
			if err == nil {
				target.Store(n)
			}
		}
		done.Store(true)
	}()
	for !done.Load() && d.Open() > 0 {
		// The timeout only bounds how late a request from in is seen.
		if err := d.Wait(5); err != nil {
			return err
		}
		if want := target.Load(); want >= 0 && d.Bytes >= want {
			target.Store(-1)
			cpu, err := processCPU()
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(out, "%d %d\n", cpu.Nanoseconds(), d.Reads); err != nil {
				return err
			}
		}
	}
	return nil
}
