package worker_test

// End-to-end notification benchmarks: lead intake over HTTP → Redis lead
// store + asynq queue → notify handler → SMTP acceptance by an in-process
// testenv sink, on a fresh redis-server each.
//
// Targets (the notification-throughput issue, measured on a 2-core machine):
//   - BenchmarkNotifyThroughput: ≥ 4,000 emails/s end to end, and
//     ≥ 0.3× BenchmarkBarePoolSend measured in the same run (≈ 13,000 msgs/s
//     for a bare jordan-wright/email pool of 16 connections).
//   - BenchmarkNotifyLatency: intake → SMTP acceptance at 500 leads/s,
//     p99 ≤ 250 ms.
//
// BenchmarkNotifyNoopTasks is a diagnostic: the asynq dispatch ceiling with
// the daemon's queues (≈ 13,000 no-op tasks/s on an idle machine).
//
// One op of BenchmarkNotifyThroughput and BenchmarkBarePoolSend is one
// email, so pick N with -benchtime; BenchmarkNotifyLatency always sends its
// 5,000 leads over ~10 s whatever b.N is, so run it with -benchtime 1x:
//
//	go test -run '^$' -bench 'NotifyThroughput|BarePoolSend' -benchtime 20000x ./worker
//	go test -run '^$' -bench NotifyLatency -benchtime 1x ./worker
//
// Besides their rate, the benchmarks report proc-cpu-% and redis-cpu-%
// (percent of one core used by this process and by the redis-server while
// timed), cpu-µs per email/message/task (both together) and redis-cmds per
// email/task. On a machine shared with other work the rates vary a lot from
// run to run; the CPU per email and commands per email hardly do, so compare
// those too (cpu-µs/msg of BenchmarkBarePoolSend ÷ cpu-µs/email is the
// ratio the two would reach on equal CPU).
//
// Do not run BenchmarkBarePoolSend under -race (jordan-wright/email's Pool
// races on its connection counter); it skips itself there. Every figure
// counts the sink's CPU too: it runs in the benchmark's process.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jordan-wright/email"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/leadworker/leadworker/templates"
	"github.com/leadworker/leadworker/worker"
	"github.com/redis/go-redis/v9"
)

const (
	benchNotifyPool      = 16  // LEADWORKER_SMTP_POOL, and the bare pool's size and senders
	benchNotifyPartners  = 500 // partners the leads are spread over (two recipients each)
	benchNotifyPosters   = 4   // concurrent POST /v1/leads:batch clients
	benchNotifyAPIToken  = "api-token-0123456789"
	benchNotifyMailFrom  = "leads@portal.example"
	benchNotifyLatRate   = 500  // leads/s of BenchmarkNotifyLatency
	benchNotifyLatLeads  = 5000 // leads of BenchmarkNotifyLatency (10 s at 500/s)
	benchNotifyLatPost   = 16   // goroutines posting BenchmarkNotifyLatency's leads
	benchNotifyLatWarmup = 100  // leads sent before BenchmarkNotifyLatency measures
)

// benchNotifyConcurrencies are the LEADWORKER_CONCURRENCY values
// BenchmarkNotifyThroughput tries; benchNotifyConcurrency is the one
// BenchmarkNotifyLatency and BenchmarkNotifyNoopTasks use: 16, as many as
// SMTP connections, was at least as fast as 32 or 64 and used the least CPU
// per email (more workers only wait for the 16 SMTP connections and the
// go-redis pool).
var (
	benchNotifyConcurrencies = []int{16, 32, 64}
	benchNotifyConcurrency   = 16
)

// benchNotifyZones and benchNotifyLocales give the partners' contacts a
// realistic mix of time zones ("" is UTC) and template languages.
var (
	benchNotifyZones   = []string{"Asia/Tokyo", "", "Asia/Taipei", "Europe/Moscow", "America/New_York"}
	benchNotifyLocales = []string{"ja", "en", "zh-Hant", "ru"}
)

// benchNotifyRace reports whether the test binary was built with -race.
func benchNotifyRace() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// benchNotifyEnv is a daemon on a fresh redis-server sending to a fresh
// SMTP sink.
type benchNotifyEnv struct {
	base  string
	redis *redis.Client
	sink  *testenv.Sink
}

// benchNotifyDaemon starts a full daemon (config as in production, logging
// at info level to io.Discard) with the given task concurrency, every lead
// emailed on its own, and no maintenance schedule.
func benchNotifyDaemon(b *testing.B, concurrency int) *benchNotifyEnv {
	b.Helper()
	r := testenv.StartRedis(b)
	sink := testenv.StartSink(b)
	values := map[string]string{
		"LEADWORKER_REDIS_URL":   r.URL(),
		"LEADWORKER_SMTP_URL":    "smtp://" + sink.Addr,
		"LEADWORKER_SMTP_POOL":   strconv.Itoa(benchNotifyPool),
		"LEADWORKER_CONCURRENCY": strconv.Itoa(concurrency),
		// The largest threshold config accepts (1-10000); no recipient gets
		// anywhere near it in a day here, so every lead is emailed on its own.
		"LEADWORKER_DIGEST_THRESHOLD": "10000",
		"LEADWORKER_SCHEDULE":         "off",
		"LEADWORKER_MAIL_FROM":        benchNotifyMailFrom,
		"LEADWORKER_LEAD_URL":         "https://portal.example/referrals/leads/{id}",
		"LEADWORKER_HTTP_ADDR":        "127.0.0.1:0",
		"LEADWORKER_API_TOKENS":       benchNotifyAPIToken,
		"LEADWORKER_SHUTDOWN_TIMEOUT": "2s",
		"LEADWORKER_LOG_LEVEL":        "info",
		"LEADWORKER_LOG_FORMAT":       "json",
	}
	cfg, err := config.Load(func(k string) string { return values[k] })
	if err != nil {
		b.Fatalf("config: %v", err)
	}
	d := worker.New(cfg, worker.NewLogger(cfg, io.Discard), clock.Real{})
	if err := d.Open(context.Background()); err != nil {
		b.Fatalf("open daemon: %v", err)
	}
	b.Cleanup(func() { _ = d.Close() })
	e := &benchNotifyEnv{base: "http://" + d.Addr(), redis: r.Client(), sink: sink}
	e.putPartners(b)
	return e
}

// benchNotifyPartner names the i-th partner.
func benchNotifyPartner(i int) string { return fmt.Sprintf("P-N%04d", i) }

// putPartners gives every partner a default contact and a "tokyo" location
// contact, in a mix of languages and time zones.
func (e *benchNotifyEnv) putPartners(b *testing.B) {
	b.Helper()
	hc := &http.Client{}
	for i := range benchNotifyPartners {
		pid := benchNotifyPartner(i)
		zone, locale := benchNotifyZones[i%len(benchNotifyZones)], benchNotifyLocales[i%len(benchNotifyLocales)]
		c := leadworker.Contacts{
			Default: &leadworker.Contact{Email: fmt.Sprintf("leads@partner-%04d.example", i), Name: "Partner " + pid, Locale: locale, TimeZone: zone},
			Locations: map[string]leadworker.Contact{"tokyo": {Email: fmt.Sprintf("tokyo-sales@partner-%04d.example", i),
				Name: "東京営業部", Locale: "ja", TimeZone: "Asia/Tokyo"}},
		}
		raw, _ := json.Marshal(c)
		if _, err := e.request(hc, http.MethodPut, "/v1/partners/"+pid+"/contacts", raw, http.StatusOK); err != nil {
			b.Fatal(err)
		}
	}
}

// request sends one authorized request and fails unless it answers want.
func (e *benchNotifyEnv) request(hc *http.Client, method, path string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+benchNotifyAPIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != want {
		err = fmt.Errorf("%s %s answered %d, want %d: %.300s", method, path, resp.StatusCode, want, out)
	}
	return out, err
}

// benchNotifyIntake is the i-th lead of run: the realistic intake benchIntake
// builds, spread over benchNotifyPartners partners, and never an
// informational offer (those go to the feed only, not by email).
func benchNotifyIntake(run int64, i int, created time.Time) leadworker.Intake {
	in := benchIntake(run, i, created)
	in.ID = fmt.Sprintf("L-N%d-%07d", run, i)
	in.PartnerID = benchNotifyPartner(i % benchNotifyPartners)
	if in.IsInformational() {
		in.CallToAction = leadworker.CTAContactMe
	}
	return in
}

// benchNotifyLeads returns n leads of a new run.
func benchNotifyLeads(n int) []leadworker.Intake {
	run, created := benchRuns.Add(1), time.Now().Add(-time.Hour).Truncate(time.Second)
	leads := make([]leadworker.Intake, n)
	for i := range leads {
		leads[i] = benchNotifyIntake(run, i, created)
	}
	return leads
}

// benchNotifyCollector counts, per lead, the messages the sink accepted and
// when it first accepted one.
type benchNotifyCollector struct {
	index    map[string]int // lead id → position; read-only once built
	at       []atomic.Int64 // first acceptance, UnixNano
	count    []atomic.Int32 // messages accepted per lead
	total    atomic.Int64   // every message accepted
	unknown  atomic.Int64   // messages naming no lead of this run
	bytes    atomic.Int64   // message bytes accepted
	want     int64
	done     chan struct{} // closed when total reaches want
	doneOnce sync.Once
}

func benchNotifyCollect(sink *testenv.Sink, leads []leadworker.Intake) *benchNotifyCollector {
	c := &benchNotifyCollector{index: make(map[string]int, len(leads)), at: make([]atomic.Int64, len(leads)),
		count: make([]atomic.Int32, len(leads)), want: int64(len(leads)), done: make(chan struct{})}
	for i, l := range leads {
		c.index[l.ID] = i
	}
	sink.OnMessage(c.accept)
	return c
}

// accept runs in the sink for every message it accepted.
func (c *benchNotifyCollector) accept(m testenv.Mail) {
	now := time.Now().UnixNano()
	c.bytes.Add(int64(len(m.Data)))
	if i, ok := c.index[benchNotifyLeadID(m.Data)]; ok {
		if c.count[i].Add(1) == 1 {
			c.at[i].Store(now)
		}
	} else {
		c.unknown.Add(1)
	}
	if c.total.Add(1) == c.want {
		c.doneOnce.Do(func() { close(c.done) })
	}
}

// wait waits until want messages were accepted; false on timeout.
func (c *benchNotifyCollector) wait(timeout time.Duration) bool {
	select {
	case <-c.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// check fails b unless every lead got exactly one message, and nothing else
// was accepted.
func (c *benchNotifyCollector) check(b *testing.B, leads []leadworker.Intake) {
	b.Helper()
	var missing, dup []string
	for i, l := range leads {
		switch n := c.count[i].Load(); {
		case n == 0:
			missing = append(missing, l.ID)
		case n > 1:
			dup = append(dup, fmt.Sprintf("%s×%d", l.ID, n))
		}
	}
	if len(missing) > 0 || len(dup) > 0 || c.unknown.Load() > 0 {
		b.Fatalf("sink accepted %d messages for %d leads: %d leads got none %v, %d more than one %v, %d named no lead",
			c.total.Load(), len(leads), len(missing), missing[:min(10, len(missing))], len(dup), dup[:min(10, len(dup))], c.unknown.Load())
	}
}

// benchNotifyLeadID returns the lead id of a new-lead email's Message-Id,
// <lead-<id>.new@domain> or <lead-<id>.new.default@domain>; "" if none.
// The header may come anywhere in the header section (its order varies).
func benchNotifyLeadID(data []byte) string {
	const key = "Message-Id: <lead-"
	var rest []byte
	if bytes.HasPrefix(data, []byte(key)) {
		rest = data[len(key):]
	} else if i := bytes.Index(data, []byte("\n"+key)); i >= 0 {
		rest = data[i+1+len(key):]
	} else {
		return ""
	}
	at := bytes.IndexByte(rest, '@')
	if at < 0 {
		return ""
	}
	id := strings.TrimSuffix(string(rest[:at]), ".default")
	id, ok := strings.CutSuffix(id, ".new")
	if !ok {
		return ""
	}
	return id
}

// benchNotifyBatches encodes leads as POST /v1/leads:batch bodies.
func benchNotifyBatches(b *testing.B, leads []leadworker.Intake) [][]byte {
	b.Helper()
	var bodies [][]byte
	for start := 0; start < len(leads); start += store.MaxBatch {
		body, err := json.Marshal(map[string][]leadworker.Intake{"leads": leads[start:min(start+store.MaxBatch, len(leads))]})
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	return bodies
}

// benchNotifyDrained waits until the notify queue is empty and fails b if
// any announcement task failed (a retry or an archived task).
func benchNotifyDrained(b *testing.B, client *redis.Client) {
	b.Helper()
	in := asynq.NewInspectorFromRedisClient(client)
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := in.GetQueueInfo(tasks.QueueNotify)
		if err != nil {
			b.Fatal(err)
		}
		if info.Failed > 0 || info.Retry > 0 || info.Archived > 0 {
			b.Fatalf("notify queue: %d tasks failed today, %d waiting to retry, %d archived", info.Failed, info.Retry, info.Archived)
		}
		if info.Size == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("notify queue still holds %d tasks (%d active)", info.Size, info.Active)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// benchNotifyProcCPU returns the CPU seconds this process has used so far,
// from /proc/self/stat (Linux, 100 ticks a second); ok is false elsewhere.
func benchNotifyProcCPU() (float64, bool) {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	user, err1 := strconv.ParseFloat(f[11], 64)
	sys, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (user + sys) / 100, true
}

// benchNotifyCPU measures how busy the benchmark process (daemon, sink and
// clients, all in one process) and the redis-server (client nil: none) were
// during the timed part. report gives each in percent of one core (this
// machine has 2: 200 % is all of it), their CPU time per item (an email,
// a task, a message) and, with a redis-server, the Redis commands per item
// (commands run inside Lua scripts included).
type benchNotifyCPU struct {
	proc, redis float64
	procOK      bool
	cmds        int64
}

func benchNotifyCPUStart(b *testing.B, client *redis.Client) benchNotifyCPU {
	b.Helper()
	p, ok := benchNotifyProcCPU()
	c := benchNotifyCPU{proc: p, procOK: ok}
	if client != nil {
		c.redis, c.cmds = benchRedisCPU(b, client), benchNotifyRedisCmds(b, client)
	}
	return c
}

// benchNotifyRedisCmds returns how many commands the redis-server has
// processed so far.
func benchNotifyRedisCmds(b *testing.B, client *redis.Client) int64 {
	b.Helper()
	info, err := client.InfoMap(context.Background(), "stats").Result()
	if err != nil {
		b.Fatal(err)
	}
	n, _ := strconv.ParseInt(info["Stats"]["total_commands_processed"], 10, 64)
	return n
}

func (c benchNotifyCPU) report(b *testing.B, client *redis.Client, elapsed time.Duration, n int, unit string) {
	b.Helper()
	s := elapsed.Seconds()
	if s <= 0 || n <= 0 {
		return
	}
	var used float64
	if p, ok := benchNotifyProcCPU(); ok && c.procOK {
		used = p - c.proc
		b.ReportMetric(100*used/s, "proc-cpu-%")
	}
	if client != nil {
		r := benchRedisCPU(b, client) - c.redis
		used += r
		b.ReportMetric(100*r/s, "redis-cpu-%")
		// Less the two INFO commands of this measurement.
		b.ReportMetric(float64(benchNotifyRedisCmds(b, client)-c.cmds-2)/float64(n), "redis-cmds/"+unit)
	}
	b.ReportMetric(1e6*used/float64(n), "cpu-µs/"+unit)
}

// BenchmarkNotifyThroughput measures emails/s from intake to SMTP
// acceptance: b.N realistic leads spread over 500 partners (1,000
// recipients, each far below the digest threshold, so every lead is one
// email) posted as batches of 1,000 by 4 concurrent clients to the full
// daemon, timed from the first POST until the sink accepted b.N messages.
// It runs once per LEADWORKER_CONCURRENCY in benchNotifyConcurrencies, with
// an SMTP pool of 16. Afterwards every lead must have exactly one message
// (by Message-Id) and the notify queue must be empty with no failed task.
//
// Target: ≥ 4,000 emails/s on 2 cores, and ≥ 0.3× BenchmarkBarePoolSend.
func BenchmarkNotifyThroughput(b *testing.B) {
	for _, conc := range benchNotifyConcurrencies {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) { benchNotifyThroughput(b, conc) })
	}
}

func benchNotifyThroughput(b *testing.B, concurrency int) {
	if b.N > 5_000_000 {
		// A default contact gets 3 of every 4 of its partner's leads: past
		// 10,000 a day (the largest threshold) they would join a digest.
		b.Fatalf("b.N = %d: at most 5,000,000 leads keep every recipient below the digest threshold", b.N)
	}
	e := benchNotifyDaemon(b, concurrency)
	leads := benchNotifyLeads(b.N)
	bodies := benchNotifyBatches(b, leads)
	answers := make([][]byte, len(bodies))
	tr := &http.Transport{MaxIdleConnsPerHost: benchNotifyPosters}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	col := benchNotifyCollect(e.sink, leads)
	var intakeDone atomic.Int64
	cpu := benchNotifyCPUStart(b, e.redis)
	start := time.Now()
	b.ResetTimer()
	posted := make(chan error, 1)
	go func() {
		posted <- benchParallel(benchNotifyPosters, len(bodies), func(i int) (err error) {
			answers[i], err = e.request(hc, http.MethodPost, "/v1/leads:batch", bodies[i], http.StatusOK)
			return err
		})
		intakeDone.Store(int64(time.Since(start)))
	}()
	ok := col.wait(time.Minute + time.Duration(b.N)*time.Millisecond)
	b.StopTimer()
	elapsed := time.Since(start)
	if err := <-posted; err != nil {
		b.Fatal(err)
	}
	if !ok {
		b.Fatalf("sink accepted %d of %d messages within the time limit", col.total.Load(), b.N)
	}
	cpu.report(b, e.redis, elapsed, b.N, "email")
	for i, a := range answers {
		benchCheckBatch(b, a, min(store.MaxBatch, b.N-i*store.MaxBatch))
	}
	benchNotifyDrained(b, e.redis) // also lets any duplicate send arrive
	col.check(b, leads)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "emails/s")
	b.ReportMetric(float64(b.N)/time.Duration(intakeDone.Load()).Seconds(), "intake-leads/s")
	b.ReportMetric(float64(col.bytes.Load())/float64(col.total.Load()), "bytes/email")
}

// BenchmarkBarePoolSend is the baseline for BenchmarkNotifyThroughput:
// jordan-wright/email's own Pool of 16 connections sending b.N small
// messages from 16 goroutines to a testenv sink (the Pool builds the message
// on every Send). One op is one message.
//
// Reference: ≈ 13,000 msgs/s on 2 cores. Not under -race: the Pool races on
// its connection counter.
func BenchmarkBarePoolSend(b *testing.B) {
	e := email.NewEmail()
	e.From, e.To, e.Subject = "leads@partner.example", []string{"sales@customer.example"}, "New lead: ACME"
	e.Text, e.HTML = []byte("Hello,\nthere is a new lead.\n"), []byte("<p>Hello,</p><p>there is a new lead.</p>")
	e.Headers = textproto.MIMEHeader{"Message-Id": {"<bench@partner.example>"}}
	benchBarePool(b, []*email.Email{e})
}

// BenchmarkBarePoolSendSameMessages is BenchmarkBarePoolSend with the
// messages leadworker sends: new-lead emails rendered from its templates in
// each of its locales (about 12 KB each), built by the Pool on every Send.
func BenchmarkBarePoolSendSameMessages(b *testing.B) {
	var msgs []*email.Email
	for _, locale := range templates.Locales {
		data, err := templates.Sample(templates.NewLead, locale)
		if err != nil {
			b.Fatal(err)
		}
		r, err := templates.Render(templates.NewLead, locale, data)
		if err != nil {
			b.Fatal(err)
		}
		e := email.NewEmail()
		e.From, e.To, e.Subject = "leads@partner.example", []string{"sales@customer.example"}, r.Subject
		e.Text, e.HTML = []byte(r.Text), []byte(r.HTML)
		e.Headers = textproto.MIMEHeader{"Message-Id": {"<bench-" + locale + "@partner.example>"}}
		msgs = append(msgs, e)
	}
	benchBarePool(b, msgs)
}

// benchBarePool sends b.N messages, cycling through msgs, through
// jordan-wright/email's Pool of benchNotifyPool connections from as many
// goroutines, to a fresh sink.
func benchBarePool(b *testing.B, msgs []*email.Email) {
	if benchNotifyRace() {
		b.Skip("jordan-wright/email's Pool has a data race on its connection counter; run this benchmark without -race")
	}
	sink := testenv.StartSink(b)
	var accepted, size atomic.Int64
	done := make(chan struct{})
	sink.OnMessage(func(m testenv.Mail) {
		size.Add(int64(len(m.Data)))
		if accepted.Add(1) == int64(b.N) {
			close(done)
		}
	})
	p, err := email.NewPool(sink.Addr, benchNotifyPool, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	cpu := benchNotifyCPUStart(b, nil)
	start := time.Now()
	b.ResetTimer()
	err = benchParallel(benchNotifyPool, b.N, func(i int) error { return p.Send(msgs[i%len(msgs)], 10*time.Second) })
	if err == nil {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			err = fmt.Errorf("sink accepted %d of %d messages", accepted.Load(), b.N)
		}
	}
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	cpu.report(b, nil, time.Since(start), b.N, "msg")
	benchRate(b, b.N, "msgs/s")
	b.ReportMetric(float64(size.Load())/float64(b.N), "bytes/msg")
}

// BenchmarkNotifyLatency measures intake → SMTP acceptance at a steady 500
// leads/s: 5,000 leads posted one by one (POST /v1/leads) on a 2 ms
// schedule by 16 goroutines, so one slow request does not hold up the
// others, against the full daemon (LEADWORKER_CONCURRENCY
// benchNotifyConcurrency, SMTP pool 16). A lead's latency runs from just
// before its POST is sent until the sink accepted its message. 100 leads are
// sent and delivered first so that SMTP connections are open, as in a
// daemon that has been running.
//
// It takes ~10 s whatever b.N is and ignores b.N (ns/op means nothing):
// run it with -benchtime 1x. It reports p50, p90, p99 and max in ms, the
// rate achieved, and sched-lag-max-ms, the latest a POST started after its
// slot (a large lag means the client, not the daemon, fell behind).
//
// Target: p99 ≤ 250 ms on 2 cores.
func BenchmarkNotifyLatency(b *testing.B) {
	e := benchNotifyDaemon(b, benchNotifyConcurrency)
	all := benchNotifyLeads(benchNotifyLatWarmup + benchNotifyLatLeads)
	warm, leads := all[:benchNotifyLatWarmup], all[benchNotifyLatWarmup:]
	bodies := make([][]byte, len(all))
	for i := range all {
		bodies[i], _ = json.Marshal(all[i])
	}
	tr := &http.Transport{MaxIdleConnsPerHost: benchNotifyLatPost}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	post := func(i int) error {
		_, err := e.request(hc, http.MethodPost, "/v1/leads", bodies[i], http.StatusCreated)
		return err
	}

	// Warm up: open the SMTP connections and the HTTP clients' connections.
	col := benchNotifyCollect(e.sink, warm)
	if err := benchParallel(benchNotifyLatPost, len(warm), post); err != nil {
		b.Fatal(err)
	}
	if !col.wait(30 * time.Second) {
		b.Fatalf("warm-up: sink accepted %d of %d messages", col.total.Load(), len(warm))
	}
	benchNotifyDrained(b, e.redis)

	col = benchNotifyCollect(e.sink, leads)
	sentAt := make([]int64, len(leads))
	lag := make([]time.Duration, len(leads))
	work := make(chan int, len(leads))
	errs := make(chan error, benchNotifyLatPost)
	var wg sync.WaitGroup
	interval := time.Second / benchNotifyLatRate
	cpu := benchNotifyCPUStart(b, e.redis)
	b.ResetTimer()
	start := time.Now()
	for range benchNotifyLatPost {
		wg.Go(func() {
			for i := range work {
				now := time.Now()
				sentAt[i], lag[i] = now.UnixNano(), now.Sub(start.Add(time.Duration(i)*interval))
				if err := post(benchNotifyLatWarmup + i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Dispatch on a ticker; each tick releases every lead whose slot has
	// come, so a late tick does not lower the rate.
	ticker := time.NewTicker(interval)
	for next := 0; next < len(leads); {
		<-ticker.C
		due := min(len(leads), int(time.Since(start)/interval)+1)
		for ; next < due; next++ {
			work <- next
		}
	}
	ticker.Stop()
	close(work)
	wg.Wait()
	intake := time.Since(start)
	ok := col.wait(30 * time.Second)
	b.StopTimer()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	if !ok {
		b.Fatalf("sink accepted %d of %d messages within 30 s of the last intake", col.total.Load(), len(leads))
	}
	cpu.report(b, e.redis, elapsed, len(leads), "email")
	benchNotifyDrained(b, e.redis)
	col.check(b, leads)

	lat := make([]time.Duration, len(leads))
	for i := range leads {
		lat[i] = time.Duration(col.at[i].Load() - sentAt[i])
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(pct(0.50)), "p50-ms")
	b.ReportMetric(ms(pct(0.90)), "p90-ms")
	b.ReportMetric(ms(pct(0.99)), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(float64(len(leads))/intake.Seconds(), "leads/s")
	b.ReportMetric(ms(slices.Max(lag)), "sched-lag-max-ms")
}

// BenchmarkNotifyNoopTasks is the task-dispatch ceiling under the daemon's
// asynq settings: b.N announcement-shaped tasks, enqueued before the timer
// starts, processed by a no-op handler on one asynq server with the
// daemon's queues and weights, concurrency benchNotifyConcurrency and a
// 100 ms task check interval. One op is one task.
//
// Reference: ≈ 13,000 tasks/s on 2 cores.
func BenchmarkNotifyNoopTasks(b *testing.B) {
	client := benchRedis(b)
	aq := asynq.NewClientFromRedisClient(client)
	run := benchRuns.Add(1)
	if err := benchParallel(benchBareWorkers, b.N, func(i int) error {
		task, opts := benchNotifyTask(fmt.Sprintf("L-%d-%07d", run, i))
		_, err := aq.Enqueue(task, opts...)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	var done atomic.Int64
	finished := make(chan struct{})
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeNotify, func(context.Context, *asynq.Task) error {
		if done.Add(1) == int64(b.N) {
			close(finished)
		}
		return nil
	})
	srv := asynq.NewServerFromRedisClient(client, asynq.Config{Concurrency: benchNotifyConcurrency, Queues: tasks.Queues,
		TaskCheckInterval: 100 * time.Millisecond, LogLevel: asynq.ErrorLevel})
	cpu := benchNotifyCPUStart(b, client)
	start := time.Now()
	b.ResetTimer()
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	select {
	case <-finished:
	case <-time.After(time.Minute + time.Duration(b.N)*time.Millisecond):
		b.Fatalf("processed %d of %d tasks", done.Load(), b.N)
	}
	b.StopTimer()
	cpu.report(b, client, time.Since(start), b.N, "task")
	benchRate(b, b.N, "tasks/s")
}
