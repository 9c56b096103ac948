// Package testenv starts the real services tests run against: redis-server
// processes on free loopback ports, owned and cleaned up by the test.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a redis-server process started for one test.
type Redis struct {
	Addr   string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	tb     testing.TB    // nil for a server started by RunWithRedis
	fatalf func(format string, args ...any)
}

// StartRedis starts a redis-server on a free loopback port and stops it when
// the test ends. It fails the test, saying how to install Redis, when
// redis-server is not on the PATH.
func StartRedis(tb testing.TB, args ...string) *Redis {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatalf("redis-server is not installed; tests need a real Redis >= 6.2: apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS)")
	}
	r := &Redis{dir: tb.TempDir(), tb: tb, fatalf: tb.Fatalf}
	tb.Cleanup(r.Stop)
	r.startOnFreePort(args...)
	return r
}

// startDetached starts a redis-server in dir that no test owns: the
// caller kills it.
func startDetached(dir string) (r *Redis, err error) {
	r = &Redis{dir: dir, fatalf: func(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	r.startOnFreePort()
	return r, nil
}

// startOnFreePort starts the server on a free port. A free port can be
// taken by a parallel test before this server binds it: then it tries
// another, rather than talk to that test's server.
func (r *Redis) startOnFreePort(args ...string) {
	for range 5 {
		r.Addr = "127.0.0.1:" + strconv.Itoa(r.freePort())
		if r.start(args...) {
			return
		}
		r.Stop()
	}
	r.fatalf("redis-server could not start on a free port; its log:\n%s", r.log())
}

func (r *Redis) freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// kill stops a server startDetached started.
func (r *Redis) kill() { r.Stop() }

// start starts the server on r.Addr and reports whether it is the one
// answering there.
func (r *Redis) start(extra ...string) bool {
	_, port, _ := net.SplitHostPort(r.Addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log")}, extra...)
	r.cmd = exec.Command("redis-server", args...)
	if err := r.cmd.Start(); err != nil {
		r.fatalf("start redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(exited) }()
	r.exited = exited
	return r.waitReady()
}

// waitReady waits until this process answers on r.Addr; false when it
// exited first (its port was taken).
func (r *Redis) waitReady() bool {
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-r.exited:
			r.cmd = nil
			return false
		default:
		}
		if pid, err := c.InfoMap(context.Background(), "server").Result(); err == nil {
			return pid["Server"]["process_id"] == strconv.Itoa(r.cmd.Process.Pid)
		}
	}
	r.fatalf("redis-server on %s did not answer within 10s; its log:\n%s", r.Addr, r.log())
	return false
}

func (r *Redis) log() []byte {
	b, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
	return b
}

// Client returns a go-redis client for this server, closed with the test.
func (r *Redis) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	r.tb.Cleanup(func() { c.Close() })
	return c
}

// URL returns the server's redis:// URL.
func (r *Redis) URL() string { return fmt.Sprintf("redis://%s/0", r.Addr) }

// Stop kills the server; calling it again does nothing.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// UsedMemory returns the server's used_memory in bytes.
func (r *Redis) UsedMemory(ctx context.Context, c *redis.Client) (int64, error) {
	info, err := c.InfoMap(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
}

func freePort(tb testing.TB) int {
	tb.Helper()
	return (&Redis{fatalf: tb.Fatalf}).freePort()
}
