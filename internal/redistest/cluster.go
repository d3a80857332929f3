package redistest

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// clusterTimeout bounds how long a new cluster may take to report ok on
// every node.
const clusterTimeout = 15 * time.Second

// Cluster is a Redis Cluster of three masters without replicas, started by
// a test and killed when it ends.
type Cluster struct {
	// Nodes are the masters; Addrs their addresses, in the same order.
	Nodes []*Server
	Addrs []string
}

// StartCluster starts three cluster-enabled servers (without persistence),
// joins them with redis-cli --cluster create, which spreads the 16384
// slots over them, and waits until every node reports the cluster ok.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{}
	for range 3 {
		n := Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")
		c.Nodes = append(c.Nodes, n)
		c.Addrs = append(c.Addrs, n.Addr())
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	deadline := time.Now().Add(clusterTimeout)
	for _, n := range c.Nodes {
		for {
			reply := n.MustDo("CLUSTER", "INFO")
			text, _ := reply.ToString()
			if strings.Contains(text, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ok:\n%s", n.Addr(), text)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}

// FlushAll empties every node of the cluster.
func (c *Cluster) FlushAll() {
	for _, n := range c.Nodes {
		n.MustDo("FLUSHALL")
	}
}
