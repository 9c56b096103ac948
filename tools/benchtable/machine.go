package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// machine holds the facts printed above the table.
type machine struct {
	nproc     int
	memory    string // total RAM
	cpu       string // the model go test reports
	loadStart string
	loadEnd   string
	redis     string // redis-server --version
	goVersion string // go version
}

// readMachine gathers the facts that do not need a benchmark run.
func readMachine(goBin string) machine {
	return machine{
		nproc:     runtime.NumCPU(),
		memory:    memTotal(),
		loadStart: loadAverage(),
		redis:     firstLine("redis-server", "--version"),
		goVersion: firstLine(goBin, "version"),
	}
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		if out := firstLine("uptime"); !strings.HasPrefix(out, "unavailable") {
			if _, avg, ok := strings.Cut(out, "load average"); ok {
				return strings.TrimLeft(avg, "s: ")
			}
		}
		return "unavailable"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unavailable"
	}
	return strings.Join(f[:3], " ")
}

// memTotal returns MemTotal from /proc/meminfo in GiB.
func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseFloat(fields[1], 64); err == nil {
				return fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	return "unknown"
}

// firstLine runs a command and returns the first line of its output, or
// why it could not.
func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return fmt.Sprintf("unavailable (%s: %v)", name, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}

// moduleRoot returns the folder of the main module's go.mod.
func moduleRoot(goBin string) (string, error) {
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("%s env GOMOD: %w", goBin, err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module: run from the leadworker repository")
	}
	return strings.TrimSuffix(gomod, "/go.mod"), nil
}
