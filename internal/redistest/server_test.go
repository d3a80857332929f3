package redistest

import (
	"strconv"
	"syscall"
	"testing"

	"github.com/redis/rueidis"
)

func TestRestartKeepsWhatPersistenceKept(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // GET k after SIGKILL and restart
	}{
		{"AppendFsyncAlways", []string{"--appendonly", "yes", "--appendfsync", "always"}, "v"},
		{"NoPersistence", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Start(t, tc.args...)
			s.MustDo("SET", "k", "v")
			pid, port := s.PID(), s.Port()
			s.Kill()
			if err := syscall.Kill(pid, 0); err == nil {
				t.Fatalf("process %d still runs after Kill", pid)
			}
			if s.PID() != 0 {
				t.Fatalf("PID() after Kill = %d; want 0", s.PID())
			}
			if _, err := s.Do("PING"); err == nil {
				t.Fatal("PING answered after Kill")
			}
			s.Restart()
			if s.Port() != port || s.PID() == 0 || s.PID() == pid {
				t.Fatalf("after Restart: port %d, pid %d; want port %d and a new process", s.Port(), s.PID(), port)
			}
			reply, err := s.Do("GET", "k")
			got := ""
			switch {
			case err == nil:
				got, _ = reply.ToString()
			case !rueidis.IsRedisNil(err):
				t.Fatalf("GET k: %v", err)
			}
			if got != tc.want {
				t.Errorf("GET k after a crash and restart = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	s := Start(t)
	if got := s.Info("tcp_port"); got != strconv.Itoa(s.Port()) {
		t.Errorf("Info(tcp_port) = %q; want %d", got, s.Port())
	}
}

func TestPauseResume(t *testing.T) {
	s := Start(t)
	s.Pause()
	if s.answers() {
		t.Fatal("a paused server answered PING")
	}
	s.Resume()
	s.MustDo("PING")
	// A paused server can be killed.
	s.Pause()
	s.Kill()
	s.Restart()
	s.MustDo("PING")
}
