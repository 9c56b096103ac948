//go:build unix

package browser

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in its own process group and makes a cancel
// kill the whole group: Chromium forks helpers (zygote, renderer, GPU)
// that would otherwise outlive it and hold its output open.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
