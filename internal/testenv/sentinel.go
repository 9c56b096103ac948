package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the sentinels of StartSentinel monitor.
const SentinelMaster = "mymaster"

// Sentinel is a Sentinel-managed Redis started for one test: a master, one
// replica and three sentinels (quorum 2), all on loopback ports.
type Sentinel struct {
	// Sentinels are the sentinels' host:port addresses.
	Sentinels []string
	tb        testing.TB

	mu     sync.Mutex
	data   map[string]*node // master and replica, by address
	sents  []*node
	killed []string // data nodes StopMaster killed
}

// StartSentinel starts a master, a replica of it (--replicaof) and three
// sentinels (redis-server <conf> --sentinel, each with its own writable
// config: down-after-milliseconds 1000, failover-timeout 3000), and waits
// until the replica is in sync and every sentinel names the master, sees
// the replica and knows the two other sentinels. Everything is killed when
// the test ends.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	requireTools(tb, "redis-server")
	s := &Sentinel{tb: tb, data: map[string]*node{}}
	// A replica's first full sync would wait 5 s for others to join it
	// (repl-diskless-sync-delay); there is only one.
	master := startNode(tb, "sentinel master", 1, func(dir string, p []int) []string {
		return dataArgs(dir, p[0], "--repl-diskless-sync-delay", "0")
	})
	_, mport, _ := net.SplitHostPort(master.Addr)
	replica := startNode(tb, "sentinel replica", 1, func(dir string, p []int) []string {
		return dataArgs(dir, p[0], "--repl-diskless-sync-delay", "0", "--replicaof", "127.0.0.1", mport)
	})
	s.data[master.Addr], s.data[replica.Addr] = master, replica
	// The sentinels find the replica in the master's INFO, so it is in sync
	// before they start.
	s.waitFor(20*time.Second, "the replica to sync", func() (bool, string) {
		info := s.info(replica.Addr, "replication")
		return strings.Contains(info, "master_link_status:up") && strings.Contains(info, "master_sync_in_progress:0"), info
	})
	for i := range 3 {
		n := startNode(tb, fmt.Sprintf("sentinel %d", i+1), 1, func(dir string, p []int) []string {
			conf := filepath.Join(dir, "sentinel.conf")
			text := strings.Join([]string{
				"port " + strconv.Itoa(p[0]),
				"bind 127.0.0.1",
				"dir " + dir,
				"logfile " + filepath.Join(dir, "redis.log"),
				"sentinel resolve-hostnames no",
				"sentinel monitor " + SentinelMaster + " 127.0.0.1 " + mport + " 2",
				"sentinel down-after-milliseconds " + SentinelMaster + " 1000",
				"sentinel failover-timeout " + SentinelMaster + " 3000",
			}, "\n") + "\n"
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				tb.Fatal(err)
			}
			return []string{conf, "--sentinel"}
		})
		s.sents = append(s.sents, n)
		s.Sentinels = append(s.Sentinels, n.Addr)
	}
	s.waitFor(30*time.Second, "the sentinels to agree", func() (bool, string) {
		for _, sa := range s.Sentinels {
			c := s.sentinelClient(sa)
			addr, err := c.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
			replicas, err2 := c.Replicas(context.Background(), SentinelMaster).Result()
			others, err3 := c.Sentinels(context.Background(), SentinelMaster).Result()
			c.Close()
			if err != nil || err2 != nil || err3 != nil {
				return false, fmt.Sprintf("sentinel %s: %v %v %v", sa, err, err2, err3)
			}
			if got := net.JoinHostPort(addr[0], addr[1]); got != master.Addr {
				return false, fmt.Sprintf("sentinel %s names master %s, want %s", sa, got, master.Addr)
			}
			if len(replicas) != 1 || replicas[0]["flags"] != "slave" || replicas[0]["master-link-status"] != "ok" {
				return false, fmt.Sprintf("sentinel %s sees replicas %v", sa, replicas)
			}
			if len(others) != 2 {
				return false, fmt.Sprintf("sentinel %s knows %d other sentinels, want 2", sa, len(others))
			}
		}
		return true, ""
	})
	return s
}

// URL returns the redis-sentinel:// URL of the three sentinels.
func (s *Sentinel) URL() string {
	return "redis-sentinel://" + strings.Join(s.Sentinels, ",") + "/" + SentinelMaster
}

// Master returns the master's address as the first sentinel that answers
// names it.
func (s *Sentinel) Master() string {
	s.tb.Helper()
	for _, sa := range s.Sentinels {
		c := s.sentinelClient(sa)
		addr, err := c.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
		c.Close()
		if err == nil {
			return net.JoinHostPort(addr[0], addr[1])
		}
	}
	s.tb.Fatal("no sentinel names the master")
	return ""
}

// Client returns a client for the data node at addr (the master or the
// replica), closed with the test.
func (s *Sentinel) Client(addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	s.tb.Cleanup(func() { c.Close() })
	return c
}

// StopMaster kills the current master with SIGKILL, as a crash would, and
// returns its address.
func (s *Sentinel) StopMaster() string {
	s.tb.Helper()
	addr := s.Master()
	s.mu.Lock()
	n := s.data[addr]
	s.killed = append(s.killed, addr)
	s.mu.Unlock()
	if n == nil {
		s.tb.Fatalf("the sentinels name %s as master, which this Sentinel did not start", addr)
	}
	n.kill()
	return addr
}

// WaitFailover waits until every sentinel names a master other than the
// ones StopMaster killed, and that master answers ROLE as a master; it
// returns the new master's address.
func (s *Sentinel) WaitFailover(timeout time.Duration) string {
	s.tb.Helper()
	s.mu.Lock()
	killed := append([]string(nil), s.killed...)
	s.mu.Unlock()
	var master string
	s.waitFor(timeout, "the failover", func() (bool, string) {
		master = ""
		for _, sa := range s.Sentinels {
			c := s.sentinelClient(sa)
			addr, err := c.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
			c.Close()
			if err != nil {
				return false, fmt.Sprintf("sentinel %s: %v", sa, err)
			}
			got := net.JoinHostPort(addr[0], addr[1])
			for _, k := range killed {
				if got == k {
					return false, fmt.Sprintf("sentinel %s still names %s", sa, got)
				}
			}
			if master != "" && got != master {
				return false, fmt.Sprintf("sentinels name %s and %s", master, got)
			}
			master = got
		}
		c := redis.NewClient(&redis.Options{Addr: master, MaxRetries: -1})
		defer c.Close()
		role, err := c.Do(context.Background(), "ROLE").Slice()
		if err != nil || len(role) == 0 || role[0] != "master" {
			return false, fmt.Sprintf("%s answers ROLE %v %v", master, role, err)
		}
		return true, ""
	})
	return master
}

// waitFor polls cond until it holds, failing the test after timeout with
// cond's last explanation and the sentinels' logs.
func (s *Sentinel) waitFor(timeout time.Duration, what string, cond func() (bool, string)) {
	s.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var logs strings.Builder
			for _, n := range s.sents {
				fmt.Fprintf(&logs, "--- sentinel %s:\n%s\n", n.Addr, n.log())
			}
			s.tb.Fatalf("waited %v for %s: %s\n%s", timeout, what, why, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Sentinel) info(addr, section string) string {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	info, _ := c.Info(context.Background(), section).Result()
	return info
}

func (s *Sentinel) sentinelClient(addr string) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second})
}
