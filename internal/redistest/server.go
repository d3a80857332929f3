package redistest

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// startTimeout bounds how long a starting server may take to answer PING.
const startTimeout = 10 * time.Second

// Server is a redis-server process started by a test on a free port of
// 127.0.0.1, in its own temporary directory. It is killed when the test
// ends. Its methods are for the test goroutine.
type Server struct {
	// Immutable after Start.
	t    testing.TB
	port int
	addr string
	dir  string
	args []string

	cmd *exec.Cmd // nil while the server is not running
}

// Start starts redis-server without persistence (--save "" and
// --appendonly no; args can override them, as in
// Start(t, "--appendonly", "yes")) and waits until it answers.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), args: args}
	s.port = FreePort(t)
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.start()
	t.Cleanup(s.Kill)
	return s
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Port returns the server's port.
func (s *Server) Port() int { return s.port }

// Dir returns the server's working directory, where its data files and
// its log (redis.log) are.
func (s *Server) Dir() string { return s.dir }

// PID returns the process id of the running server, or 0 when it is not
// running.
func (s *Server) PID() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// start runs the server and waits until it answers PING.
func (s *Server) start() {
	s.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--logfile", "redis.log",
	}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		s.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(startTimeout)
	for !s.answers() {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.Kill()
			s.t.Fatalf("redis-server on %s did not answer PING; its log:\n%s", s.addr, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answers reports whether the server answers PING, even with an error
// such as NOAUTH or LOADING.
func (s *Server) answers() bool {
	conn, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+") || strings.HasPrefix(line, "-"))
}

// Kill stops the server at once with SIGKILL, like a crash: what it had
// not written to disk is lost (everything, without persistence). It does
// nothing when the server is not running.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause stops the server process (SIGSTOP) without ending it, like a
// server that hangs: connections stay open and commands get no answer
// until Resume.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume lets a paused server go on (SIGCONT); it answers the commands it
// received meanwhile.
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(syscall.SIGCONT)
}

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatalf("redis-server on %s: %v to a server that does not run", s.addr, sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redis-server on %s: %v: %v", s.addr, sig, err)
	}
}

// Restart kills the server if it runs, then starts it again on the same
// port, in the same directory, with the same arguments: it comes back with
// whatever its persistence settings kept.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// Do sends one command to this server alone over a new connection.
func (s *Server) Do(args ...string) (rueidis.RedisMessage, error) {
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{s.addr},
		ForceSingleClient: true,
		DisableCache:      true,
		DisableRetry:      true,
	})
	if err != nil {
		return rueidis.RedisMessage{}, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return client.Do(ctx, client.B().Arbitrary(args...).Build()).ToMessage()
}

// MustDo is Do that fails the test on an error.
func (s *Server) MustDo(args ...string) rueidis.RedisMessage {
	s.t.Helper()
	reply, err := s.Do(args...)
	if err != nil {
		s.t.Fatalf("%s on %s: %v", strings.Join(args, " "), s.addr, err)
	}
	return reply
}

// Info returns the value of field in the server's INFO reply.
func (s *Server) Info(field string) string {
	s.t.Helper()
	reply := s.MustDo("INFO")
	text, err := reply.ToString()
	if err != nil {
		s.t.Fatalf("INFO on %s: %v", s.addr, err)
	}
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	s.t.Fatalf("INFO on %s has no %s", s.addr, field)
	return ""
}

// FreePort returns a port of 127.0.0.1 that is free, and whose cluster bus
// port (+10000) is free too.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		l.Close()
		if err == nil {
			bus.Close()
			return port
		}
	}
	t.Fatal("no free port pair found")
	return 0
}
