package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// runResult is what one group's `go test` run left.
type runResult struct {
	out     *Output // nil when it did not run
	err     error   // why go test failed, if it did
	skipped string  // why it did not run, if it did not
}

// line is one rendered row of the table.
type line struct {
	what, value, baseline, ratio, target, met string
}

// figure returns m's value from res, or why there is none.
func figure(res *runResult, m metric) (float64, string) {
	switch {
	case res == nil || res.out == nil && res.skipped == "":
		return 0, "not run"
	case res.skipped != "":
		return 0, "skipped"
	}
	r, status, reason := res.out.Find(m.bench)
	switch {
	case status == Missing && res.err != nil:
		return 0, fmt.Sprintf("failed (%s: go test: %v)", m.bench, res.err)
	case status != Found && reason != "":
		return 0, fmt.Sprintf("%s (%s: %s)", status, m.bench, shorten(reason, 100))
	case status != Found:
		return 0, fmt.Sprintf("%s (%s)", status, m.bench)
	}
	v, ok := r.Metrics[m.unit]
	if !ok {
		return 0, fmt.Sprintf("missing (%s reports no %s)", m.bench, m.unit)
	}
	return v, ""
}

// shorten cuts s to at most n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// cell shows main and, in parentheses, the extras found; problem is set when
// main has no value.
func cell(res *runResult, main metric, extras []metric) (v float64, text, problem string) {
	v, problem = figure(res, main)
	if problem != "" {
		return 0, problem, problem
	}
	text = formatFigure(v, main)
	var more []string
	for _, m := range extras {
		if x, p := figure(res, m); p == "" {
			more = append(more, formatFigure(x, m))
		}
	}
	if len(more) > 0 {
		text += " (" + strings.Join(more, ", ") + ")"
	}
	return v, text, ""
}

// evaluate renders r from its group's result.
func evaluate(r row, res *runResult, benchtime string) line {
	l := line{what: strings.ReplaceAll(r.what, "{n}", count(benchtime)), baseline: "—", ratio: "—", target: "—", met: "—"}
	if r.target.text != "" {
		l.target = r.target.text
	}
	v, text, problem := cell(res, r.value, r.extra)
	l.value = text
	ratio, haveRatio := 0.0, false
	if r.baseline != nil {
		b, btext, bproblem := cell(res, *r.baseline, r.baseExtra)
		l.baseline = btext
		if problem == "" && bproblem == "" && b > 0 {
			ratio, haveRatio = v/b, true
			l.ratio = fmt.Sprintf("%.2f×", ratio)
		}
	}
	switch {
	case r.target.text == "":
	case problem != "" || r.target.minRatio > 0 && !haveRatio:
		l.met = "?"
	case r.target.minRatio > 0:
		l.met = verdict(ratio >= r.target.minRatio && v >= r.target.minValue)
	case r.target.minValue > 0:
		l.met = verdict(v >= r.target.minValue)
	default:
		l.met = verdict(v <= r.target.maxValue)
	}
	return l
}

// verdict is the met? cell.
func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// count turns a benchtime of N iterations ("50000x") into "50,000"; any
// other benchtime is returned as it is.
func count(benchtime string) string {
	n, err := strconv.ParseInt(strings.TrimSuffix(benchtime, "x"), 10, 64)
	if err != nil || !strings.HasSuffix(benchtime, "x") {
		return benchtime
	}
	return groupDigits(strconv.FormatInt(n, 10))
}

// formatFigure shows v with m's precision and label.
func formatFigure(v float64, m metric) string {
	return formatNumber(v, m.prec) + " " + m.label
}

// formatNumber shows v with prec decimals (-1: rounded to a whole number)
// and thousands separators.
func formatNumber(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', max(prec, 0), 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	whole = groupDigits(whole)
	if hasFrac {
		return sign + whole + "." + frac
	}
	return sign + whole
}

// groupDigits puts a comma between every three digits of a whole number.
func groupDigits(digits string) string {
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// writeTable prints lines as a Markdown table.
func writeTable(w io.Writer, lines []line) {
	fmt.Fprintln(w, "| what | leadworker | baseline | ratio | target | met? |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, l := range lines {
		cells := []string{l.what, l.value, l.baseline, l.ratio, l.target, l.met}
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}
