package floor

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readerEnv, set in a child's environment, makes the test binary run
// RunReader instead of the tests: "<port> <sockets>".
const readerEnv = "DANMU_FLOOR_READER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(readerEnv); spec != "" {
		var plan ReaderPlan
		if _, err := fmt.Sscan(spec, &plan.Port, &plan.Sockets); err != nil {
			fmt.Fprintln(os.Stderr, "floor reader:", err)
			os.Exit(2)
		}
		if err := RunReader(plan, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "floor reader:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fanout is the writing side: sockets accepted from a reader process.
type fanout struct {
	fds    []int
	cmd    *exec.Cmd
	toRead io.WriteCloser
	answer *bufio.Reader
}

// startFanout starts a reader process of n sockets and accepts them.
func startFanout(tb testing.TB, n int) *fanout {
	tb.Helper()
	lfd, port, err := listenLoopback(4096)
	if err != nil {
		tb.Fatal(err)
	}
	defer unix.Close(lfd)
	f := &fanout{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	f.cmd.Env = append(os.Environ(), readerEnv+"="+strconv.Itoa(port)+" "+strconv.Itoa(n))
	f.cmd.Stderr = os.Stderr
	if f.toRead, err = f.cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	f.answer = bufio.NewReader(out)
	if err := f.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.close)
	if f.fds, err = acceptBlocking(lfd, n, 10*time.Second); err != nil {
		tb.Fatal(err)
	}
	if line, err := f.answer.ReadString('\n'); err != nil || line != "ready\n" {
		tb.Fatalf("reader process: %q, %v; want ready", line, err)
	}
	return f
}

// writeAll writes frame to every socket once.
func (f *fanout) writeAll(tb testing.TB, frame []byte) { f.writeBursts(tb, frame, &pace{}) }

// pace is how writeBursts writes: size sockets at a time (all when zero),
// a burst starting every gap (at once when zero). It keeps its schedule
// from one call to the next.
type pace struct {
	size int
	gap  time.Duration
	next time.Time // when the next burst is due
}

// wait sleeps until the next burst is due.
func (p *pace) wait() {
	if p.gap <= 0 {
		return
	}
	if p.next.IsZero() {
		p.next = time.Now()
	}
	time.Sleep(time.Until(p.next))
	p.next = p.next.Add(p.gap)
}

// writeBursts writes frame to every socket once, in bursts paced by p.
func (f *fanout) writeBursts(tb testing.TB, frame []byte, p *pace) {
	size := p.size
	if size <= 0 {
		size = len(f.fds)
	}
	for start := 0; start < len(f.fds); start += size {
		p.wait()
		for _, fd := range f.fds[start:min(start+size, len(f.fds))] {
			if err := writeFull(fd, frame); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// readerCPU waits until the reader process has read total bytes and
// returns its CPU time and read calls so far.
func (f *fanout) readerCPU(tb testing.TB, total int64) (time.Duration, int64) {
	tb.Helper()
	if _, err := fmt.Fprintf(f.toRead, "%d\n", total); err != nil {
		tb.Fatal(err)
	}
	line, err := f.answer.ReadString('\n')
	if err != nil {
		tb.Fatal(err)
	}
	fields := strings.Fields(line)
	if len(fields) != 2 {
		tb.Fatalf("reader process answered %q", line)
	}
	cpu, err1 := strconv.ParseInt(fields[0], 10, 64)
	reads, err2 := strconv.ParseInt(fields[1], 10, 64)
	if err1 != nil || err2 != nil {
		tb.Fatalf("reader process answered %q", line)
	}
	return time.Duration(cpu), reads
}

// close closes the writers first (their side keeps the TIME_WAIT), then
// ends the reader process.
func (f *fanout) close() {
	closeAll(f.fds)
	f.fds = nil
	_ = f.toRead.Close()
	_ = f.cmd.Wait()
}

// BenchmarkLoopbackWrite is the write floor: one frame of 2 or 20
// comments (the sizes danmu writes in many busy rooms and in a hot room
// of 10 000 viewers) written with write(2) to each of N loopback sockets, whose reading ends a child process drains through
// epoll. One op is one frame to all N. It reports per write the wall time
// (ns/write), the writing process's CPU time (writer-cpu-ns/write: the
// system call, and the loopback delivery into the reader's socket, which
// the kernel does on the writer's time) and the reader process's
// (reader-cpu-ns/write, the least a viewer can spend per delivery), and
// the reader's read calls per write (below 1 when one read took several
// frames).
func BenchmarkLoopbackWrite(b *testing.B) {
	for _, n := range []int{100, 10000} {
		for _, msgs := range []int{2, 20} {
			b.Run("sockets="+strconv.Itoa(n)+"/msgs="+strconv.Itoa(msgs), func(b *testing.B) { benchmarkWrite(b, n, msgs, pace{}) })
		}
	}
}

// BenchmarkLoopbackWriteBursts is the write floor of frames that come in
// bursts, with the writer idle in between, as an event loop is between
// room frames: 10 000 sockets written at 50 000 writes a second (the
// default frame budget), either 100 at a time with frames of 2 comments
// (many rooms of 100 viewers) or all 10 000 at once with frames of 20 (a
// hot room). BenchmarkLoopbackWrite writes without a pause, which keeps
// the writer's and the reader's caches and CPUs warm; this is what the
// same writes cost when they come as danmu writes them.
func BenchmarkLoopbackWriteBursts(b *testing.B) {
	const sockets, rate = 10000, 50000
	for _, c := range []struct{ size, msgs int }{{100, 2}, {sockets, 20}} {
		name := "sockets=10000/msgs=" + strconv.Itoa(c.msgs) + "/burst=" + strconv.Itoa(c.size) + "/rate=50000"
		b.Run(name, func(b *testing.B) {
			benchmarkWrite(b, sockets, c.msgs, pace{size: c.size, gap: time.Second * time.Duration(c.size) / rate})
		})
	}
}

func benchmarkWrite(b *testing.B, sockets, msgs int, p pace) {
	frame := SampleFrame(msgs)
	f := startFanout(b, sockets)
	readerBefore, readsBefore := f.readerCPU(b, 0)
	writerBefore, err := processCPU()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(frame) * sockets))
	var ops int64
	for b.Loop() {
		f.writeBursts(b, frame, &p)
		ops++
	}
	elapsed := b.Elapsed()
	writerAfter, err := processCPU()
	if err != nil {
		b.Fatal(err)
	}
	readerAfter, readsAfter := f.readerCPU(b, ops*int64(sockets*len(frame)))
	writes := float64(ops) * float64(sockets)
	b.ReportMetric(float64(elapsed.Nanoseconds())/writes, "ns/write")
	b.ReportMetric(float64((writerAfter-writerBefore).Nanoseconds())/writes, "writer-cpu-ns/write")
	b.ReportMetric(float64((readerAfter-readerBefore).Nanoseconds())/writes, "reader-cpu-ns/write")
	b.ReportMetric(float64(readsAfter-readsBefore)/writes, "reads/write")
	b.ReportMetric(float64(len(frame)), "frame-bytes")
}

// TestFanoutDelivers checks the rig the benchmark measures with: every
// byte written to every socket reaches the reader process, which reads
// each socket at least once.
func TestFanoutDelivers(t *testing.T) {
	const sockets, frames = 50, 20
	frame := SampleFrame(2)
	f := startFanout(t, sockets)
	for range frames {
		f.writeAll(t, frame)
	}
	if _, reads := f.readerCPU(t, int64(sockets*frames*len(frame))); reads < sockets {
		t.Errorf("reader made %d reads for %d sockets; want at least one each", reads, sockets)
	}
}
