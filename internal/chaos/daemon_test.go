//go:build chaos

package chaos

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// daemon is one `leadworker serve` process, which a scenario may kill,
// stop and start again with the same environment and address.
type daemon struct {
	name string
	bin  string
	addr string
	env  map[string]string
	log  string // path of its stdout and stderr, appended to across starts

	cmd  *exec.Cmd
	done chan struct{} // closed once the current process has exited
	err  error         // the current process's exit, set before done is closed
}

// newDaemon starts `leadworker serve` as name with env (LEADWORKER_HTTP_ADDR
// is chosen here) and waits until it is ready. A process still running when
// the test ends is killed.
func newDaemon(t *testing.T, hc *http.Client, bin, name, dir string, env map[string]string) *daemon {
	t.Helper()
	d := &daemon{name: name, bin: bin, env: env, log: filepath.Join(dir, name+".log")}
	t.Cleanup(d.kill)
	for attempt := 0; ; attempt++ {
		d.addr = freeAddr(t)
		d.env["LEADWORKER_HTTP_ADDR"] = d.addr
		d.start(t)
		err := d.waitReady(hc, 30*time.Second)
		if err == nil {
			return d
		}
		if attempt < 3 && strings.Contains(d.tail(), "address already in use") {
			continue // another test took the port first
		}
		t.Fatalf("%s: %v; its log:\n%s", name, err, d.tail())
	}
}

// start starts the process; its output is appended to d.log.
func (d *daemon) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("open %s: %v", d.log, err)
	}
	fmt.Fprintf(f, "=== chaos: starting %s at %s\n", d.name, time.Now().UTC().Format(time.RFC3339Nano))
	cmd := exec.Command(d.bin, "serve")
	cmd.Env = d.environ()
	cmd.Dir = filepath.Dir(d.log)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", d.name, err)
	}
	d.cmd, d.done, d.err = cmd, make(chan struct{}), nil
	go func(done chan struct{}) {
		err := cmd.Wait()
		f.Close()
		d.err = err
		close(done)
	}(d.done)
}

// environ is the test's environment without LEADWORKER_* variables, plus
// d.env.
func (d *daemon) environ() []string {
	var vars []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEADWORKER_") {
			vars = append(vars, kv)
		}
	}
	for k, v := range d.env {
		vars = append(vars, k+"="+v)
	}
	return vars
}

// restart starts the process again and waits until it is ready.
func (d *daemon) restart(t *testing.T, hc *http.Client) {
	t.Helper()
	d.start(t)
	if err := d.waitReady(hc, 30*time.Second); err != nil {
		t.Fatalf("%s after a restart: %v; its log:\n%s", d.name, err, d.tail())
	}
}

// exited reports whether the current process has ended.
func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// pid is the current process's id.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// waitReady waits until the process answers 200 on /readyz.
func (d *daemon) waitReady(hc *http.Client, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if d.exited() {
			return fmt.Errorf("exited before it was ready (%v)", d.err)
		}
		code, err := d.readyz(hc)
		if code == http.StatusOK {
			return nil
		}
		last = fmt.Sprintf("%d %v", code, err)
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready on %s within %v (last: %s)", d.addr, timeout, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// readyz returns the status of GET /readyz, 0 when the request failed.
func (d *daemon) readyz(hc *http.Client) (int, error) {
	res, err := hc.Get("http://" + d.addr + "/readyz")
	if err != nil {
		return 0, fmt.Errorf("GET /readyz: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// kill9 kills the process with SIGKILL: no drain, no cleanup.
func (d *daemon) kill9(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL to %s: %v", d.name, err)
	}
	<-d.done
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to %s: %v", d.name, err)
	}
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not exit within 30s of SIGTERM; its log:\n%s", d.name, d.tail())
	}
	if d.err != nil {
		t.Errorf("%s exited with %v after SIGTERM, want 0; its log:\n%s", d.name, d.err, d.tail())
	}
}

// kill ends the process if it still runs; for cleanups.
func (d *daemon) kill() {
	if d.cmd == nil || d.exited() {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.done
}

// tail returns the end of the process's log.
func (d *daemon) tail() string {
	b, err := os.ReadFile(d.log)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", d.log, err)
	}
	return tail(b, 6<<10)
}

// tail returns the last n bytes of b, marked as cut when longer.
func tail(b []byte, n int) string {
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}
