package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/jobs"
	"github.com/leadworker/leadworker/worker"
	"github.com/sirupsen/logrus"
)

// tools opens the one-shot command tools on e's Redis, as `leadworker
// maintenance` does.
func (e *env) tools() *worker.Tools {
	e.t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"LEADWORKER_REDIS_URL": e.redisURL}[k]
	})
	if err != nil {
		e.t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(e.logs)
	t, err := worker.OpenTools(context.Background(), cfg, log, clock.Real{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { t.Close() })
	return t
}

func (e *env) run(m *jobs.Maintenance, job string, at time.Time, dry bool) []jobs.Change {
	e.t.Helper()
	rep, err := m.Run(context.Background(), job, at, dry)
	if err != nil {
		e.t.Fatalf("%s: %v", job, err)
	}
	return rep.Changes
}

func leadIDs(changes []jobs.Change) []string {
	var ids []string
	for _, c := range changes {
		ids = append(ids, c.LeadID)
	}
	slices.Sort(ids)
	return ids
}

func createdAt(t time.Time) func(map[string]any) {
	return func(l map[string]any) { l["created_at"] = t.Format(time.RFC3339) }
}

func qualified(l map[string]any) {
	l["kind"], l["lead_type"] = "marketing_qualified", "profile"
	delete(l, "call_to_action")
	l["originator"] = map[string]any{"name": "Vendor marketer", "email": "marketer@vendor.example"}
}

func TestExpiryBoundariesAndNotices(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	m := e.tools().Maintenance
	now := time.Now().UTC().Truncate(time.Second)
	cutoff := now.Add(-14 * 24 * time.Hour)
	e.must(201, "POST", "/v1/leads", lead("L-DUE", createdAt(cutoff)))
	e.must(201, "POST", "/v1/leads", lead("L-YOUNG", createdAt(cutoff.Add(time.Second))))
	e.must(201, "POST", "/v1/leads", lead("L-QUAL", createdAt(cutoff.Add(-time.Hour)), qualified))
	e.must(201, "POST", "/v1/leads", lead("L-INFO", createdAt(cutoff.Add(-time.Hour)), func(l map[string]any) { l["call_to_action"] = "test_drive" }))
	e.must(201, "POST", "/v1/leads", lead("L-ACC", createdAt(cutoff.Add(-time.Hour))))
	e.must(201, "POST", "/v1/leads", lead("L-DEC", createdAt(cutoff.Add(-time.Hour)), func(l map[string]any) {
		l["customer"].(map[string]any)["email"] = "other@contoso.example"
	}))
	e.must(200, "POST", "/v1/leads/L-ACC/accept", acceptBody)
	e.must(200, "POST", "/v1/leads/L-DEC/decline", decline.body)

	if got := leadIDs(e.run(m, "expire", now, false)); fmt.Sprint(got) != "[L-DUE L-QUAL]" {
		t.Fatalf("expired %v, want L-DUE and L-QUAL", got)
	}
	if again := e.run(m, "expire", now, false); len(again) != 0 {
		t.Fatalf("second run changed %v", again)
	}
	due := e.must(200, "GET", "/v1/leads/L-DUE", nil)
	cust := due["customer"].(map[string]any)
	if due["status"] != "archived" || due["outcome"] != "expired" || due["archived_at"] == nil ||
		cust["name"] != nil || cust["email"] != nil || cust["phone"] != nil || cust["company"] != "Contoso KK" || cust["country"] != "JP" {
		t.Fatalf("expired lead: %v", due)
	}
	for id, want := range map[string]string{"L-YOUNG": "received", "L-INFO": "received", "L-ACC": "accepted"} {
		if got := e.must(200, "GET", "/v1/leads/"+id, nil)["status"]; got != want {
			t.Errorf("%s: %v, want %s", id, got, want)
		}
	}
	waitFor(t, func() bool {
		return len(mailsTo(t, e.smtp.Mails(), "hanako@contoso.example")) == 1 && len(mailsTo(t, e.smtp.Mails(), "marketer@vendor.example")) == 1
	})
	e.run(m, "expire", now, false)
	time.Sleep(500 * time.Millisecond)
	if n := len(mailsTo(t, e.smtp.Mails(), "hanako@contoso.example")); n != 1 {
		t.Fatalf("customer told %d times", n)
	}
	noContactDataLeft(t, e, "hanako@contoso.example", "Hanako Sato", "+81-3-0000-0000")
}

// noContactDataLeft scans every key in Redis for the expired leads' contact
// data, once their notices went out.
func noContactDataLeft(t *testing.T, e *env, secrets ...string) {
	t.Helper()
	e.settled()
	c := e.redis.Client()
	ctx := context.Background()
	for _, key := range c.Keys(ctx, "*").Val() {
		for _, v := range redisValues(ctx, c, key) {
			for _, s := range secrets {
				if strings.Contains(v, s) && !strings.Contains(key, "L-DEC") && !strings.Contains(key, "L-YOUNG") &&
					!strings.Contains(key, "L-ACC") && !strings.Contains(key, "L-INFO") {
					t.Errorf("key %s still holds %q", key, s)
				}
			}
		}
	}
}

// settled waits until no pending work is left: every announcement and
// notice enqueued so far has been handled.
func (e *env) settled() {
	e.t.Helper()
	waitFor(e.t, func() bool {
		n, _ := e.redis.Client().ZCard(context.Background(), "leadworker:pending").Result()
		return n == 0
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
	}
}

func TestOfferArchiveUsesCalendarMonths(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	m := e.tools().Maintenance
	info := func(l map[string]any) { l["call_to_action"] = "get_it_now" }
	e.must(201, "POST", "/v1/leads", lead("L-MAY31", createdAt(time.Date(2026, 5, 31, 10, 0, 0, 0, time.UTC)), info))
	e.must(201, "POST", "/v1/leads", lead("L-MAY30", createdAt(time.Date(2026, 5, 30, 10, 0, 0, 0, time.UTC)), info))
	e.must(201, "POST", "/v1/leads", lead("L-OLD-CM", createdAt(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))))
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 30, 9, 59, 59, 0, time.UTC), "[]"},
		{time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), "[L-MAY30]"},
		{time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC), "[]"},    // 30 May 23:59:59 is before 31 May 10:00
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "[L-MAY31]"}, // 1 June 00:00: 31 November does not exist
	}
	for _, tt := range tests {
		if got := fmt.Sprint(leadIDs(e.run(m, "archive-offers", tt.at, false))); got != tt.want {
			t.Fatalf("archive-offers at %s: %s, want %s", tt.at, got, tt.want)
		}
	}
	if got := e.must(200, "GET", "/v1/leads/L-MAY31", nil); got["status"] != "archived" || got["outcome"] != nil {
		t.Fatalf("archived offer lead: %v", got)
	}
	if got := e.must(200, "GET", "/v1/leads/L-OLD-CM", nil)["status"]; got != "received" {
		t.Fatalf("a contact_me offer lead was archived by the offer job: %v", got)
	}
}

func TestContactAlertTurnsOverdueAt72Hours(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	m := e.tools().Maintenance
	now := time.Now().UTC().Truncate(time.Second)
	e.must(201, "POST", "/v1/leads", lead("L-72", createdAt(now.Add(-72*time.Hour))))
	e.must(201, "POST", "/v1/leads", lead("L-71", createdAt(now.Add(-72*time.Hour+time.Second))))
	e.must(201, "POST", "/v1/leads", lead("L-ACC", createdAt(now.Add(-80*time.Hour))))
	e.must(200, "POST", "/v1/leads/L-ACC/accept", acceptBody)
	if got := fmt.Sprint(leadIDs(e.run(m, "contact-alerts", now, false))); got != "[L-72 L-ACC]" {
		t.Fatalf("alerts switched: %s", got)
	}
	for id, want := range map[string]string{"L-72": "contact_me_overdue", "L-71": "contact_me", "L-ACC": "contact_me_overdue"} {
		if got := e.must(200, "GET", "/v1/leads/"+id, nil)["alert"]; got != want {
			t.Errorf("%s alert %v, want %s", id, got, want)
		}
	}
	if got := e.run(m, "contact-alerts", now.Add(time.Second), false); len(got) != 1 || got[0].LeadID != "L-71" {
		t.Fatalf("a second later: %v", got)
	}
}

func TestRemindersAreSentOnceAndOnlyForUnansweredLeads(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	m := e.tools().Maintenance
	now := time.Now().UTC().Truncate(time.Second)
	e.must(201, "POST", "/v1/leads", lead("L-DAY", createdAt(now.Add(-24*time.Hour))))
	e.must(201, "POST", "/v1/leads", lead("L-ANSWERED", createdAt(now.Add(-25*time.Hour))))
	e.must(201, "POST", "/v1/leads", lead("L-12D", createdAt(now.Add(-12*24*time.Hour))))
	e.must(201, "POST", "/v1/leads", lead("L-FRESH", createdAt(now.Add(-23*time.Hour))))
	e.settle(4) // the four announcements
	e.must(200, "POST", "/v1/leads/L-ANSWERED/accept", acceptBody)
	changes := e.run(m, "reminders", now, false)
	got := map[string]string{}
	for _, c := range changes {
		got[c.LeadID] = c.Detail
	}
	if fmt.Sprint(got) != "map[L-12D:expiry L-DAY:first]" {
		t.Fatalf("reminders %v", got)
	}
	e.run(m, "reminders", now.Add(time.Minute), false) // nothing new
	mails := e.settle(6)
	var reminders []string
	for _, m := range mails {
		if strings.Contains(m.MessageID, ".reminder-") {
			reminders = append(reminders, m.MessageID)
		}
	}
	slices.Sort(reminders)
	if fmt.Sprint(reminders) != "[<lead-L-12D.reminder-expiry@portal.example> <lead-L-DAY.reminder-first@portal.example>]" {
		t.Fatalf("reminder emails %v", reminders)
	}
	// L-DAY reaches its expiry reminder 11 days later, once.
	if got := e.run(m, "reminders", now.Add(11*24*time.Hour), false); len(got) != 2 {
		t.Fatalf("11 days later: %v, want the expiry reminder of L-DAY and the first of L-FRESH", got)
	}
}

func TestDryRunChangesNothingAndMatchesTheRun(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	m := e.tools().Maintenance
	at := time.Now().UTC().Add(30 * 24 * time.Hour)
	for i := range 40 {
		e.must(201, "POST", "/v1/leads", lead(fmt.Sprintf("L-%02d", i), createdAt(time.Now().UTC().Add(-time.Duration(i)*9*time.Hour)), func(l map[string]any) {
			if i%4 == 0 {
				l["call_to_action"] = "free_trial"
			}
		}))
	}
	e.must(200, "POST", "/v1/leads/L-01/accept", acceptBody)
	for _, job := range tasks.JobNames {
		e.settled() // notices of the previous job, and the announcements, are done
		before := snapshot(e)
		dry := e.run(m, job, at, true)
		if after := snapshot(e); after != before {
			t.Fatalf("%s dry run changed Redis", job)
		}
		real := e.run(m, job, at, false)
		if fmt.Sprint(sorted(dry)) != fmt.Sprint(sorted(real)) {
			t.Fatalf("%s: dry run said\n%v\nthe run did\n%v", job, sorted(dry), sorted(real))
		}
	}
}

func sorted(cs []jobs.Change) []string {
	var out []string
	for _, c := range cs {
		if c.Action != "requeue" {
			out = append(out, c.Action+" "+c.LeadID+" "+c.Detail)
		}
	}
	slices.Sort(out)
	return out
}

// snapshot renders every lead-store key and value.
func snapshot(e *env) string {
	c := e.redis.Client()
	ctx := context.Background()
	keys := slices.DeleteFunc(c.Keys(ctx, "leadworker:*").Val(), func(k string) bool {
		return strings.HasPrefix(k, "leadworker:lock:") // held only while a message is sent
	})
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %v %v %v\n", k, c.HGetAll(ctx, k).Val(), c.ZRangeWithScores(ctx, k, 0, -1).Val(), c.LRange(ctx, k, 0, -1).Val())
	}
	return b.String()
}

// TestAcceptRacingExpiry races accepts against expiry sweeps: every lead
// ends up either accepted (and its accept succeeded) or expired (and its
// accept was refused), never both.
func TestAcceptRacingExpiry(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	m := e.tools().Maintenance
	store := e.daemon.Store()
	const n = 1000
	var items []string
	for i := range n {
		items = append(items, jsonOf(lead(fmt.Sprintf("L-%04d", i), createdAt(time.Now().Add(-15*24*time.Hour)))))
	}
	e.must(200, "POST", "/v1/leads:batch", `{"leads":[`+strings.Join(items, ",")+`]}`)
	accepted := make([]bool, n)
	var wg sync.WaitGroup
	deal := leadworker.Deal{Name: "d", Value: leadworker.Money{Amount: "1", Currency: "USD"}, EstimatedPurchaseDate: "2027-01-01"}
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				_, err := store.Accept(context.Background(), fmt.Sprintf("L-%04d", i), deal)
				accepted[i] = err == nil
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			e.run(m, "expire", time.Now(), false)
		}
	})
	wg.Wait()
	e.run(m, "expire", time.Now(), false)
	wins := 0
	for i := range n {
		l, err := store.Get(context.Background(), fmt.Sprintf("L-%04d", i))
		if err != nil {
			t.Fatal(err)
		}
		ok := (accepted[i] && l.Status == leadworker.StatusAccepted && l.Outcome == "") ||
			(!accepted[i] && l.Status == leadworker.StatusArchived && l.Outcome == leadworker.OutcomeExpired)
		if !ok {
			t.Fatalf("%s: accept succeeded %v, stored %s/%s", l.ID, accepted[i], l.Status, l.Outcome)
		}
		if accepted[i] {
			wins++
		}
	}
	t.Logf("%d accepts won, %d expiries", wins, n-wins)
}

// TestLostClosingNoticesAreSentByTheDigestsJob expires leads while no
// daemon runs and then loses the queued notice tasks: the pending batch the
// expiry recorded brings them back at the next digests run, each notice
// once.
func TestLostClosingNoticesAreSentByTheDigestsJob(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	m := e.tools().Maintenance
	now := time.Now().UTC()
	const n = 5
	for i := range n {
		e.must(201, "POST", "/v1/leads", lead(fmt.Sprintf("L-LOST-%d", i), createdAt(now.Add(-15*24*time.Hour)), func(l map[string]any) {
			l["customer"].(map[string]any)["email"] = fmt.Sprintf("buyer%d@contoso.example", i)
		}))
	}
	e.settled()
	if err := e.daemon.Close(); err != nil {
		t.Fatal(err)
	}
	if got := e.run(m, "expire", now, false); len(got) != n {
		t.Fatalf("expired %d leads, want %d", len(got), n)
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.redis.Addr})
	defer insp.Close()
	if lost, err := insp.DeleteAllPendingTasks(tasks.QueueMail); err != nil || lost != 1 {
		t.Fatalf("deleted %d queued notice tasks (%v), want the expiry's one batch", lost, err)
	}
	d := openDaemon(t, e)
	defer d.Close()
	e.run(m, "digests", now.Add(2*time.Minute), false)
	e.settled()
	e.run(m, "digests", now.Add(4*time.Minute), false)
	time.Sleep(300 * time.Millisecond)
	for i := range n {
		if got := len(mailsTo(t, e.smtp.Mails(), fmt.Sprintf("buyer%d@contoso.example", i))); got != 1 {
			t.Errorf("customer %d told %d times, want once", i, got)
		}
	}
}

// TestLostAnnouncementBatchIsSentByTheDigestsJob stores a batch of leads
// whose announcement task is never enqueued (a crash right after intake):
// the pending batch brings them back at the next digests run, each
// announced once, and nothing is left pending.
func TestLostAnnouncementBatchIsSentByTheDigestsJob(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	tools := e.tools()
	var ins []leadworker.Intake
	for i := range 5 {
		var in leadworker.Intake
		if err := json.Unmarshal(mustMarshal(lead(fmt.Sprintf("L-LOSTB-%d", i))), &in); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, in)
	}
	for _, r := range tools.Store.CreateBatch(t.Context(), ins) {
		if r.Err != nil || !r.Created || r.Batch == "" {
			t.Fatalf("intake: %+v", r)
		}
	}
	e.run(tools.Maintenance, "digests", time.Now().Add(2*time.Minute), false)
	mails := e.settle(5)
	seen := map[string]bool{}
	for _, m := range mails {
		seen[m.MessageID] = true
	}
	for i := range 5 {
		if id := fmt.Sprintf("<lead-L-LOSTB-%d.new@portal.example>", i); !seen[id] {
			t.Errorf("%s not sent; got %v", id, seen)
		}
	}
	e.settled()
}
