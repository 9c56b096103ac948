//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server process with AOF persistence in a folder of
// its own, so a restart on the same port finds the data it had.
type redisServer struct {
	addr string
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// startRedis starts a persistent redis-server on a free loopback port; it
// is killed when the test ends.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not on the PATH: apt-get install redis-server")
	}
	r := &redisServer{dir: t.TempDir()}
	t.Cleanup(r.kill)
	var err error
	for range 5 { // a free port can be taken before the server binds it
		r.addr = freeAddr(t)
		if err = r.start(); err == nil {
			return r
		}
	}
	t.Fatalf("redis-server: %v; its log:\n%s", err, r.log())
	return nil
}

// url is the server's redis:// URL.
func (r *redisServer) url() string { return "redis://" + r.addr + "/0" }

// start runs the server on r.addr with r.dir and waits until it answers.
func (r *redisServer) start() error {
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"),
		"--save", "", "--appendonly", "yes", "--appendfsync", "everysec")
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(r.cmd, r.done)
	return r.waitReady(20 * time.Second)
}

// waitReady waits until this process answers PING on r.addr (after loading
// its AOF).
func (r *redisServer) waitReady(timeout time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	var last error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-r.done:
			return errors.New("redis-server exited before answering (port taken?)")
		default:
		}
		info, err := c.InfoMap(context.Background(), "server").Result()
		if err != nil {
			last = err
			continue
		}
		if info["Server"]["process_id"] != strconv.Itoa(r.cmd.Process.Pid) {
			return fmt.Errorf("another redis-server answers on %s", r.addr)
		}
		if last = c.Ping(context.Background()).Err(); last == nil {
			return nil
		}
	}
	return fmt.Errorf("redis-server on %s did not answer within %v: %v", r.addr, timeout, last)
}

// terminate stops the server with SIGTERM, as an orchestrator does: Redis
// flushes its AOF and exits.
func (r *redisServer) terminate(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to redis-server: %v", err)
	}
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("redis-server did not exit within 20s of SIGTERM; its log:\n%s", r.log())
	}
}

// restart starts the server again on the same port with the same folder.
func (r *redisServer) restart(t *testing.T) {
	t.Helper()
	if err := r.start(); err != nil {
		t.Fatalf("restart redis-server on %s: %v; its log:\n%s", r.addr, err, r.log())
	}
}

// kill ends the process if it still runs.
func (r *redisServer) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
	default:
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// log returns the server's log file.
func (r *redisServer) log() string {
	b, err := os.ReadFile(filepath.Join(r.dir, "redis.log"))
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	return tail(b, 4<<10)
}
