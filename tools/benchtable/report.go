package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// report is everything the printed report shows.
type report struct {
	opts    options
	root    string
	machine machine
	rows    []row
	results map[*group]*runResult
	cmds    []*command
	start   time.Time
	took    time.Duration
}

// writeReport prints the machine facts, the table, how the baselines
// compare with the reference machine, what did not run, and the
// commands.
func writeReport(w io.Writer, r report) {
	fmt.Fprintln(w, "## leadworker against its bare baselines")
	fmt.Fprintln(w)
	writeMachine(w, r)
	fmt.Fprintln(w)
	lines := make([]line, len(r.rows))
	for i, row := range r.rows {
		lines[i] = evaluate(row, r.results[row.group], row.group.benchtimeFor(r.opts.quick))
	}
	writeTable(w, lines)
	writeReferences(w, r)
	writeSkipped(w, r)
	writeCommands(w, r)
}

// writeMachine prints the machine facts and the mode.
func writeMachine(w io.Writer, r report) {
	m := r.machine
	cpu := ""
	if m.cpu != "" {
		cpu = ", " + m.cpu
	}
	fmt.Fprintf(w, "- machine: nproc %d%s, %s RAM\n", m.nproc, cpu, m.memory)
	fmt.Fprintf(w, "- load average (1, 5, 15 min): %s at the start, %s at the end\n", m.loadStart, m.loadEnd)
	fmt.Fprintf(w, "- redis-server: %s\n", m.redis)
	fmt.Fprintf(w, "- go: %s\n", m.goVersion)
	mode := "full"
	if r.opts.quick {
		mode = "quick (-quick: small samples for a smoke run, not comparable with a full run)"
	}
	fmt.Fprintf(w, "- run: %s, started %s, took %v\n", mode, r.start.UTC().Format(time.RFC3339), r.took.Round(time.Second))
}

// writeReferences compares each baseline measured with its figure on the
// issue's 2-core reference machine: far below it means this machine was
// busy or slower, which lowers every figure of that run.
func writeReferences(w io.Writer, r report) {
	var notes []string
	seen := map[string]bool{}
	for _, row := range r.rows {
		if row.baseline == nil || row.reference == 0 || seen[row.baseline.bench] {
			continue
		}
		seen[row.baseline.bench] = true
		v, problem := figure(r.results[row.group], *row.baseline)
		if problem != "" {
			continue
		}
		notes = append(notes, fmt.Sprintf("- %s: %s here, ≈ %s on the reference machine (%.2f×)",
			row.baseName, formatFigure(v, *row.baseline), formatFigure(row.reference, *row.baseline), v/row.reference))
	}
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Baselines against the issue's 2-core reference machine (well below 1× means this machine was busier or slower):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, strings.Join(notes, "\n"))
}

// writeSkipped lists the groups that did not run.
func writeSkipped(w io.Writer, r report) {
	var notes []string
	for _, g := range groups {
		if res := r.results[g]; res != nil && res.skipped != "" {
			notes = append(notes, "- "+res.skipped)
		}
	}
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Not run:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, strings.Join(notes, "\n"))
}

// writeCommands lists the commands in the order they ran, with their time,
// the load average before each and how each ended.
func writeCommands(w io.Writer, r report) {
	if len(r.cmds) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Commands (run one after another in %s):\n\n", r.root)
	for i, c := range r.cmds {
		line := fmt.Sprintf("%d. `%s`", i+1, shellJoin(r.opts.goBin, c.args))
		switch {
		case c.err != nil:
			line += fmt.Sprintf(" — %v, load %s before, **failed**: %v", c.elapsed.Round(100*time.Millisecond), c.loadStart, c.err)
		default:
			line += fmt.Sprintf(" — %v, load %s before", c.elapsed.Round(100*time.Millisecond), c.loadStart)
		}
		fmt.Fprintln(w, line)
	}
}
