package main

// group is one `go test -bench` invocation. Figures compared with each
// other come from the same group, so they share the machine's conditions.
type group struct {
	name      string // shown in progress and notes
	pkg       string // package path, e.g. ./worker
	pattern   string // the -bench regexp
	benchtime string // -benchtime of a full run
	quick     string // -benchtime under -quick; "" skips the group there
	whyQuick  string // why the group is skipped under -quick
}

// benchtimeFor returns the -benchtime for the mode; "" when the group does
// not run in it.
func (g *group) benchtimeFor(quick bool) string {
	if quick {
		return g.quick
	}
	return g.benchtime
}

// args returns the arguments of `go` that run the group.
func (g *group) args(benchtime string) []string {
	return []string{"test", "-run", "^$", "-bench", g.pattern, "-benchtime", benchtime, "-timeout", "30m", g.pkg}
}

// The invocations, in the order they run.
var (
	intakeGroup = &group{name: "intake", pkg: "./worker",
		pattern:   "^(BenchmarkIntakeBatch|BenchmarkBareEnqueue|BenchmarkBarePipelineHashes)$",
		benchtime: "60000x", quick: "5000x"}
	notifyGroup = &group{name: "notifications", pkg: "./worker",
		pattern:   "^BenchmarkNotifyThroughput$/^concurrency=16$|^BenchmarkBarePoolSend$|^BenchmarkBarePoolSendSameMessages$",
		benchtime: "20000x", quick: "2000x"}
	latencyGroup = &group{name: "latency", pkg: "./worker",
		pattern:   "^BenchmarkNotifyLatency$",
		benchtime: "1x", quick: "1x"} // always 5,000 leads over ~10 s
	expiryGroup = &group{name: "expiry", pkg: "./jobs",
		pattern:   "^BenchmarkBareSweep$/^due-100k$|^BenchmarkExpire$/^due-(100k|0)$",
		benchtime: "1x", whyQuick: "BenchmarkExpire and BenchmarkBareSweep have no size knob: they always load 1,000,000 leads"}
	redisMemGroup = &group{name: "redis memory", pkg: "./jobs",
		pattern:   "^BenchmarkRedisBytesPerLead$/^default$|^BenchmarkRedisBytesPerLead$/^long-need$/^listpack-value-256$",
		benchtime: "1x", quick: "1x"} // always 100,000 leads per sub-benchmark
	rssGroup = &group{name: "daemon memory", pkg: "./cmd/leadworker",
		pattern:   "^BenchmarkDaemonRSS$",
		benchtime: "50000x", quick: "5000x"}
	groups = []*group{intakeGroup, notifyGroup, latencyGroup, expiryGroup, redisMemGroup, rssGroup}
)

// metric is one figure: a unit of one benchmark's results.
type metric struct {
	bench string // full name without the -GOMAXPROCS suffix
	unit  string // as reported, e.g. leads/s
	label string // shown after the value, e.g. "leads/s" or "B"
	prec  int    // decimals; -1: a whole number with thousands separators
}

// rate is a throughput figure shown as a whole number.
func rate(bench, unit string) metric { return whole(bench, unit, unit) }

// whole is a figure shown as a whole number followed by label.
func whole(bench, unit, label string) metric {
	return metric{bench: bench, unit: unit, label: label, prec: -1}
}

// fixed is a figure shown with prec decimals.
func fixed(bench, unit, label string, prec int) metric {
	return metric{bench: bench, unit: unit, label: label, prec: prec}
}

// target is what a row must reach: a ratio to its baseline of at least
// minRatio (and a value of at least minValue, if set), or a value of at most
// maxValue (in the figure's own unit).
type target struct {
	minRatio float64
	minValue float64 // with minRatio: both must hold
	maxValue float64
	text     string // as shown, e.g. "≥ 0.3×"
}

// row is one line of the table.
type row struct {
	key       string // matched by -only
	what      string // "{n}" is replaced by the group's benchtime count
	group     *group
	value     metric   // leadworker's figure
	extra     []metric // shown in parentheses after it
	baseline  *metric  // nil: no baseline
	baseName  string   // what the baseline is
	baseExtra []metric
	reference float64 // the baseline's figure on the 2-core machine; 0: none
	target    target
}

// Benchmark names the rows read.
const (
	bIntake      = "BenchmarkIntakeBatch"
	bBareEnqueue = "BenchmarkBareEnqueue"
	bBareHashes  = "BenchmarkBarePipelineHashes"
	bNotify      = "BenchmarkNotifyThroughput/concurrency=16"
	bBarePool    = "BenchmarkBarePoolSend"
	bBareSame    = "BenchmarkBarePoolSendSameMessages"
	bLatency     = "BenchmarkNotifyLatency"
	bExpire      = "BenchmarkExpire/due-100k"
	bExpireNone  = "BenchmarkExpire/due-0"
	bBareSweep   = "BenchmarkBareSweep/due-100k"
	bBytes       = "BenchmarkRedisBytesPerLead/default"
	bBytesLong   = "BenchmarkRedisBytesPerLead/long-need/listpack-value-256"
	bRSS         = "BenchmarkDaemonRSS"
)

// rows are the table's lines, in order.
var rows = []row{
	{key: "intake-enqueue", what: "intake: `POST /v1/leads:batch`, {n} leads, vs bare asynq `Client.Enqueue`",
		group: intakeGroup, value: rate(bIntake, "leads/s"),
		baseline: ptr(rate(bBareEnqueue, "tasks/s")), baseName: "bare asynq Enqueue", reference: 40_000,
		target: target{minRatio: 0.3, text: "≥ 0.3×"}},
	{key: "intake-pipeline", what: "intake: the same, vs a bare go-redis pipeline of the same hashes",
		group: intakeGroup, value: rate(bIntake, "leads/s"),
		baseline: ptr(rate(bBareHashes, "leads/s")), baseName: "bare HSET pipeline"},
	{key: "notifications", what: "notifications: intake → SMTP acceptance, {n} leads, vs jordan-wright/email `Pool` sending the same messages",
		group: notifyGroup, value: rate(bNotify, "emails/s"),
		baseline: ptr(rate(bBareSame, "msgs/s")), baseName: "bare email Pool, same messages",
		target: target{minRatio: 0.35, text: "≥ 0.35×"}},
	{key: "notifications-small", what: "notifications: the same, vs jordan-wright/email `Pool` sending small messages",
		group: notifyGroup, value: rate(bNotify, "emails/s"),
		baseline: ptr(rate(bBarePool, "msgs/s")), baseName: "bare email Pool, small messages", reference: 13_000,
		target: target{minRatio: 0.3, minValue: 4000, text: "≥ 0.3× and ≥ 4,000/s"}},
	{key: "expiry-due", what: "expiry: 100,000 due of 1,000,000 stored, vs a bare go-redis Lua sweep",
		group: expiryGroup, value: rate(bExpire, "leads/s"), extra: []metric{fixed(bExpire, "s/op", "s", 2)},
		baseline: ptr(rate(bBareSweep, "leads/s")), baseName: "bare Lua sweep", reference: 100_000,
		baseExtra: []metric{fixed(bBareSweep, "s/op", "s", 2)},
		target:    target{minRatio: 0.5, text: "≥ 0.5× (time ≤ 2× bare)"}},
	{key: "expiry-none", what: "expiry: 0 due of 1,000,000 stored",
		group: expiryGroup, value: fixed(bExpireNone, "ms/op", "ms", 2),
		target: target{maxValue: 10, text: "≤ 10 ms"}},
	{key: "memory-redis", what: "memory: Redis per stored lead (short needs, default config)",
		group: redisMemGroup, value: whole(bBytes, "bytes/lead", "B"),
		target: target{maxValue: 1536, text: "≤ 1,536 B"}},
	{key: "memory-redis-long", what: "memory: Redis per stored lead (⅓ long needs, `hash-max-listpack-value 256`)",
		group: redisMemGroup, value: whole(bBytesLong, "bytes/lead", "B"),
		target: target{maxValue: 1536, text: "≤ 1,536 B"}},
	{key: "memory-rss-idle", what: "memory: daemon RSS idle",
		group: rssGroup, value: fixed(bRSS, "idle-rss-MiB", "MiB", 1)},
	{key: "memory-rss-load", what: "memory: daemon RSS under load, {n} leads (peak sampled; VmHWM)",
		group: rssGroup, value: fixed(bRSS, "load-rss-MiB", "MiB", 1), extra: []metric{fixed(bRSS, "hwm-rss-MiB", "MiB", 1)}},
	{key: "latency-p50", what: "latency: p50 intake → SMTP acceptance at 500 leads/s (rate achieved)",
		group: latencyGroup, value: fixed(bLatency, "p50-ms", "ms", 0), extra: []metric{rate(bLatency, "leads/s")}},
	{key: "latency-p99", what: "latency: p99 intake → SMTP acceptance at 500 leads/s",
		group: latencyGroup, value: fixed(bLatency, "p99-ms", "ms", 0),
		target: target{maxValue: 250, text: "≤ 250 ms"}},
}

func ptr[T any](v T) *T { return &v }
