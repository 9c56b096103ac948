//go:build chaos

package chaos

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestChaos runs every scenario against real processes, one after the
// other, and prints the table of their results at the end. Run one with
// -run 'TestChaos/<name>'.
func TestChaos(t *testing.T) {
	bin := buildDaemon(t)
	t.Cleanup(printTable)
	t.Run("kill-9", func(t *testing.T) { testKill(t, bin) })
	t.Run("smtp-down", func(t *testing.T) { testSMTPDown(t, bin) })
	t.Run("smtp-5xx", func(t *testing.T) { testSMTPReject(t, bin) })
	t.Run("redis-restart", func(t *testing.T) { testRedisRestart(t, bin) })
	t.Run("clock-jump", func(t *testing.T) { testClockJump(t, bin) })
	t.Run("big-day", func(t *testing.T) { testBigDay(t, bin) })
	t.Run("uncertain-digest", func(t *testing.T) { testUncertainDigest(t, bin) })
}

// recoveryStall is how long waitSettled waits, with the queues idle and no
// mail coming, before it takes the leads not announced yet as lost. Work
// whose enqueue was lost is enqueued again by the digests job once pending
// for a minute, and a message whose sender died stays locked for two
// minutes: give both time.
const recoveryStall = 150 * time.Second

// buildDaemon builds cmd/leadworker once into a temporary folder.
func buildDaemon(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "leadworker")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "github.com/leadworker/leadworker/cmd/leadworker")
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/leadworker: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// waitUntil polls cond every 10 ms and fails the test with what after
// timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// secs formats d in seconds with one decimal.
func secs(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }
