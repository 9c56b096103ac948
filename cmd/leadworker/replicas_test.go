package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/leadworker/leadworker/worker"
	"github.com/sirupsen/logrus"
)

// replica is one `leadworker serve` process started by a test.
type replica struct {
	name string
	addr string
	log  string // path of its captured stderr
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // cmd.Wait's result, set before done is closed
}

// exited reports whether the process has ended.
func (r *replica) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// stderr returns the end of the process's log.
func (r *replica) stderr() string {
	b, err := os.ReadFile(r.log)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", r.log, err)
	}
	const keep = 8 << 10
	if len(b) > keep {
		b = append([]byte("…\n"), b[len(b)-keep:]...)
	}
	return string(b)
}

// buildLeadworker builds this command into dir and returns the binary.
func buildLeadworker(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "leadworker")
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "./")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -o %s ./ failed (%v):\n%s", bin, err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// startReplica starts `leadworker serve` with env on top of the test's
// environment (minus any LEADWORKER_* variable). It is killed when the test
// ends if it is still running then.
func startReplica(t testing.TB, bin, name string, env map[string]string) *replica {
	t.Helper()
	dir := t.TempDir()
	r := &replica{name: name, addr: env["LEADWORKER_HTTP_ADDR"], log: filepath.Join(dir, name+".stderr"), done: make(chan struct{})}
	f, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEADWORKER_") {
			vars = append(vars, kv)
		}
	}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	r.cmd = exec.Command(bin, "serve")
	r.cmd.Env = vars
	r.cmd.Dir = dir // an outbox, if any, lands in the temporary folder
	r.cmd.Stdout = f
	r.cmd.Stderr = f
	if err := r.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		r.err = r.cmd.Wait()
		f.Close()
		close(r.done)
	}()
	t.Cleanup(func() {
		if !r.exited() {
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// waitReady waits until r answers 200 on /readyz, failing the test with its
// log if it exits or does not get ready within timeout.
func waitReady(t testing.TB, hc *http.Client, r *replica, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if r.exited() {
			t.Fatalf("%s exited before it was ready (%v); its log:\n%s", r.name, r.err, r.stderr())
		}
		res, err := hc.Get("http://" + r.addr + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready on %s within %v (last: %v); its log:\n%s", r.name, r.addr, timeout, err, r.stderr())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// call sends a JSON request and returns the status and body.
func call(t *testing.T, hc *http.Client, method, url string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return res.StatusCode, raw
}

// replicaLead is an intake body of a customer inquiry for partner P-100
// that is not informational (so it expires) and has a customer address
// (so its expiry sends a closing notice).
func replicaLead(id string, created time.Time) map[string]any {
	return map[string]any{
		"id": id, "partner_id": "P-100",
		"kind": "customer_inquiry", "lead_type": "offer", "call_to_action": "contact_me",
		"source": "azure_marketplace",
		"customer": map[string]any{"company": "Contoso KK", "name": "Hanako Sato",
			"email": "customer-" + strings.ToLower(id) + "@contoso.example", "country": "JP"},
		"need": "Migrate 40 VMs to the cloud", "contact_requested": true,
		"created_at": created.UTC().Format(time.RFC3339),
	}
}

var messageIDRE = regexp.MustCompile(`^<lead-(.+)\.(new|new\.default|closing)@[^>]+>$`)

// sinkCounts counts the sink's announcements and closing notices per lead.
func sinkCounts(t *testing.T, mails []testenv.Mail) (announced, closing map[string]int, other []string) {
	t.Helper()
	announced, closing = map[string]int{}, map[string]int{}
	for _, m := range mails {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("the sink holds a message that does not parse: %v\n%.500s", err, m.Data)
		}
		id := msg.Header.Get("Message-Id")
		sub := messageIDRE.FindStringSubmatch(id)
		switch {
		case sub == nil:
			other = append(other, id)
		case sub[2] == "closing":
			closing[sub[1]]++
		default:
			announced[sub[1]]++
		}
	}
	return announced, closing, other
}

// TestThreeServeProcesses runs three real `leadworker serve` processes on
// one Redis, as three replicas of a deployment: leads posted to any of them
// are announced exactly once, the expire job ticking every second on all
// three runs once per tick, and each process stops cleanly on SIGTERM.
func TestThreeServeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
	testStart := time.Now()
	bin := buildLeadworker(t, t.TempDir())
	rds := testenv.StartRedis(t)
	sink := testenv.StartSMTP(t)
	hc := &http.Client{Timeout: 15 * time.Second}

	const (
		nReplicas  = 3
		nLeads     = 300
		batchSize  = 50
		nOld       = 6
		cronWindow = 8 * time.Second
	)
	var replicas []*replica
	for i := range nReplicas {
		env := map[string]string{
			"LEADWORKER_HTTP_ADDR":           freeAddr(t),
			"LEADWORKER_REDIS_URL":           rds.URL(),
			"LEADWORKER_SMTP_URL":            "smtp://" + sink.Addr,
			"LEADWORKER_MAIL_FROM":           "leads@portal.example",
			"LEADWORKER_CRON_EXPIRE":         "* * * * * *",
			"LEADWORKER_CRON_ARCHIVE_OFFERS": "@yearly",
			"LEADWORKER_CRON_CONTACT_ALERTS": "@yearly",
			"LEADWORKER_CRON_REMINDERS":      "@yearly",
			"LEADWORKER_CRON_DIGESTS":        "@yearly",
			"LEADWORKER_DIGEST_THRESHOLD":    "10000", // the maximum (1-10000); far above the 306 leads of one recipient-day
			"LEADWORKER_SHUTDOWN_TIMEOUT":    "3s",
			"LEADWORKER_LOG_FORMAT":          "json",
		}
		replicas = append(replicas, startReplica(t, bin, fmt.Sprintf("replica-%d", i+1), env))
	}
	logs := func() string {
		var b strings.Builder
		for _, r := range replicas {
			fmt.Fprintf(&b, "--- %s (%s) stderr:\n%s\n", r.name, r.addr, r.stderr())
		}
		return b.String()
	}
	for _, r := range replicas {
		waitReady(t, hc, r, 20*time.Second)
	}
	ready := time.Now()
	t.Logf("three replicas ready %v after the test started", ready.Sub(testStart).Round(time.Millisecond))
	base := func(i int) string { return "http://" + replicas[i%nReplicas].addr }

	if code, body := call(t, hc, "PUT", base(0)+"/v1/partners/P-100/contacts", map[string]any{
		"default": map[string]any{"email": "leads@fabrikam-jp.example", "name": "Fabrikam Japan", "locale": "ja", "time_zone": "Asia/Tokyo"},
	}); code != http.StatusOK {
		t.Fatalf("PUT contacts: %d %s", code, body)
	}

	// 300 fresh leads in batches of 50, round robin over the replicas, and
	// a few leads old enough for the expire job, posted one by one.
	now := time.Now().UTC().Truncate(time.Second)
	var fresh, old []string
	for b := range nLeads / batchSize {
		var items []map[string]any
		for i := range batchSize {
			id := fmt.Sprintf("L-R-%03d", b*batchSize+i)
			fresh = append(fresh, id)
			items = append(items, replicaLead(id, now.Add(-time.Hour)))
		}
		code, body := call(t, hc, "POST", base(b)+"/v1/leads:batch", map[string]any{"leads": items})
		if code != http.StatusOK {
			t.Fatalf("batch %d through %s: %d %s", b, replicas[b%nReplicas].name, code, body)
		}
		var got struct {
			Results []struct {
				Index  int `json:"index"`
				Status int `json:"status"`
			} `json:"results"`
		}
		if err := json.Unmarshal(body, &got); err != nil || len(got.Results) != batchSize {
			t.Fatalf("batch %d: %v: %.500s", b, err, body)
		}
		for _, r := range got.Results {
			if r.Status != http.StatusCreated {
				t.Fatalf("batch %d item %d: status %d: %.500s", b, r.Index, r.Status, body)
			}
		}
	}
	for i := range nOld {
		id := fmt.Sprintf("L-OLD-%d", i)
		old = append(old, id)
		if code, body := call(t, hc, "POST", base(i)+"/v1/leads", replicaLead(id, now.Add(-15*24*time.Hour))); code != http.StatusCreated {
			t.Fatalf("POST old lead %s: %d %s", id, code, body)
		}
	}
	t.Logf("%d leads posted %v after the replicas were ready", len(fresh)+len(old), time.Since(ready).Round(time.Millisecond))

	// Every announcement and every closing notice reaches the sink. An old
	// lead expires within a second of intake: it is announced only if its
	// announcement ran first, so the old leads count only their notices.
	all := append(slices.Clone(fresh), old...)
	complete := func(announced, closing map[string]int) bool {
		for _, id := range fresh {
			if announced[id] == 0 {
				return false
			}
		}
		for _, id := range old {
			if closing[id] == 0 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(25 * time.Second)
	for {
		announced, closing, _ := sinkCounts(t, sink.Mails())
		if complete(announced, closing) {
			break
		}
		if time.Now().After(deadline) {
			var missing []string
			for _, id := range fresh {
				if announced[id] == 0 {
					missing = append(missing, id+" (announcement)")
				}
			}
			for _, id := range old {
				if closing[id] == 0 {
					missing = append(missing, id+" (closing notice)")
				}
			}
			t.Fatalf("within 25s the sink got %d messages; %d missing: %v\n%s", len(sink.Mails()), len(missing), missing, logs())
		}
		for _, r := range replicas {
			if r.exited() {
				t.Fatalf("%s exited early (%v)\n%s", r.name, r.err, logs())
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("all %d announcements and %d closing notices sent %v after the replicas were ready", len(all), len(old), time.Since(ready).Round(time.Millisecond))

	// The old leads are archived as expired; checked before the stop, since
	// only a running replica answers.
	for i, id := range old {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := call(t, hc, "GET", base(i+1)+"/v1/leads/"+id, nil)
			var l struct {
				Status  string `json:"status"`
				Outcome string `json:"outcome"`
			}
			_ = json.Unmarshal(body, &l)
			if code == http.StatusOK && l.Status == "archived" && l.Outcome == "expired" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is not archived as expired: %d %s", id, code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i, id := range fresh[:3] {
		if code, body := call(t, hc, "GET", base(i)+"/v1/leads/"+id, nil); code != http.StatusOK || !strings.Contains(string(body), `"status":"received"`) {
			t.Errorf("fresh lead %s: %d %s", id, code, body)
		}
	}

	// Let the cron tick for the rest of the window, then stop all three.
	if rest := cronWindow - time.Since(ready); rest > 0 {
		time.Sleep(rest)
	}
	pids := map[int]string{}
	for _, r := range replicas {
		pids[r.cmd.Process.Pid] = r.name
		if r.exited() {
			t.Fatalf("%s exited before it was signalled (%v)\n%s", r.name, r.err, logs())
		}
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM to %s: %v", r.name, err)
		}
	}
	stopped := time.Now()
	stopTimeout := time.After(10 * time.Second)
	for _, r := range replicas {
		select {
		case <-r.done:
		case <-stopTimeout:
			t.Fatalf("%s did not exit within 10s of SIGTERM\n%s", r.name, logs())
		}
		var exit *exec.ExitError
		switch {
		case r.err == nil:
		case errors.As(r.err, &exit):
			t.Errorf("%s exited with %v after SIGTERM, want 0", r.name, exit)
		default:
			t.Errorf("%s: wait: %v", r.name, r.err)
		}
		if !strings.Contains(r.stderr(), "leadworker stopped") {
			t.Errorf("%s's log does not say it stopped", r.name)
		}
	}
	t.Logf("all three exited %v after SIGTERM", time.Since(stopped).Round(time.Millisecond))
	if t.Failed() {
		t.Fatalf("unclean stop\n%s", logs())
	}

	// Every lead announced exactly once, nothing else sent twice.
	announced, closing, other := sinkCounts(t, sink.Mails())
	for _, id := range all {
		if n := announced[id]; n != 1 && (n != 0 || !slices.Contains(old, id)) {
			t.Errorf("%s announced %d times, want once", id, n)
		}
	}
	for id, n := range announced {
		if !slices.Contains(all, id) {
			t.Errorf("announcement of a lead nobody posted: %s (%d)", id, n)
		}
	}
	for _, id := range old {
		if n := closing[id]; n != 1 {
			t.Errorf("%s closing notice sent %d times, want once", id, n)
		}
	}
	for id, n := range closing {
		if !slices.Contains(old, id) {
			t.Errorf("closing notice for %s (%d), which should not have expired", id, n)
		}
	}
	if len(other) > 0 {
		t.Errorf("unexpected messages: %v", other)
	}

	// The expire runs: each tick once, at least five of them, spread over
	// the replicas if they raced for them.
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"LEADWORKER_REDIS_URL": rds.URL()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	tools, err := worker.OpenTools(context.Background(), cfg, quiet, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer tools.Close()
	runs, err := tools.Store.Runs(context.Background(), "expire")
	if err != nil {
		t.Fatal(err)
	}
	ticks := map[time.Time]int{}
	hosts := map[string]int{}
	for _, r := range runs {
		ticks[r.Tick]++
		hosts[r.Host]++
	}
	for tick, n := range ticks {
		if n != 1 {
			t.Errorf("expire tick %s ran %d times", tick.Format(time.RFC3339), n)
		}
	}
	if len(ticks) < 5 {
		t.Errorf("%d expire ticks ran in a %v window, want at least 5", len(ticks), cronWindow)
	}
	byReplica := map[string]int{}
	for host, n := range hosts {
		name := "unknown process " + host
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			var pid int
			if _, err := fmt.Sscan(host[i+1:], &pid); err == nil && pids[pid] != "" {
				name = pids[pid]
			}
		}
		if strings.HasPrefix(name, "unknown") {
			t.Errorf("an expire run was recorded by %s, none of the three replicas", host)
		}
		byReplica[name] += n
	}
	if len(hosts) < 2 {
		t.Logf("every expire run landed on one process: %v", byReplica)
	} else {
		t.Logf("%d expire runs over %d ticks, by replica: %v", len(runs), len(ticks), byReplica)
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs())
	}
	t.Logf("test took %v", time.Since(testStart).Round(time.Millisecond))
}
