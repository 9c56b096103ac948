package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// node is one redis-server process (a Cluster node, a Sentinel-managed
// master or replica, or a sentinel) started by StartCluster or
// StartSentinel.
type node struct {
	Addr   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has been reaped

	mu     sync.Mutex
	killed bool
}

// requireTools fails the test, saying how to install Redis, unless every
// named program is on the PATH.
func requireTools(tb testing.TB, names ...string) {
	tb.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			tb.Fatalf("%s is not installed; tests need a real Redis >= 7.0 (redis-server and redis-cli): "+
				"apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS)", name)
		}
	}
}

// startNode starts redis-server with the arguments args returns for a fresh
// folder and nports free loopback ports (the first one is the client port),
// and waits until it answers PING. A port taken between choosing it and
// binding it is retried with new ports. The process is killed when the test
// ends.
func startNode(tb testing.TB, what string, nports int, args func(dir string, ports []int) []string) *node {
	tb.Helper()
	base := tb.TempDir()
	var lastLog []byte
	for attempt := range 5 {
		ports := make([]int, nports)
		for i := range ports {
			ports[i] = freePort(tb)
		}
		dir := filepath.Join(base, strconv.Itoa(attempt))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		n := &node{Addr: "127.0.0.1:" + strconv.Itoa(ports[0]), dir: dir, exited: make(chan struct{})}
		n.cmd = exec.Command("redis-server", args(dir, ports)...)
		if err := n.cmd.Start(); err != nil {
			tb.Fatalf("start redis-server (%s): %v", what, err)
		}
		go func() {
			_ = n.cmd.Wait()
			close(n.exited)
		}()
		tb.Cleanup(n.kill)
		err := n.waitReady(10 * time.Second)
		if err == nil {
			return n
		}
		n.kill()
		lastLog = n.log()
		if !strings.Contains(string(lastLog), "already in use") {
			tb.Fatalf("redis-server (%s) on %s: %v; its log:\n%s", what, n.Addr, err, lastLog)
		}
	}
	tb.Fatalf("redis-server (%s) found no free port in 5 attempts; its last log:\n%s", what, lastLog)
	return nil
}

// waitReady waits until the node answers PING, or fails early when the
// process exits.
func (n *node) waitReady(timeout time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-n.exited:
			return errors.New("the process exited")
		default:
		}
		if c.Ping(context.Background()).Err() == nil {
			return nil
		}
	}
	return fmt.Errorf("no answer within %v", timeout)
}

// log returns the node's log file.
func (n *node) log() []byte {
	b, _ := os.ReadFile(filepath.Join(n.dir, "redis.log"))
	return b
}

// kill stops the process with SIGKILL, as a crash would, and reaps it;
// calling it again does nothing.
func (n *node) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.killed {
		return
	}
	n.killed = true
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// dataArgs are the arguments of a data node that keeps nothing on disk.
func dataArgs(dir string, port int, extra ...string) []string {
	return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log")}, extra...)
}

// Cluster is a Redis Cluster of masters without replicas, started for one
// test.
type Cluster struct {
	// Addrs are the masters' host:port addresses.
	Addrs []string
	nodes []*node
	tb    testing.TB
}

// StartCluster starts masters (at least 3) cluster-enabled redis-server
// processes on free loopback ports, joins them with `redis-cli --cluster
// create` (the slots spread evenly, no replicas), and waits until every node
// reports cluster_state:ok. Everything is killed when the test ends.
func StartCluster(tb testing.TB, masters int) *Cluster {
	tb.Helper()
	requireTools(tb, "redis-server", "redis-cli")
	if masters < 3 {
		tb.Fatalf("StartCluster(%d): Redis Cluster needs at least 3 masters", masters)
	}
	c := &Cluster{tb: tb}
	for range masters {
		// The cluster bus gets its own free port (cluster-port, Redis 7):
		// the default, port+10000, may be taken or beyond 65535.
		n := startNode(tb, "cluster node", 2, func(dir string, p []int) []string {
			return dataArgs(dir, p[0], "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
				"--cluster-port", strconv.Itoa(p[1]), "--cluster-node-timeout", "5000")
		})
		c.nodes = append(c.nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, c.Addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitOK(30 * time.Second)
	return c
}

// waitOK waits until every node reports cluster_state:ok and knows every
// other node.
func (c *Cluster) waitOK(timeout time.Duration) {
	c.tb.Helper()
	deadline := time.Now().Add(timeout)
	for _, n := range c.nodes {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr})
		for {
			info, err := cl.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", len(c.nodes))) {
				break
			}
			if time.Now().After(deadline) {
				cl.Close()
				c.tb.Fatalf("cluster node %s not ready within %v: %v\n%s\nits log:\n%s", n.Addr, timeout, err, info, n.log())
			}
			time.Sleep(50 * time.Millisecond)
		}
		cl.Close()
	}
}

// URL returns the redis-cluster:// URL of every master.
func (c *Cluster) URL() string { return "redis-cluster://" + strings.Join(c.Addrs, ",") }

// Client returns a cluster client, closed with the test.
func (c *Cluster) Client() *redis.ClusterClient {
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	c.tb.Cleanup(func() { cl.Close() })
	return cl
}

// NodeClient returns a client for the one node at addr (one of Addrs),
// closed with the test: for per-node commands such as KEYS or DBSIZE.
func (c *Cluster) NodeClient(addr string) *redis.Client {
	cl := redis.NewClient(&redis.Options{Addr: addr})
	c.tb.Cleanup(func() { cl.Close() })
	return cl
}
