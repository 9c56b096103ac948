package main

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		v    float64
		prec int
		want string
	}{
		{13655.4, -1, "13,655"},
		{999.6, -1, "1,000"},
		{1234567, -1, "1,234,567"},
		{12, -1, "12"},
		{2.914, 2, "2.91"},
		{0.1042, 2, "0.10"},
		{44.52, 1, "44.5"},
		{1234.5, 1, "1,234.5"},
		{-1234, -1, "-1,234"},
	}
	for _, tt := range tests {
		if got := formatNumber(tt.v, tt.prec); got != tt.want {
			t.Errorf("formatNumber(%v, %d) = %q, want %q", tt.v, tt.prec, got, tt.want)
		}
	}
}

func TestCount(t *testing.T) {
	for in, want := range map[string]string{"50000x": "50,000", "1x": "1", "5s": "5s", "x": "x"} {
		if got := count(in); got != want {
			t.Errorf("count(%q) = %q, want %q", in, got, want)
		}
	}
}

// results builds a group result from benchmark output lines.
func results(t *testing.T, err error, lines ...string) *runResult {
	t.Helper()
	out, perr := Parse(strings.NewReader(strings.Join(lines, "\n")))
	if perr != nil {
		t.Fatal(perr)
	}
	return &runResult{out: out, err: err}
}

func TestEvaluate(t *testing.T) {
	g := &group{name: "g", benchtime: "100x"}
	withBase := row{what: "x {n}", group: g, value: rate("BenchmarkA", "leads/s"),
		baseline: ptr(rate("BenchmarkB", "tasks/s")), target: target{minRatio: 0.3, text: "≥ 0.3×"}}
	capped := row{what: "y", group: g, value: fixed("BenchmarkC", "p99-ms", "ms", 0),
		extra: []metric{rate("BenchmarkC", "leads/s")}, target: target{maxValue: 250, text: "≤ 250 ms"}}
	plain := row{what: "z", group: g, value: fixed("BenchmarkC", "p50-ms", "ms", 0)}
	tests := []struct {
		name string
		row  row
		res  *runResult
		want line
	}{
		{"ratio met", withBase, results(t, nil, "BenchmarkA-2 100 1 ns/op 12000 leads/s", "BenchmarkB-2 100 1 ns/op 40000 tasks/s"),
			line{"x 100", "12,000 leads/s", "40,000 tasks/s", "0.30×", "≥ 0.3×", "yes"}},
		{"ratio missed", withBase, results(t, nil, "BenchmarkA-2 100 1 ns/op 4000 leads/s", "BenchmarkB-2 100 1 ns/op 40000 tasks/s"),
			line{"x 100", "4,000 leads/s", "40,000 tasks/s", "0.10×", "≥ 0.3×", "**no**"}},
		{"renamed benchmark", withBase, results(t, nil, "BenchmarkB-2 100 1 ns/op 40000 tasks/s"),
			line{"x 100", "missing (BenchmarkA)", "40,000 tasks/s", "—", "≥ 0.3×", "?"}},
		{"metric missing", withBase, results(t, nil, "BenchmarkA-2 100 1 ns/op", "BenchmarkB-2 100 1 ns/op 40000 tasks/s"),
			line{"x 100", "missing (BenchmarkA reports no leads/s)", "40,000 tasks/s", "—", "≥ 0.3×", "?"}},
		{"go test failed", withBase, results(t, errors.New("exit status 1")),
			line{"x 100", "failed (BenchmarkA: go test: exit status 1)", "failed (BenchmarkB: go test: exit status 1)", "—", "≥ 0.3×", "?"}},
		{"failed with a reason", withBase, results(t, errors.New("exit status 1"), "BenchmarkA-2 \t--- FAIL: BenchmarkA-2",
			"    bench_test.go:259: notify queue holds 100 tasks, want 5000", "BenchmarkB-2 100 1 ns/op 40000 tasks/s"),
			line{"x 100", "failed (BenchmarkA: bench_test.go:259: notify queue holds 100 tasks, want 5000)", "40,000 tasks/s", "—", "≥ 0.3×", "?"}},
		{"skipped group", withBase, &runResult{skipped: "g: skipped under -quick"},
			line{"x 100", "skipped", "skipped", "—", "≥ 0.3×", "?"}},
		{"value with extra met", capped, results(t, nil, "BenchmarkC 1 1 ns/op 144 p99-ms 498.2 leads/s"),
			line{"y", "144 ms (498 leads/s)", "—", "—", "≤ 250 ms", "yes"}},
		{"value missed", capped, results(t, nil, "BenchmarkC 1 1 ns/op 665 p99-ms"),
			line{"y", "665 ms", "—", "—", "≤ 250 ms", "**no**"}},
		{"no target", plain, results(t, nil, "BenchmarkC 1 1 ns/op 58 p50-ms"),
			line{"z", "58 ms", "—", "—", "—", "—"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evaluate(tt.row, tt.res, g.benchtime); got != tt.want {
				t.Errorf("evaluate = %+v\nwant       %+v", got, tt.want)
			}
		})
	}
}

func TestRowsAreConsistent(t *testing.T) {
	keys := map[string]bool{}
	for _, r := range rows {
		if keys[r.key] {
			t.Errorf("key %q is used twice", r.key)
		}
		keys[r.key] = true
		if r.group == nil || r.target.minRatio > 0 && r.baseline == nil {
			t.Errorf("row %q: no group, or a ratio target without a baseline", r.key)
		}
		found := false
		for _, g := range groups {
			found = found || g == r.group
		}
		if !found {
			t.Errorf("row %q: its group is not in groups", r.key)
		}
	}
	if got := selectRows(regexp.MustCompile("^memory")); len(got) != 4 {
		t.Errorf("-only ^memory selects %d rows, want 4", len(got))
	}
	if got := neededGroups(selectRows(regexp.MustCompile("intake"))); len(got) != 1 || got[0] != intakeGroup {
		t.Errorf("-only intake needs groups %v, want only intake", got)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"./worker": "./worker", "60000x": "60000x", "^$": `'^$'`,
		"a|b": `'a|b'`, "it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
