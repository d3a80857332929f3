package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// server is a server process the generator started.
type server struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan error
}

// serverArgs returns the command line that makes target's binary listen
// on wsAddr and httpAddr, followed by extra. The floor listens on wsAddr
// only when it is not empty.
func serverArgs(target, wsAddr, httpAddr string, extra []string) []string {
	if target == TargetFloor {
		args := []string{"--http-addr", httpAddr}
		if wsAddr != "" {
			args = append(args, "--ws-addr", wsAddr)
		}
		return append(args, extra...)
	}
	args := []string{"--ws-addr", wsAddr, "--http-addr", httpAddr}
	if target == TargetDanmu {
		// No admin address unless extra names one: the default port is
		// one per machine, and danmu refuses to start when it is taken.
		args = append([]string{"serve"}, append(args, "--admin-addr", "")...)
	}
	return append(args, extra...)
}

// startServer starts bin with args, its output appended to logPath, and
// waits until every address in addrs accepts connections.
func startServer(ctx context.Context, bin string, args []string, logPath string, addrs ...string) (*server, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return nil, fmt.Errorf("loadgen: start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, log: log, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	waitCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for _, addr := range addrs {
		if err := s.waitListening(waitCtx, addr); err != nil {
			_ = s.stop(5 * time.Second)
			return nil, fmt.Errorf("loadgen: %s never listened on %s (log: %s): %w", bin, addr, logPath, err)
		}
	}
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) waitListening(ctx context.Context, addr string) error {
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, waits up to timeout for a clean exit, then kills.
// A server that had already exited, or exits with an error, is reported
// (a crash shows up here; its log has the reason).
func (s *server) stop(timeout time.Duration) error {
	defer s.log.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		var exit *exec.ExitError
		if err == nil || (errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled()) {
			return nil
		}
		return fmt.Errorf("loadgen: server %s: %w (see %s)", s.cmd.Path, err, s.log.Name())
	case <-time.After(timeout):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("loadgen: server did not stop within %v; killed", timeout)
	}
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
