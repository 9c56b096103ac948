package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Result is one benchmark result line of `go test -bench`: the name as
// printed (with the -GOMAXPROCS suffix go adds when it is not 1), the
// iterations, and the value of each unit (ns/op, leads/s, …).
type Result struct {
	Name       string
	Iterations int64
	Metrics    map[string]float64
}

// Output is what one `go test -bench` run printed on its standard output.
type Output struct {
	Results []Result
	Failed  []Mark            // benchmarks reported as "--- FAIL: <name>"
	Skipped []Mark            // benchmarks reported as "--- SKIP: <name>"
	Header  map[string]string // goos, goarch, pkg, cpu
}

// Mark is a benchmark go test reported as failed or skipped, and the first
// line it logged about it (e.g. "bench_test.go:259: notify queue holds …").
type Mark struct {
	Name   string
	Reason string
}

// Status says whether a benchmark produced a result.
type Status int

// The statuses Find reports.
const (
	Found   Status = iota // a result line was printed
	Missing               // the run never mentioned the benchmark
	Failed                // it, or a benchmark it runs under, failed
	Skipped               // it, or a benchmark it runs under, skipped itself
)

// String names the status as the table shows it.
func (s Status) String() string {
	switch s {
	case Found:
		return "found"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	default:
		return "missing"
	}
}

// headerKeys are the lines `go test -bench` prints before the results.
var headerKeys = []string{"goos", "goarch", "pkg", "cpu"}

// Parse reads the standard output of `go test -bench`. Lines it does not
// know (logs, PASS, ok …) are ignored. A result whose name and figures were
// split over two lines by output the benchmark printed in between is put
// back together.
func Parse(r io.Reader) (*Output, error) {
	p := parser{out: &Output{Header: map[string]string{}}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		p.line(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return p.out, fmt.Errorf("read benchmark output: %w", err)
	}
	return p.out, nil
}

// parser is the state of Parse between lines.
type parser struct {
	out     *Output
	pending string // a benchmark name printed without its figures yet
	marked  *Mark  // the last FAIL or SKIP, while its reason may follow
}

// line records one line of output.
func (p *parser) line(line string) {
	if p.reason(line) {
		return
	}
	o := p.out
	if name, ok := marker(line, "--- FAIL: "); ok {
		o.Failed = append(o.Failed, Mark{Name: name})
		p.pending, p.marked = "", &o.Failed[len(o.Failed)-1]
		return
	}
	if name, ok := marker(line, "--- SKIP: "); ok {
		o.Skipped = append(o.Skipped, Mark{Name: name})
		p.pending, p.marked = "", &o.Skipped[len(o.Skipped)-1]
		return
	}
	if o.addHeader(line) {
		return
	}
	if res, ok := ParseLine(line); ok {
		o.Results, p.pending = append(o.Results, res), ""
		return
	}
	if fields := strings.Fields(line); len(fields) > 0 && strings.HasPrefix(fields[0], "Benchmark") {
		p.pending = fields[0] // the figures follow once the benchmark's own output ends
		return
	}
	if p.pending != "" {
		if res, ok := ParseLine(p.pending + " " + line); ok {
			o.Results, p.pending = append(o.Results, res), ""
		}
	}
}

// reason takes an indented line right after a FAIL or SKIP line as its
// reason and reports whether it did.
func (p *parser) reason(line string) bool {
	m := p.marked
	indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
	if m == nil || !indented || strings.TrimSpace(line) == "" {
		p.marked = nil
		return false
	}
	p.marked = nil
	m.Reason = strings.TrimSpace(line)
	return true
}

// addHeader records a "key: value" header line; false if line is none.
func (o *Output) addHeader(line string) bool {
	key, value, ok := strings.Cut(line, ": ")
	if !ok {
		return false
	}
	for _, k := range headerKeys {
		if key == k {
			o.Header[k] = strings.TrimSpace(value)
			return true
		}
	}
	return false
}

// marker returns the benchmark named after prefix anywhere in line.
func marker(line, prefix string) (string, bool) {
	i := strings.Index(line, prefix)
	if i < 0 {
		return "", false
	}
	fields := strings.Fields(line[i+len(prefix):])
	if len(fields) == 0 {
		return "", false
	}
	return fields[0], true
}

// ParseLine parses one result line: a name starting with "Benchmark", the
// iterations, then value and unit pairs. ok is false for any other line.
func ParseLine(line string) (res Result, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 2 || len(fields)%2 != 0 || !strings.HasPrefix(fields[0], "Benchmark") {
		return Result{}, false
	}
	n, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil || n < 0 {
		return Result{}, false
	}
	res = Result{Name: fields[0], Iterations: n, Metrics: make(map[string]float64, len(fields)/2-1)}
	for i := 2; i < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return Result{}, false
		}
		res.Metrics[fields[i+1]] = v
	}
	return res, true
}

// SameBenchmark reports whether got, a name as go test prints it, is the
// benchmark want, a full name without the -GOMAXPROCS suffix
// ("BenchmarkExpire/due-0" is "BenchmarkExpire/due-0-2" or, with one
// processor, "BenchmarkExpire/due-0").
func SameBenchmark(got, want string) bool {
	if got == want {
		return true
	}
	procs, ok := strings.CutPrefix(got, want+"-")
	if !ok || procs == "" {
		return false
	}
	_, err := strconv.Atoi(procs)
	return err == nil
}

// Find returns the last result of the benchmark want (a full name without
// the -GOMAXPROCS suffix) and whether there is one; without one the status
// says whether it, or a benchmark it runs under, failed or skipped, and
// reason gives the first line logged about that, if any.
func (o *Output) Find(want string) (res Result, status Status, reason string) {
	for i := len(o.Results) - 1; i >= 0; i-- {
		if SameBenchmark(o.Results[i].Name, want) {
			return o.Results[i], Found, ""
		}
	}
	if m, ok := marked(o.Failed, want); ok {
		return Result{}, Failed, m.Reason
	}
	if m, ok := marked(o.Skipped, want); ok {
		return Result{}, Skipped, m.Reason
	}
	return Result{}, Missing, ""
}

// marked returns the mark of want, or else of the closest benchmark it runs
// under.
func marked(marks []Mark, want string) (Mark, bool) {
	for name := want; ; {
		for _, m := range marks {
			if SameBenchmark(m.Name, name) {
				return m, true
			}
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return Mark{}, false
		}
		name = name[:i]
	}
}
