package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/stream"
)

// runArgs runs the command line args and returns the exit status and what
// was written to stdout and stderr.
func runArgs(args ...string) (status int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	status = run(args, &out, &errOut)
	return status, out.String(), errOut.String()
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-help"}, {"-h"}} {
		status, stdout, stderr := runArgs(args...)
		if status != 0 || stderr != "" {
			t.Errorf("danmu %s = %d, stderr %q; want 0 and nothing on stderr", args[0], status, stderr)
		}
		for _, command := range []string{"serve", "edge", "ingest", "help", "DANMU_"} {
			if !strings.Contains(stdout, command) {
				t.Errorf("danmu %s does not mention %q:\n%s", args[0], command, stdout)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	// Whatever the environment running the tests says, edge and ingest
	// get no Redis from it.
	t.Setenv("DANMU_REDIS", "")
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{nil, "Usage:"},
		{[]string{"launch"}, `unknown command "launch"`},
		{[]string{"--redis", "127.0.0.1:6379"}, `unknown command "--redis"`},
		{[]string{"edge"}, "edge needs --redis"},
		{[]string{"ingest"}, "ingest needs --redis"},
		{[]string{"edge", "--redis", ""}, "edge needs --redis"},
		{[]string{"serve", "--no-such-flag"}, "no-such-flag"},
		{[]string{"ingest", "--ws-addr", ":7070", "--redis", "127.0.0.1:6379"}, "ws-addr"},
		{[]string{"edge", "--http-addr", ":7080", "--redis", "127.0.0.1:6379"}, "http-addr"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--loops", "many"}, "loops"},
		{[]string{"serve", "--flush-interval", "5"}, "flush-interval"},
		{[]string{"serve", "--log-level", "loud"}, "log-level"},
		{[]string{"serve", "--log-format", "xml"}, "--log-format"},
		{[]string{"serve", "--trusted-proxies", "10.0.0.0/8"}, "--trusted-proxies needs --client-ip-header"},
		{[]string{"serve", "--client-ip-header", "X-Forwarded-For", "--trusted-proxies", "10.0.0.0/33"}, "trusted-proxies"},
	} {
		status, stdout, stderr := runArgs(tc.args...)
		if status != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("danmu %q = %d, stdout %q, stderr %q; want 2 and %q on stderr", tc.args, status, stdout, stderr, tc.want)
		}
	}
}

func TestBadEnvironmentIsUsageError(t *testing.T) {
	t.Setenv("DANMU_LOOPS", "many")
	status, _, stderr := runArgs("serve")
	if status != 2 || !strings.Contains(stderr, "DANMU_LOOPS") {
		t.Errorf("danmu serve with DANMU_LOOPS=many = %d, stderr %q; want 2 naming DANMU_LOOPS", status, stderr)
	}
}

// TestCommandHelp checks that "danmu <command> --help" lists every flag of
// the command with the environment variable that sets it, and only the
// flags of the parts the command runs.
func TestCommandHelp(t *testing.T) {
	for _, tc := range []struct {
		command string
		has     []string
		hasNot  []string
	}{
		{"serve", []string{"redis", "ws-addr", "http-addr", "retention", "online-ttl", "append-timeout"}, nil},
		{"edge", []string{"redis", "ws-addr", "retention", "online-ttl", "flush-interval"}, []string{"http-addr", "append-timeout"}},
		{"ingest", []string{"redis", "http-addr", "retention", "append-timeout"}, []string{"ws-addr", "online-ttl", "flush-interval"}},
	} {
		status, stdout, stderr := runArgs(tc.command, "--help")
		if status != 0 || stdout != "" {
			t.Errorf("danmu %s --help = %d, stdout %q; want 0 and the help on stderr", tc.command, status, stdout)
		}
		var o options
		var names []string
		commandFlags(tc.command, commandRoles[tc.command], &o).VisitAll(func(f *flag.Flag) {
			names = append(names, f.Name)
			if want := "--" + f.Name + " (" + envName(f.Name) + ")"; !strings.Contains(stderr, want) {
				t.Errorf("danmu %s --help does not list %q:\n%s", tc.command, want, stderr)
			}
		})
		for _, name := range tc.has {
			if !slices.Contains(names, name) {
				t.Errorf("danmu %s has no flag --%s", tc.command, name)
			}
		}
		for _, name := range tc.hasNot {
			if slices.Contains(names, name) || strings.Contains(stderr, "--"+name+" ") {
				t.Errorf("danmu %s has a flag --%s; that part does not run in it", tc.command, name)
			}
		}
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{
		"redis":               "DANMU_REDIS",
		"ws-addr":             "DANMU_WS_ADDR",
		"max-rooms-per-conn":  "DANMU_MAX_ROOMS_PER_CONN",
		"soft-outbound-bytes": "DANMU_SOFT_OUTBOUND_BYTES",
	} {
		if got := envName(in); got != want {
			t.Errorf("envName(%q) = %q; want %q", in, got, want)
		}
	}
}

// parseServe parses args as the flags of danmu serve, with the
// environment.
func parseServe(t *testing.T, args ...string) options {
	t.Helper()
	var o options
	if err := parseFlags(commandFlags("serve", commandRoles["serve"], &o), args, io.Discard); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return o
}

// TestEnvironmentAndFlags checks that DANMU_* variables set flags and that
// the command line wins over them.
func TestEnvironmentAndFlags(t *testing.T) {
	t.Setenv("DANMU_WS_ADDR", "127.0.0.1:9001")
	t.Setenv("DANMU_REDIS", "10.0.0.1:6379, 10.0.0.2:6379")
	t.Setenv("DANMU_FLUSH_INTERVAL", "40ms")
	t.Setenv("DANMU_RETENTION", "500")
	t.Setenv("DANMU_LOG_LEVEL", "debug")

	o := parseServe(t)
	if o.edge.Addr != "127.0.0.1:9001" || o.fanout.FlushInterval != 40*time.Millisecond ||
		o.memory.MaxLen != 500 || o.logLevel != slog.LevelDebug ||
		!slices.Equal(o.redis.Addrs, []string{"10.0.0.1:6379", "10.0.0.2:6379"}) {
		t.Errorf("from the environment: ws %q, flush %v, retention %d, log %v, redis %q",
			o.edge.Addr, o.fanout.FlushInterval, o.memory.MaxLen, o.logLevel, o.redis.Addrs)
	}
	if o.ingest.Addr != "127.0.0.1:7080" {
		t.Errorf("http-addr with no flag nor variable = %q; want the default", o.ingest.Addr)
	}

	o = parseServe(t, "--ws-addr", "127.0.0.1:9002", "--redis", "10.0.0.3:6379", "--flush-interval", "7ms", "--retention", "20", "--log-level", "error")
	if o.edge.Addr != "127.0.0.1:9002" || o.fanout.FlushInterval != 7*time.Millisecond ||
		o.memory.MaxLen != 20 || o.logLevel != slog.LevelError ||
		!slices.Equal(o.redis.Addrs, []string{"10.0.0.3:6379"}) {
		t.Errorf("flags over the environment: ws %q, flush %v, retention %d, log %v, redis %q",
			o.edge.Addr, o.fanout.FlushInterval, o.memory.MaxLen, o.logLevel, o.redis.Addrs)
	}

	// --retention feeds the Redis log, and the Redis settings the one
	// connection the stream, the presence and the policy share.
	o = parseServe(t, "--redis-prefix", "app:", "--redis-username", "u", "--redis-password", "p")
	o.finish()
	if o.redisStream.MaxLen != 500 || !slices.Equal(o.redis.Addrs, []string{"10.0.0.1:6379", "10.0.0.2:6379"}) ||
		o.redis.KeyPrefix != "app:" || o.redis.Username != "u" || o.redis.Password != "p" {
		t.Errorf("finish: redis MaxLen %d, connection %+v; want them from the flags", o.redisStream.MaxLen, o.redis)
	}
}

// TestStreamLimitFlags checks the flags that bound what the stream keeps
// per room name, and that --stream-ttl 0 means no expiry.
func TestStreamLimitFlags(t *testing.T) {
	o := parseServe(t)
	o.finish()
	if o.redisStream.TTL != stream.DefaultStreamTTL || o.memory.MaxRooms != stream.DefaultMaxRooms || o.memory.RoomIdle != stream.DefaultRoomIdle {
		t.Errorf("defaults: stream TTL %v, max rooms %d, room idle %v; want %v, %d, %v",
			o.redisStream.TTL, o.memory.MaxRooms, o.memory.RoomIdle, stream.DefaultStreamTTL, stream.DefaultMaxRooms, stream.DefaultRoomIdle)
	}
	t.Setenv("DANMU_STREAM_TTL", "48h")
	o = parseServe(t, "--max-rooms", "50", "--room-idle", "90s")
	o.finish()
	if o.redisStream.TTL != 48*time.Hour || o.memory.MaxRooms != 50 || o.memory.RoomIdle != 90*time.Second {
		t.Errorf("set: stream TTL %v, max rooms %d, room idle %v; want 48h, 50, 1m30s", o.redisStream.TTL, o.memory.MaxRooms, o.memory.RoomIdle)
	}
	o = parseServe(t, "--stream-ttl", "0")
	o.finish()
	if o.redisStream.TTL >= 0 {
		t.Errorf("--stream-ttl 0: RedisConfig.TTL = %v; want negative (no expiry)", o.redisStream.TTL)
	}
}

func TestAddrList(t *testing.T) {
	for in, want := range map[string][]string{
		"":                  nil,
		"a:1":               {"a:1"},
		"a:1,b:2":           {"a:1", "b:2"},
		" a:1 , ,b:2, ":     {"a:1", "b:2"},
		"[::1]:6379,a:1":    {"[::1]:6379", "a:1"},
		"redis.local:6379 ": {"redis.local:6379"},
	} {
		a := addrList{"stale:1"}
		if err := a.Set(in); err != nil || !slices.Equal([]string(a), want) {
			t.Errorf("Set(%q) = %q, %v; want %q", in, []string(a), err, want)
		}
		if got := a.String(); got != strings.Join(want, ",") {
			t.Errorf("String() after Set(%q) = %q", in, got)
		}
	}
}

// TestBusyAddressIsFatal: a node whose WebSocket, HTTP or admin address is
// taken does not start: it exits 1 and names the address, rather than run
// without probes and metrics.
func TestBusyAddressIsFatal(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	free := []string{"--ws-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}
	for _, flagName := range []string{"--ws-addr", "--http-addr", "--admin-addr"} {
		args := []string{"serve", "--drain-timeout", "1s"}
		for i := 0; i < len(free); i += 2 {
			value := free[i+1]
			if free[i] == flagName {
				value = addr
			}
			args = append(args, free[i], value)
		}
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "address already in use") {
			t.Errorf("danmu serve %s %s (taken) = exit %d, stderr %q; want 1 naming the address in use", flagName, addr, code, stderr.String())
		}
	}
}

// TestJSONLogFormatIsAllJSON: with --log-format json every line the process
// prints, on stdout and stderr, is one JSON object: the startup banner, the
// warnings, the shutdown, and the error a node that cannot start dies with.
func TestJSONLogFormatIsAllJSON(t *testing.T) {
	var stdout, stderr lockedBuffer
	cmd := exec.Command(os.Args[0], "serve", "--log-format", "json", "--ws-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--drain-timeout", "1s")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, waitTimeout, "the banner", func() bool { return strings.Contains(stderr.String(), "danmu is running") })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("danmu serve after SIGTERM: %v", err)
	}
	checkJSONLines(t, stdout.String()+stderr.String())
	if !strings.Contains(stderr.String(), `"websocket":"ws://127.0.0.1:`) {
		t.Errorf("the banner does not give the WebSocket address: %s", stderr.String())
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var out, errOut bytes.Buffer
	if code := run([]string{"serve", "--log-format", "json", "--ws-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--admin-addr", taken.Addr().String()}, &out, &errOut); code != 1 {
		t.Errorf("exit %d; want 1", code)
	}
	checkJSONLines(t, out.String()+errOut.String())
	if !strings.Contains(errOut.String(), "address already in use") {
		t.Errorf("stderr %q does not say why", errOut.String())
	}
}

// checkJSONLines fails the test for each line of out that is not JSON.
func checkJSONLines(t *testing.T, out string) {
	t.Helper()
	if out == "" {
		t.Error("nothing printed")
	}
	for line := range strings.Lines(out) {
		if !json.Valid([]byte(line)) {
			t.Errorf("a line that is not JSON: %q", line)
		}
	}
}
