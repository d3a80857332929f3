package stream

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// redisServer is a redis-server process started by a test on a free port
// of 127.0.0.1, in its own temporary directory. It is killed when the test
// ends.
type redisServer struct {
	t    testing.TB
	port int
	addr string
	dir  string
	args []string
	cmd  *exec.Cmd
}

// startRedis starts redis-server without persistence (--save "" and
// --appendonly no; args can override them) and waits until it answers.
func startRedis(t testing.TB, args ...string) *redisServer {
	t.Helper()
	s := &redisServer{t: t, dir: t.TempDir(), args: args}
	s.port = freePort(t)
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.start()
	t.Cleanup(s.kill)
	return s
}

// start runs the server and waits until it answers PING.
func (s *redisServer) start() {
	s.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--logfile", "redis.log",
	}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s.answers() {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.kill()
			s.t.Fatalf("redis-server on %s did not answer PING; its log:\n%s", s.addr, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answers reports whether the server answers PING, even with an error
// such as NOAUTH.
func (s *redisServer) answers() bool {
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

// kill stops the server at once (SIGKILL), like a crash: without
// persistence its data is lost.
func (s *redisServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// restart kills the server and starts it again on the same port.
func (s *redisServer) restart() {
	s.t.Helper()
	s.kill()
	s.start()
}

// do sends one command to this server alone over a new connection.
func (s *redisServer) do(args ...string) (rueidis.RedisMessage, error) {
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

// mustDo is do that fails the test on an error.
func (s *redisServer) mustDo(args ...string) rueidis.RedisMessage {
	s.t.Helper()
	reply, err := s.do(args...)
	if err != nil {
		s.t.Fatalf("%s on %s: %v", strings.Join(args, " "), s.addr, err)
	}
	return reply
}

// info returns the value of field in the INFO reply of this server.
func (s *redisServer) info(field string) string {
	s.t.Helper()
	reply := s.mustDo("INFO")
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

// freePort returns a port of 127.0.0.1 that is free, and whose cluster bus
// port (+10000) is free too.
func freePort(t testing.TB) int {
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

// redisCluster is a Redis Cluster of three masters without replicas,
// started by a test.
type redisCluster struct {
	nodes []*redisServer
	addrs []string
}

// startRedisCluster starts three cluster-enabled servers, joins them with
// redis-cli --cluster create and waits until every node reports the
// cluster ok.
func startRedisCluster(t testing.TB) *redisCluster {
	t.Helper()
	c := &redisCluster{}
	for range 3 {
		n := startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")
		c.nodes = append(c.nodes, n)
		c.addrs = append(c.addrs, n.addr)
	}
	args := append([]string{"--cluster", "create"}, c.addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, n := range c.nodes {
		for {
			reply := n.mustDo("CLUSTER", "INFO")
			text, _ := reply.ToString()
			if strings.Contains(text, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ok:\n%s", n.addr, text)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}

// flushAll empties every node of the cluster.
func (c *redisCluster) flushAll() {
	for _, n := range c.nodes {
		n.mustDo("FLUSHALL")
	}
}

// testPrefixes numbers the key prefixes of tests sharing a server.
var testPrefixes atomic.Int64

// newTestRedis returns a Redis log on addrs with its own key prefix,
// closed when the test ends.
func newTestRedis(t testing.TB, addrs []string, cfg RedisConfig) *Redis {
	t.Helper()
	cfg.Addrs = addrs
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = fmt.Sprintf("test%d:", testPrefixes.Add(1))
	}
	r, err := NewRedis(cfg)
	if err != nil {
		t.Fatalf("NewRedis(%v): %v", addrs, err)
	}
	t.Cleanup(r.Close)
	return r
}
