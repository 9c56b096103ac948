package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Result
		ok   bool
	}{
		{"custom metrics", "BenchmarkIntakeBatch-2   \t   60000\t     73233 ns/op\t    13655 leads/s\t        45.20 redis-cpu-%",
			Result{Name: "BenchmarkIntakeBatch-2", Iterations: 60000,
				Metrics: map[string]float64{"ns/op": 73233, "leads/s": 13655, "redis-cpu-%": 45.2}}, true},
		{"sub-benchmark", "BenchmarkExpire/due-0-2 \t 1\t 104211 ns/op\t 0.1042 ms/op",
			Result{Name: "BenchmarkExpire/due-0-2", Iterations: 1,
				Metrics: map[string]float64{"ns/op": 104211, "ms/op": 0.1042}}, true},
		{"benchmem and exponent", "BenchmarkX 10 1.5e+06 ns/op 128 B/op 3 allocs/op",
			Result{Name: "BenchmarkX", Iterations: 10,
				Metrics: map[string]float64{"ns/op": 1.5e6, "B/op": 128, "allocs/op": 3}}, true},
		{"name only", "BenchmarkX-2   \t", Result{}, false},
		{"odd fields", "BenchmarkX-2 10 123 ns/op 5", Result{}, false},
		{"iterations not a number", "BenchmarkX-2 ten 123 ns/op", Result{}, false},
		{"value not a number", "BenchmarkX-2 10 fast ns/op", Result{}, false},
		{"not a benchmark", "ok  \tgithub.com/leadworker/leadworker/worker\t12.3s", Result{}, false},
		{"log line", "    bench_test.go:55: built /tmp/x in 1.9s", Result{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseLine(tt.line)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseLine(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestSameBenchmark(t *testing.T) {
	tests := []struct {
		got, want string
		same      bool
	}{
		{"BenchmarkIntakeBatch-2", "BenchmarkIntakeBatch", true},
		{"BenchmarkIntakeBatch", "BenchmarkIntakeBatch", true},
		{"BenchmarkIntakeBatch-16", "BenchmarkIntakeBatch", true},
		{"BenchmarkIntakeBatchX-2", "BenchmarkIntakeBatch", false},
		{"BenchmarkExpire/due-0-2", "BenchmarkExpire/due-0", true},
		{"BenchmarkExpire/due-0", "BenchmarkExpire/due-0", true},
		{"BenchmarkExpire/due-100k-2", "BenchmarkExpire/due-0", false},
		{"BenchmarkExpire/due-0-2", "BenchmarkExpire/due", false},
		{"BenchmarkNotifyThroughput/concurrency=16-2", "BenchmarkNotifyThroughput/concurrency=1", false},
		{"BenchmarkX-", "BenchmarkX", false},
	}
	for _, tt := range tests {
		if got := SameBenchmark(tt.got, tt.want); got != tt.same {
			t.Errorf("SameBenchmark(%q, %q) = %v, want %v", tt.got, tt.want, got, tt.same)
		}
	}
}

// sampleOutput is a go test -bench output with a header, a result split by
// the benchmark's own output, logs, a skip and a failure.
const sampleOutput = `goos: linux
goarch: amd64
pkg: github.com/leadworker/leadworker/worker
cpu: Oxide Virtual Turin-like Processor             
BenchmarkNotifyThroughput/concurrency=16-2         	   20000	    714796 ns/op	      1399 emails/s
BenchmarkBarePoolSend-2   	stray output of the benchmark
more stray output
   20000	     78308 ns/op	     12770 msgs/s
--- BENCH: BenchmarkBarePoolSend-2
    notify_bench_test.go:12: a log line
BenchmarkNotifyLatency-2   	--- SKIP: BenchmarkNotifyLatency-2
    notify_bench_test.go:40: no SMTP
--- FAIL: BenchmarkExpire/due-100k-2
    expire_bench_test.go:99: expire changed 3 leads, want 100000
--- FAIL: BenchmarkExpire-2
FAIL
exit status 1
FAIL	github.com/leadworker/leadworker/worker	61.2s
`

func TestParse(t *testing.T) {
	out, err := Parse(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := map[string]string{"goos": "linux", "goarch": "amd64",
		"pkg": "github.com/leadworker/leadworker/worker", "cpu": "Oxide Virtual Turin-like Processor"}
	if !reflect.DeepEqual(out.Header, wantHeader) {
		t.Errorf("header = %v, want %v", out.Header, wantHeader)
	}
	tests := []struct {
		bench  string
		status Status
		reason string
		unit   string
		value  float64
	}{
		{"BenchmarkNotifyThroughput/concurrency=16", Found, "", "emails/s", 1399},
		{"BenchmarkBarePoolSend", Found, "", "msgs/s", 12770},
		{"BenchmarkNotifyLatency", Skipped, "notify_bench_test.go:40: no SMTP", "", 0},
		{"BenchmarkExpire/due-100k", Failed, "expire_bench_test.go:99: expire changed 3 leads, want 100000", "", 0},
		{"BenchmarkExpire/due-0", Failed, "", "", 0}, // its parent failed
		{"BenchmarkNotifyThroughput/concurrency=32", Missing, "", "", 0},
		{"BenchmarkRenamed", Missing, "", "", 0},
	}
	for _, tt := range tests {
		res, status, reason := out.Find(tt.bench)
		if status != tt.status || reason != tt.reason {
			t.Errorf("Find(%q) = %v, %q; want %v, %q", tt.bench, status, reason, tt.status, tt.reason)
			continue
		}
		if tt.unit != "" && res.Metrics[tt.unit] != tt.value {
			t.Errorf("Find(%q) %s = %v, want %v", tt.bench, tt.unit, res.Metrics[tt.unit], tt.value)
		}
	}
	if len(out.Results) != 2 {
		t.Errorf("parsed %d results, want 2: %+v", len(out.Results), out.Results)
	}
}
