// Command benchtable runs leadworker's benchmarks next to the bare tools it
// is built on and prints one Markdown table comparing them: intake against
// bare asynq enqueues and a bare go-redis pipeline, notifications against
// a bare jordan-wright/email pool, expiry against a bare Lua sweep, Redis
// bytes per lead, daemon RSS, and intake → SMTP latency. Each figure is
// shown next to its baseline, the ratio, the target and whether it is met.
//
// It runs one `go test -run '^$' -bench … -benchtime …` per group of
// figures, one after another; figures compared with each other come from the
// same invocation, so they share the machine's conditions. The benchmarks'
// own output streams to standard error while they run; the report (machine
// facts, the table, and the exact commands) goes to standard output.
//
// Usage, from the repository root (`make bench` runs it):
//
//	go run ./tools/benchtable [-quick] [-only regexp] [-n] [-go go]
//
// -quick runs small samples as a smoke test (expiry, which has no size
// knob, is skipped); -only runs the rows whose key matches (-help lists
// them), and only the go test commands they need; -n prints those commands
// without running them.
//
// A benchmark that is missing, renamed, skipped or failed shows as such in
// its row. The exit status is 1 when a go test command failed, 2 on bad
// flags, 0 otherwise, whether or not the targets are met.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command-line flags.
type options struct {
	quick  bool
	only   *regexp.Regexp
	goBin  string
	dryRun bool
}

// parseFlags reads the flags.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "small benchtimes for a smoke run; expiry (no size knob) is skipped")
	only := fs.String("only", "", "run only the rows whose key matches this regexp (keys: "+rowKeys()+")")
	goBin := fs.String("go", "go", "the go command to run the benchmarks with")
	dryRun := fs.Bool("n", false, "print the commands without running them")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		return options{}, fmt.Errorf("-only: %w", err)
	}
	return options{quick: *quick, only: re, goBin: *goBin, dryRun: *dryRun}, nil
}

// rowKeys lists the rows' keys for -help.
func rowKeys() string {
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.key
	}
	return strings.Join(keys, ", ")
}

// selectRows returns the rows whose key -only matches.
func selectRows(only *regexp.Regexp) []row {
	var out []row
	for _, r := range rows {
		if only.MatchString(r.key) {
			out = append(out, r)
		}
	}
	return out
}

// command is one go test run and how it went.
type command struct {
	group     *group
	args      []string
	benchtime string
	loadStart string
	elapsed   time.Duration
	err       error
}

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "benchtable: %v\n", err)
		return 2
	}
	selected := selectRows(opts.only)
	if len(selected) == 0 {
		fmt.Fprintf(stderr, "benchtable: -only %q matches no row (keys: %s)\n", opts.only, rowKeys())
		return 2
	}
	root, err := moduleRoot(opts.goBin)
	if err != nil {
		fmt.Fprintf(stderr, "benchtable: %v\n", err)
		return 2
	}
	if opts.dryRun {
		writeDryRun(stdout, opts, neededGroups(selected))
		return 0
	}
	m := readMachine(opts.goBin)
	start := time.Now()
	results, cmds := runGroups(opts, root, neededGroups(selected), stderr)
	m.loadEnd = loadAverage()
	m.cpu = cpuModel(results)
	writeReport(stdout, report{opts: opts, root: root, machine: m, rows: selected, results: results,
		cmds: cmds, start: start, took: time.Since(start)})
	for _, c := range cmds {
		if c.err != nil {
			return 1
		}
	}
	return 0
}

// neededGroups returns the groups of rows, in run order.
func neededGroups(rs []row) []*group {
	var out []*group
	for _, g := range groups {
		for _, r := range rs {
			if r.group == g {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// runGroups runs each group's go test in turn and parses what it printed.
func runGroups(opts options, root string, gs []*group, stderr io.Writer) (map[*group]*runResult, []*command) {
	results := map[*group]*runResult{}
	var cmds []*command
	for i, g := range gs {
		bt := g.benchtimeFor(opts.quick)
		if bt == "" {
			results[g] = &runResult{skipped: fmt.Sprintf("%s: skipped under -quick: %s", g.name, g.whyQuick)}
			fmt.Fprintf(stderr, "benchtable: [%d/%d] %s\n", i+1, len(gs), results[g].skipped)
			continue
		}
		c := &command{group: g, args: g.args(bt), benchtime: bt}
		cmds = append(cmds, c)
		fmt.Fprintf(stderr, "benchtable: [%d/%d] %s: %s\n", i+1, len(gs), g.name, shellJoin(opts.goBin, c.args))
		results[g] = runOne(opts.goBin, root, c, stderr)
	}
	return results, cmds
}

// runOne runs c in root, streaming its output to stderr, and parses its
// standard output.
func runOne(goBin, root string, c *command, stderr io.Writer) *runResult {
	var stdout bytes.Buffer
	cmd := exec.Command(goBin, c.args...)
	cmd.Dir = root
	cmd.Stdout = io.MultiWriter(&stdout, stderr)
	cmd.Stderr = stderr
	c.loadStart = loadAverage()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		c.err = fmt.Errorf("%s: %w", c.group.name, err)
	}
	c.elapsed = time.Since(start)
	out, err := Parse(&stdout)
	if err != nil && c.err == nil {
		c.err = fmt.Errorf("%s: %w", c.group.name, err)
	}
	return &runResult{out: out, err: c.err}
}

// writeDryRun prints the commands a run would run, and the groups it would
// skip.
func writeDryRun(w io.Writer, opts options, gs []*group) {
	for _, g := range gs {
		if bt := g.benchtimeFor(opts.quick); bt != "" {
			fmt.Fprintln(w, shellJoin(opts.goBin, g.args(bt)))
		} else {
			fmt.Fprintf(w, "# %s: skipped under -quick: %s\n", g.name, g.whyQuick)
		}
	}
}

// cpuModel returns the processor go test reported, if any run did.
func cpuModel(results map[*group]*runResult) string {
	for _, g := range groups {
		if r := results[g]; r != nil && r.out != nil && r.out.Header["cpu"] != "" {
			return r.out.Header["cpu"]
		}
	}
	return ""
}

// shellJoin quotes a command line for a POSIX shell.
func shellJoin(name string, args []string) string {
	parts := []string{shellQuote(name)}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s unless it only has characters a shell leaves alone.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
