package worker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/worker"
	"github.com/sirupsen/logrus"
)

func TestRejectedLocationContactFallsBackToDefault(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.must(200, "PUT", "/v1/partners/P-300/contacts", map[string]any{"default": map[string]any{"email": "gone@litware-ru.example"}})
	e.smtp.Reject("osaka-sales@fabrikam-jp.example")
	e.smtp.Reject("gone@litware-ru.example")
	e.must(201, "POST", "/v1/leads", lead("L-OSAKA", func(l map[string]any) { l["location"] = "osaka" }))
	e.must(201, "POST", "/v1/leads", lead("L-TOKYO"))
	e.must(201, "POST", "/v1/leads", lead("L-GONE", func(l map[string]any) { l["partner_id"] = "P-300" }))
	e.settle(2)
	if got := mailsTo(t, e.smtp.Mails(), "leads@fabrikam-jp.example"); len(got) != 1 || !strings.Contains(got[0].MessageID, "L-OSAKA") {
		t.Fatalf("default contact got %d emails, want the osaka lead once", len(got))
	}
	if got := mailsTo(t, e.smtp.Mails(), "tokyo-sales@fabrikam-jp.example"); len(got) != 1 {
		t.Fatalf("tokyo contact got %d emails, want 1", len(got))
	}
	checkNotification(t, e, "L-OSAKA", "individual", "leads@fabrikam-jp.example")
	n, _ := e.must(200, "GET", "/v1/leads/L-GONE", nil)["notification"].(map[string]any)
	if msg, _ := n["error"].(string); !strings.Contains(msg, "550") || n["recipient"] != "gone@litware-ru.example" {
		t.Fatalf("rejected lead: notification %v", n)
	}
	feed := e.must(200, "GET", "/v1/partners/P-300/notifications", nil)["items"].([]any)
	if len(feed) != 1 || feed[0].(map[string]any)["type"] != "undelivered" {
		t.Fatalf("feed of P-300: %v", feed)
	}
}

func TestSMTPDownThenBackDeliversEverythingOnce(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_DIGEST_THRESHOLD", "1000")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.smtp.TempFail(true)
	postLeadsAt(e, "L-T", 10, tokyoDay())
	time.Sleep(500 * time.Millisecond)
	e.smtp.TempFail(false)
	e.smtp.Stop()
	postLeadsAt(e, "L-S", 10, tokyoDay())
	time.Sleep(500 * time.Millisecond)
	if smtp, _ := e.must(200, "GET", "/readyz", nil)["smtp"].(map[string]any); smtp["last_error"] == nil {
		t.Fatalf("readiness does not report the SMTP outage: %v", smtp)
	}
	e.smtp.Restart()
	mails := e.smtp.WaitFor(20, 60*time.Second)
	time.Sleep(time.Second)
	seen := map[string]int{}
	for _, m := range e.smtp.Mails() {
		seen[readMail(t, m).MessageID]++
	}
	if len(seen) != 20 || len(e.smtp.Mails()) != 20 {
		t.Fatalf("%d distinct of %d emails (%d at first count), want 20 once each: %v", len(seen), len(e.smtp.Mails()), len(mails), seen)
	}
	if smtp, _ := e.must(200, "GET", "/readyz", nil)["smtp"].(map[string]any); smtp["last_success"] == nil {
		t.Fatalf("readiness does not report the recovered SMTP: %v", smtp)
	}
}

// TestWorkerStoppedMidFlight stops a daemon while it sends 2,000 emails and
// starts a new one on the same Redis: every lead is announced exactly once.
func TestWorkerStoppedMidFlight(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_DIGEST_THRESHOLD", "10000", "LEADWORKER_SHUTDOWN_TIMEOUT", "1s")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.smtp.Delay(2 * time.Millisecond)
	const n = 2000
	for b := range n / 500 {
		var items []string
		for i := range 500 {
			items = append(items, jsonOf(lead(fmt.Sprintf("L-K-%04d", b*500+i))))
		}
		e.must(200, "POST", "/v1/leads:batch", `{"leads":[`+strings.Join(items, ",")+`]}`)
	}
	e.smtp.WaitFor(300, 30*time.Second)
	if err := e.daemon.Close(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stoppedAt := len(e.smtp.Mails())
	second := openDaemon(t, e)
	defer second.Close()
	e.smtp.WaitFor(n, 60*time.Second)
	time.Sleep(time.Second)
	seen := map[string]int{}
	for _, m := range e.smtp.Mails() {
		seen[readMail(t, m).MessageID]++
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s sent %d times", id, c)
		}
	}
	if len(seen) != n {
		var odd []string
		for id := range seen {
			if !strings.HasPrefix(id, "<lead-L-K-") || !strings.HasSuffix(id, ".new@portal.example>") {
				odd = append(odd, id)
			}
		}
		slices.Sort(odd)
		t.Fatalf("%d leads announced, want %d (first daemon stopped after %d); unexpected: %v\nwarnings:\n%s",
			len(seen), n, stoppedAt, odd[:min(len(odd), 10)], warnings(e.logs.String(), 20))
	}
	if stoppedAt >= n {
		t.Fatalf("the first daemon sent everything before it was stopped; the test proved nothing")
	}
}

// openDaemon starts another daemon on e's Redis and SMTP sink.
func openDaemon(t *testing.T, e *env) *worker.Daemon {
	t.Helper()
	values := map[string]string{"LEADWORKER_REDIS_URL": e.redis.URL(), "LEADWORKER_SMTP_URL": "smtp://" + e.smtp.Addr,
		"LEADWORKER_HTTP_ADDR": "127.0.0.1:0", "LEADWORKER_DIGEST_THRESHOLD": "10000", "LEADWORKER_MAIL_FROM": "leads@portal.example",
		"LEADWORKER_SCHEDULE": "off"}
	cfg, err := config.Load(func(k string) string { return values[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(e.logs)
	d := worker.New(cfg, log, clock.Real{})
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCustomerTextIsEscapedInMail(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.must(201, "POST", "/v1/leads", lead("L-XSS", func(l map[string]any) {
		l["customer"].(map[string]any)["company"] = `Contoso</td><script>alert(1)</script>`
		l["need"] = `"><img src=x onerror=alert(2)> Subject: fake`
	}))
	m := e.settle(1)[0]
	if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<img") {
		t.Fatalf("customer text reached the HTML unescaped:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;") || !strings.Contains(m.Text, "<script>alert(1)</script>") {
		t.Fatalf("customer text missing from the email:\n%s", m.HTML)
	}
	if len(m.Header["Subject"]) != 1 || m.Header.Get("Bcc") != "" || len(m.Header["Message-Id"]) != 1 {
		t.Fatalf("headers: %v", m.Header)
	}
}

func TestClosingNoticesAndFeed(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.must(201, "POST", "/v1/leads", lead("L-CUST"))
	e.must(201, "POST", "/v1/leads", lead("L-QUAL", func(l map[string]any) {
		l["kind"], l["lead_type"] = "sales_qualified", "profile"
		delete(l, "call_to_action")
		l["originator"] = map[string]any{"name": "Vendor seller", "email": "seller@vendor.example"}
	}))
	e.must(201, "POST", "/v1/leads", lead("L-INFO", func(l map[string]any) { l["call_to_action"] = "free_trial" }))
	e.settle(2)
	e.must(200, "POST", "/v1/leads/L-CUST/decline", decline.body)
	e.must(200, "POST", "/v1/leads/L-QUAL/decline", decline.body)
	e.settle(4)
	cust := mailsTo(t, e.smtp.Mails(), "hanako@contoso.example")
	seller := mailsTo(t, e.smtp.Mails(), "seller@vendor.example")
	if len(cust) != 1 || len(seller) != 1 {
		t.Fatalf("closing notices: %d to the customer, %d to the originator; want 1 each", len(cust), len(seller))
	}
	if !strings.Contains(cust[0].Text, "L-CUST") || !strings.Contains(seller[0].Text, "L-QUAL") {
		t.Fatalf("notices do not name their leads:\n%s\n%s", cust[0].Text, seller[0].Text)
	}
	if cust[0].Subject == seller[0].Subject {
		t.Fatalf("the Japanese customer and the vendor seller got the same subject %q", cust[0].Subject)
	}
	feed := e.must(200, "GET", "/v1/partners/P-100/notifications", nil)["items"].([]any)
	var types []string
	for _, it := range feed {
		types = append(types, it.(map[string]any)["type"].(string))
	}
	if len(types) != 5 || types[0] != "closing_notice" || types[1] != "closing_notice" || !slices.Contains(types, "informational_lead") {
		t.Fatalf("feed types %v, want 2 closing notices first, 2 new leads and the informational lead", types)
	}
}

// TestGivingUpRecordsEachLeadOfTheBatch lets every attempt of a batch of
// announcements fail temporarily until the last retry: each lead that was to
// be emailed records the failure and tells the feed; the lead that joined a
// digest keeps waiting for it.
func TestGivingUpRecordsEachLeadOfTheBatch(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_MAX_RETRY", "1", "LEADWORKER_DIGEST_THRESHOLD", "2")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.smtp.TempFail(true)
	var items []string
	for _, id := range []string{"L-G-1", "L-G-2", "L-G-3"} {
		items = append(items, jsonOf(lead(id)))
	}
	e.must(200, "POST", "/v1/leads:batch", `{"leads":[`+strings.Join(items, ",")+`]}`)
	notification := func(id string) map[string]any {
		n, _ := e.must(200, "GET", "/v1/leads/"+id, nil)["notification"].(map[string]any)
		return n
	}
	var failed, digest []string
	waitFor(t, func() bool {
		failed, digest = nil, nil
		for _, id := range []string{"L-G-1", "L-G-2", "L-G-3"} {
			n := notification(id)
			if msg, _ := n["error"].(string); strings.HasPrefix(msg, "gave up after 2 attempts") {
				failed = append(failed, id)
			} else if n["via"] == "digest" && n["error"] == nil {
				digest = append(digest, id)
			}
		}
		return len(failed) == 2 && len(digest) == 1
	})
	feed := e.must(200, "GET", "/v1/partners/P-100/notifications", nil)["items"].([]any)
	var undelivered []string
	for _, f := range feed {
		if entry := f.(map[string]any); entry["type"] == "undelivered" {
			undelivered = append(undelivered, entry["lead_ids"].([]any)[0].(string))
		}
	}
	slices.Sort(undelivered)
	if fmt.Sprint(undelivered) != fmt.Sprint(failed) {
		t.Fatalf("feed tells of %v, want the failed leads %v", undelivered, failed)
	}
	if len(e.smtp.Mails()) != 0 {
		t.Fatalf("%d emails accepted while the server refused every one", len(e.smtp.Mails()))
	}
	// The batch given up on is no longer pending work for the digests job.
	if left := e.redis.Client().ZRange(t.Context(), "leadworker:pending", 0, -1).Val(); len(left) != 0 {
		t.Fatalf("still pending after giving up: %v", left)
	}
}

// TestGivingUpOnADigestRecordsItsLeads lets a digest fail temporarily until
// its last retry: its leads record the failure, the feed tells of it, and
// the digest is no longer due.
func TestGivingUpOnADigestRecordsItsLeads(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_MAX_RETRY", "1", "LEADWORKER_DIGEST_THRESHOLD", "1")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.smtp.TempFail(true)
	ids := postLeadsAt(e, "L-GD", 3, tokyoDay())
	gaveUp := func(id string) bool {
		n, _ := e.must(200, "GET", "/v1/leads/"+id, nil)["notification"].(map[string]any)
		msg, _ := n["error"].(string)
		return strings.HasPrefix(msg, "gave up after 2 attempts")
	}
	var inDigest []any       // the two leads claimed after the first
	waitFor(t, func() bool { // the individual email gives up first
		inDigest = nil
		for _, id := range ids {
			if !gaveUp(id) {
				inDigest = append(inDigest, id)
			}
		}
		return len(inDigest) == 2
	})
	// The digests job runs in the daemon, with its retry setting.
	e.token = "admin-token-0123456789"
	e.must(202, "POST", "/admin/v1/maintenance/digests", nil)
	waitFor(t, func() bool { return gaveUp(ids[0]) && gaveUp(ids[1]) && gaveUp(ids[2]) })
	if due := e.redis.Client().ZCard(t.Context(), "leadworker:due:digests").Val(); due != 0 {
		t.Fatalf("%d digests still due after giving up", due)
	}
	feed := e.must(200, "GET", "/v1/partners/P-100/notifications", nil)["items"].([]any)
	if entry := feed[0].(map[string]any); entry["type"] != "undelivered" || fmt.Sprint(entry["lead_ids"]) != fmt.Sprint(inDigest) {
		t.Fatalf("newest feed entry %v, want the digest's leads undelivered", entry)
	}
}

// TestRejectedLocationContactDigestFallsBackToDefault sends a location
// contact more leads than its daily threshold while the mail server refuses
// that contact for good: the individual emails and the digest both go to the
// partner's default contact instead, each lead once.
func TestRejectedLocationContactDigestFallsBackToDefault(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_DIGEST_THRESHOLD", "2")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.smtp.Reject("osaka-sales@fabrikam-jp.example")
	var ids []string
	for i := range 4 {
		id := fmt.Sprintf("L-FBD-%d", i)
		e.must(201, "POST", "/v1/leads", lead(id, createdAt(tokyoDay().Add(time.Duration(i)*time.Minute)), func(l map[string]any) { l["location"] = "osaka" }))
		e.settled() // claimed in order: the first two on their own, the others in the digest
		ids = append(ids, id)
	}
	e.token = "admin-token-0123456789"
	e.must(202, "POST", "/admin/v1/maintenance/digests", nil)
	mails := e.settle(3)
	count := map[string]int{}
	for _, m := range mails {
		if m.To != "leads@fabrikam-jp.example" {
			t.Errorf("%s went to %v, want the default contact", m.MessageID, m.To)
		}
		for _, id := range strings.Fields(m.Header.Get("X-Leadworker-Leads")) {
			count[id]++
		}
	}
	for _, id := range ids {
		n, _ := e.must(200, "GET", "/v1/leads/"+id, nil)["notification"].(map[string]any)
		if count[id] != 1 || n["recipient"] != "leads@fabrikam-jp.example" || n["sent_at"] == nil {
			t.Errorf("%s: in %d emails, notification %v; want once, sent to the default contact", id, count[id], n)
		}
	}
}
