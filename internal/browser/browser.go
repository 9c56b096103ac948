// Package browser finds and runs headless Chromium, for the email previews
// (docs/emails/) and the tests that lay the rendered emails out.
//
// Each run gets a fresh temporary profile and the flags that keep Chromium
// off the network (no background networking, component updates, sync or
// QUIC), so it works on a machine without network access.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// InstallHint says how to get a Chromium that Path finds.
const InstallHint = "install it with `apt-get install chromium` (Debian/Ubuntu; with sudo when not root), " +
	"or set CHROMIUM to the path of a Chromium or Chrome binary"

// candidates are the executable names Path looks for, in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell"}

// Path returns the Chromium executable: $CHROMIUM when set, else the first
// of chromium, chromium-browser, google-chrome, … found on the PATH. The
// error, when there is none, includes InstallHint.
func Path() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		abs, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("CHROMIUM=%s: %w; %s", p, err, InstallHint)
		}
		return abs, nil
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("headless Chromium not found (looked for %s on the PATH): %s",
		strings.Join(candidates, ", "), InstallHint)
}

// flags are passed to every run. --no-sandbox because CI runs as root;
// --hide-scrollbars so that a scrollbar neither takes width from the page
// nor shows in screenshots.
var flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
}

// Timeout bounds one run when the context has no earlier deadline.
const Timeout = 60 * time.Second

// Run runs headless Chromium once with the standard flags plus args (which
// end with the URL to load) and returns what it wrote to stdout. Chromium's
// stderr is noisy (D-Bus, GPU); it is only returned, in the error, when the
// run fails.
func Run(ctx context.Context, args ...string) ([]byte, error) {
	bin, err := Path()
	if err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "leadworker-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	all := append(append(append([]string{}, flags...), "--user-data-dir="+profile), args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Dir = profile
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	setProcessGroup(cmd) // on cancel, kill Chromium's helper processes too
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w\n%s", bin, err, tail(stderr.String(), 2000))
	}
	return stdout.Bytes(), nil
}

// DumpDOM loads url in a width×height window, lets it run for up to
// budget of virtual time (after the load event) and returns the serialized
// DOM.
func DumpDOM(ctx context.Context, url string, width, height int, budget time.Duration) (string, error) {
	out, err := Run(ctx, windowSize(width, height),
		"--virtual-time-budget="+strconv.FormatInt(budget.Milliseconds(), 10), "--dump-dom", url)
	return string(out), err
}

// Screenshot loads url in a width×height window and writes what it shows
// to pngPath.
func Screenshot(ctx context.Context, url, pngPath string, width, height int) error {
	abs, err := filepath.Abs(pngPath)
	if err != nil {
		return err
	}
	_ = os.Remove(abs)
	if _, err := Run(ctx, windowSize(width, height), "--virtual-time-budget=2000",
		"--screenshot="+abs, url); err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return errors.New("chromium wrote no screenshot: " + err.Error())
	}
	return nil
}

// FileURL returns the file:// URL of path.
func FileURL(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

func windowSize(width, height int) string {
	return fmt.Sprintf("--window-size=%d,%d", width, height)
}

// tail returns the last max bytes of s.
func tail(s string, max int) string {
	s = strings.TrimSpace(s)
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}
