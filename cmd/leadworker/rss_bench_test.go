package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/testenv"
)

// The daemon's memory, as the operating system sees it: a real
// `leadworker serve` process (the binary built from this package) on a fresh
// redis-server, sending to a testenv SMTP sink in this process. One op is one
// lead, so pick the load with -benchtime:
//
//	go test -run '^$' -bench '^BenchmarkDaemonRSS$' -benchtime 50000x ./cmd/leadworker
//
// Linux only (it reads /proc/<pid>/status); it skips itself elsewhere.
const (
	rssPartners = 100                    // partners the leads are spread over, one recipient each
	rssPosters  = 4                      // concurrent POST /v1/leads:batch clients
	rssSettle   = time.Second            // wait after readiness before the idle reading
	rssSample   = 100 * time.Millisecond // how often VmRSS is read under load
	rssMaxLeads = rssPartners * 10_000   // more would push recipients past the digest threshold
)

// BenchmarkDaemonRSS measures the resident memory of `leadworker serve`:
// idle-rss-MiB is VmRSS one second after the daemon got ready (partners
// stored, nothing else done); load-rss-MiB is the highest VmRSS sampled
// every 100 ms while b.N leads are posted in batches of 1,000 by 4 clients
// and announced, until the sink has accepted all b.N emails; hwm-rss-MiB is
// the kernel's peak (VmHWM) at the end, which also catches peaks between
// samples but is updated lazily, so it can read a little below the sampled
// peak. The daemon runs with the production defaults except
// LEADWORKER_SCHEDULE=off (no maintenance job runs meanwhile) and a digest
// threshold of 10,000, so every lead is one email. It also reports
// emails/s, from the first POST to the last acceptance.
func BenchmarkDaemonRSS(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("reads VmRSS from /proc/<pid>/status: Linux only")
	}
	if b.N > rssMaxLeads {
		b.Fatalf("b.N = %d: at most %d leads keep every recipient below the digest threshold", b.N, rssMaxLeads)
	}
	d := rssStartDaemon(b)
	idle := rssReadKB(b, d.pid(), "VmRSS")
	bodies := rssBodies(b, b.N)
	delivered := rssCountMails(d.sink, b.N)
	sampler := rssStartSampler(d.pid())

	b.ResetTimer()
	start := time.Now()
	err := rssPost(d.hc, d.base(), bodies)
	if err == nil {
		err = d.waitDelivered(delivered, time.Minute+time.Duration(b.N)*time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	peak := sampler.stop()
	if err != nil {
		b.Fatalf("%v; the daemon's log:\n%s", err, d.r.stderr())
	}
	hwm := rssReadKB(b, d.pid(), "VmHWM")
	b.ReportMetric(rssMiB(idle), "idle-rss-MiB")
	b.ReportMetric(rssMiB(max(peak, idle)), "load-rss-MiB")
	b.ReportMetric(rssMiB(hwm), "hwm-rss-MiB")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "emails/s")
}

// rssDaemon is a running `leadworker serve` and the sink it sends to.
type rssDaemon struct {
	r    *replica
	sink *testenv.SMTP
	hc   *http.Client
}

func (d *rssDaemon) pid() int     { return d.r.cmd.Process.Pid }
func (d *rssDaemon) base() string { return "http://" + d.r.addr }

// running returns an error if the daemon has exited.
func (d *rssDaemon) running() error {
	if d.r.exited() {
		return fmt.Errorf("leadworker serve exited early (%v)", d.r.err)
	}
	return nil
}

// rssStartDaemon builds the binary, starts it on a fresh redis-server and
// SMTP sink, waits until it is ready, stores the partners' contacts and lets
// it settle.
func rssStartDaemon(b *testing.B) *rssDaemon {
	b.Helper()
	bin := buildLeadworker(b, b.TempDir())
	rds := testenv.StartRedis(b)
	sink := testenv.StartSMTP(b)
	r := startReplica(b, bin, "leadworker", map[string]string{
		"LEADWORKER_HTTP_ADDR":        freeAddr(b),
		"LEADWORKER_REDIS_URL":        rds.URL(),
		"LEADWORKER_SMTP_URL":         "smtp://" + sink.Addr,
		"LEADWORKER_MAIL_FROM":        "leads@portal.example",
		"LEADWORKER_SCHEDULE":         "off",
		"LEADWORKER_DIGEST_THRESHOLD": "10000",
		"LEADWORKER_SHUTDOWN_TIMEOUT": "3s",
		"LEADWORKER_LOG_FORMAT":       "json",
	})
	d := &rssDaemon{r: r, sink: sink, hc: &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: rssPosters}}}
	waitReady(b, d.hc, r, 30*time.Second)
	for i := range rssPartners {
		if err := d.putPartner(i); err != nil {
			b.Fatalf("%v; the daemon's log:\n%s", err, r.stderr())
		}
	}
	time.Sleep(rssSettle)
	if err := d.running(); err != nil {
		b.Fatalf("%v; its log:\n%s", err, r.stderr())
	}
	return d
}

// rssPartner names the i-th partner.
func rssPartner(i int) string { return fmt.Sprintf("P-RSS-%03d", i) }

// putPartner gives the i-th partner a default contact.
func (d *rssDaemon) putPartner(i int) error {
	body, err := json.Marshal(map[string]any{"default": map[string]any{
		"email": fmt.Sprintf("leads@partner-%03d.example", i), "name": "Partner " + rssPartner(i), "locale": "en"}})
	if err != nil {
		return fmt.Errorf("encode contacts: %w", err)
	}
	_, err = rssSend(d.hc, http.MethodPut, d.base()+"/v1/partners/"+rssPartner(i)+"/contacts", body, http.StatusOK)
	return err
}

// waitDelivered waits until delivered is closed, failing after timeout or
// as soon as the daemon exits.
func (d *rssDaemon) waitDelivered(delivered <-chan struct{}, timeout time.Duration) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(rssSample)
	defer tick.Stop()
	for {
		select {
		case <-delivered:
			return nil
		case <-deadline:
			return fmt.Errorf("the sink accepted %d messages within %v", len(d.sink.Mails()), timeout)
		case <-tick.C:
			if err := d.running(); err != nil {
				return err
			}
		}
	}
}

// rssBodies encodes n leads, spread over the partners, as POST
// /v1/leads:batch bodies of store.MaxBatch leads.
func rssBodies(b *testing.B, n int) [][]byte {
	b.Helper()
	created := time.Now().Add(-time.Hour)
	var bodies [][]byte
	for start := 0; start < n; start += store.MaxBatch {
		leads := make([]map[string]any, 0, store.MaxBatch)
		for i := start; i < min(start+store.MaxBatch, n); i++ {
			l := replicaLead(fmt.Sprintf("L-RSS-%07d", i), created)
			l["partner_id"] = rssPartner(i % rssPartners)
			leads = append(leads, l)
		}
		body, err := json.Marshal(map[string]any{"leads": leads})
		if err != nil {
			b.Fatalf("encode batch: %v", err)
		}
		bodies = append(bodies, body)
	}
	return bodies
}

// rssCountMails returns a channel closed once the sink has accepted want
// messages.
func rssCountMails(sink *testenv.SMTP, want int) <-chan struct{} {
	done := make(chan struct{})
	var n atomic.Int64
	sink.OnMessage(func(testenv.Mail) {
		if n.Add(1) == int64(want) {
			close(done)
		}
	})
	return done
}

// rssPost posts every body from rssPosters goroutines and returns the first
// error, including any lead not answered 201.
func rssPost(hc *http.Client, base string, bodies [][]byte) error {
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	for range rssPosters {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(bodies); i = int(next.Add(1) - 1) {
				if err := rssPostBatch(hc, base, bodies[i]); err != nil {
					once.Do(func() { first = fmt.Errorf("batch %d: %w", i, err) })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// rssPostBatch posts one batch and checks that every lead was created.
func rssPostBatch(hc *http.Client, base string, body []byte) error {
	answer, err := rssSend(hc, http.MethodPost, base+"/v1/leads:batch", body, http.StatusOK)
	if err != nil {
		return err
	}
	var got struct {
		Results []struct {
			Index  int `json:"index"`
			Status int `json:"status"`
		} `json:"results"`
	}
	if err := json.Unmarshal(answer, &got); err != nil {
		return fmt.Errorf("decode batch answer: %w", err)
	}
	for _, r := range got.Results {
		if r.Status != http.StatusCreated {
			return fmt.Errorf("item %d answered %d, want 201: %.300s", r.Index, r.Status, answer)
		}
	}
	return nil
}

// rssSend sends one JSON request and returns the body, or an error unless
// it answers want.
func rssSend(hc *http.Client, method, url string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s %s answered %d, want %d: %.300s", method, url, res.StatusCode, want, out)
	}
	return out, nil
}

// rssSampler reads a process's VmRSS every rssSample and keeps the highest.
type rssSampler struct {
	pid  int
	peak atomic.Int64 // kB
	quit chan struct{}
	done chan struct{}
}

func rssStartSampler(pid int) *rssSampler {
	s := &rssSampler{pid: pid, quit: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *rssSampler) run() {
	defer close(s.done)
	tick := time.NewTicker(rssSample)
	defer tick.Stop()
	for {
		s.read()
		select {
		case <-s.quit:
			s.read()
			return
		case <-tick.C:
		}
	}
}

// read records the current VmRSS if it is the highest yet; a failed read
// (the process is gone) is left out.
func (s *rssSampler) read() {
	kb, err := procStatusKB(s.pid, "VmRSS")
	if err == nil && kb > s.peak.Load() {
		s.peak.Store(kb)
	}
}

// stop ends the sampling and returns the highest VmRSS seen, in kB.
func (s *rssSampler) stop() int64 {
	close(s.quit)
	<-s.done
	return s.peak.Load()
}

// rssReadKB returns a field of /proc/<pid>/status in kB, failing b if it
// cannot be read.
func rssReadKB(b *testing.B, pid int, field string) int64 {
	b.Helper()
	kb, err := procStatusKB(pid, field)
	if err != nil {
		b.Fatal(err)
	}
	return kb
}

// procStatusKB returns a "<field>: <n> kB" line of /proc/<pid>/status.
func procStatusKB(pid int, field string) (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: parse %s line %q: %w", path, field, sc.Text(), err)
		}
		return kb, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return 0, fmt.Errorf("%s has no %s line", path, field)
}

// rssMiB converts kB to MiB.
func rssMiB(kb int64) float64 { return float64(kb) / 1024 }
