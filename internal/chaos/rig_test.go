//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker/internal/testenv"
)

// mailFrom is the daemons' From address; Message-IDs end in its domain.
const mailFrom = "leads@chaos.example"

// rig is one scenario's processes: a persistent redis-server, an SMTP sink
// whose mail is tallied, and two `leadworker serve` replicas.
type rig struct {
	dir     string
	hc      *http.Client
	redis   *redisServer
	sink    *testenv.SMTP
	mail    *tally
	daemons []*daemon
}

// baseEnv is the configuration every scenario starts from: maintenance
// every five seconds so overdue work is picked up quickly, reminders off
// (a scenario about them turns them on).
func baseEnv() map[string]string {
	return map[string]string{
		"LEADWORKER_API_TOKENS":           apiToken,
		"LEADWORKER_ADMIN_TOKENS":         adminToken,
		"LEADWORKER_MAIL_FROM":            mailFrom,
		"LEADWORKER_LEAD_URL":             "https://portal.chaos.example/leads/{id}",
		"LEADWORKER_LOG_FORMAT":           "json",
		"LEADWORKER_SHUTDOWN_TIMEOUT":     "5s",
		"LEADWORKER_CRON_EXPIRE":          "*/5 * * * * *",
		"LEADWORKER_CRON_CONTACT_ALERTS":  "*/5 * * * * *",
		"LEADWORKER_CRON_REMINDERS":       "*/5 * * * * *",
		"LEADWORKER_CRON_DIGESTS":         "*/5 * * * * *",
		"LEADWORKER_REMIND_AFTER":         "0",
		"LEADWORKER_REMIND_BEFORE_EXPIRY": "0",
	}
}

// newRig starts Redis, the sink and two replicas configured with baseEnv
// and then env.
func newRig(t *testing.T, bin string, env map[string]string) *rig {
	t.Helper()
	r := &rig{dir: logDir(t), hc: &http.Client{Timeout: 60 * time.Second}}
	r.redis = startRedis(t)
	r.sink = testenv.StartSMTP(t)
	r.mail = newTally(r.sink)
	for i := range 2 {
		e := baseEnv()
		maps.Copy(e, env)
		e["LEADWORKER_REDIS_URL"] = r.redis.url()
		e["LEADWORKER_SMTP_URL"] = "smtp://" + r.sink.Addr
		r.daemons = append(r.daemons, newDaemon(t, r.hc, bin, fmt.Sprintf("replica-%d", i+1), r.dir, e))
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", r.logs())
		}
	})
	return r
}

// logDir is where a scenario's processes write their logs: a folder named
// after the test under $CHAOS_LOGS when that is set, so the logs outlive the
// run, otherwise a temporary folder.
func logDir(t *testing.T) string {
	root := os.Getenv("CHAOS_LOGS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("CHAOS_LOGS: %v", err)
	}
	return dir
}

// base is the URL of replica i (modulo the number of replicas).
func (r *rig) base(i int) string { return "http://" + r.daemons[i%len(r.daemons)].addr }

// live returns the index of a replica that is running, preferring i.
func (r *rig) live(i int) int {
	for k := range r.daemons {
		if j := (i + k) % len(r.daemons); !r.daemons[j].exited() {
			return j
		}
	}
	return i % len(r.daemons)
}

// logs returns the end of every process's log.
func (r *rig) logs() string {
	var b strings.Builder
	for _, d := range r.daemons {
		fmt.Fprintf(&b, "--- %s (%s):\n%s\n", d.name, d.addr, d.tail())
	}
	fmt.Fprintf(&b, "--- redis-server (%s):\n%s\n", r.redis.addr, r.redis.log())
	return b.String()
}

// putPartner stores a partner's contacts through replica 0.
func (r *rig) putPartner(t *testing.T, p partner) {
	t.Helper()
	contacts := map[string]any{"default": map[string]any{"email": p.email, "name": p.id + " team", "time_zone": p.tz}}
	if len(p.locations) > 0 {
		locs := map[string]any{}
		for loc, email := range p.locations {
			locs[loc] = map[string]any{"email": email, "name": p.id + " " + loc, "time_zone": p.tz}
		}
		contacts["locations"] = locs
	}
	code, body, err := call(context.Background(), r.hc, "PUT", r.base(0)+"/v1/partners/"+p.id+"/contacts", apiToken, contacts)
	if err != nil || code != http.StatusOK {
		t.Fatalf("PUT contacts of %s: %d %v %.300s", p.id, code, err, body)
	}
}

// waitSettled waits until every lead in accepted() is announced and no
// notification work is queued, pending or retrying, then a few seconds
// more so that late copies are counted too. It returns when the work was
// done. It also returns, leaving the counting to the caller, when the
// queues have been idle and no mail has come for stall (work that is lost
// for good); and fails the test after timeout.
func (r *rig) waitSettled(t *testing.T, accepted func() []string, timeout, stall time.Duration) time.Time {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	mails, quietSince := -1, time.Now()
	for {
		q, qerr := r.queues(ctx, r.live(0))
		ids := accepted()
		if n := r.mail.count(); n != mails || qerr != nil || q.busy > 0 {
			mails, quietSince = n, time.Now()
		}
		idle := qerr == nil && q.busy == 0
		if idle && r.mail.allAnnounced(ids) {
			at := time.Now()
			time.Sleep(3 * time.Second)
			return at
		}
		if idle && time.Since(quietSince) > stall {
			o := r.mail.outcome(ids)
			t.Logf("stalled: queues idle and no mail for %v with %d of %d leads announced; queues: %s", stall, o.announced, o.in, q.detail)
			return time.Now()
		}
		if time.Now().After(deadline) {
			o := r.mail.outcome(ids)
			t.Fatalf("not settled within %v: %d of %d leads announced, lost so far %v; queues: %+v %v\n%s",
				timeout, o.announced, o.in, o.examples, q, qerr, r.logs())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkRecords reads every lead of the partners and counts those whose
// notification record says they were sent; it returns a line for the
// report and the leads whose record disagrees.
func (r *rig) checkRecords(t *testing.T, partners []partner, accepted []string) (string, []string) {
	t.Helper()
	want := map[string]bool{}
	for _, id := range accepted {
		want[id] = true
	}
	var stored, sent int
	var odd []string
	for _, p := range partners {
		leads, err := r.partnerLeads(context.Background(), r.live(0), p.id)
		if err != nil {
			t.Fatalf("read back the leads: %v", err)
		}
		for _, l := range leads {
			if !want[l.ID] {
				continue
			}
			stored++
			if n := l.Notification; n != nil && n.SentAt != nil && n.Error == "" {
				sent++
			} else if len(odd) < 10 {
				odd = append(odd, fmt.Sprintf("%s: notification %+v", l.ID, n))
			}
		}
	}
	if stored != len(accepted) {
		odd = append(odd, fmt.Sprintf("%d of %d accepted leads are stored", stored, len(accepted)))
	}
	return fmt.Sprintf("stored %d, recorded as sent %d", stored, sent), odd
}
