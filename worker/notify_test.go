package worker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// P-100 as the partner portal describes it: a Japanese partner with two
// locations.
var fabrikamContacts = map[string]any{
	"default": map[string]any{"email": "leads@fabrikam-jp.example", "name": "Fabrikam Japan", "locale": "ja", "time_zone": "Asia/Tokyo"},
	"locations": map[string]any{
		"tokyo": map[string]any{"email": "tokyo-sales@fabrikam-jp.example", "name": "東京営業部", "locale": "ja", "time_zone": "Asia/Tokyo"},
		"osaka": map[string]any{"email": "osaka-sales@fabrikam-jp.example", "name": "大阪営業部", "locale": "ja", "time_zone": "Asia/Tokyo"},
	},
}

// tokyoDay is a day two days back, as a Tokyo calendar day, so its digest
// time has passed and the digest goes out at once.
func tokyoDay() time.Time {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	d := time.Now().In(tokyo).AddDate(0, 0, -2)
	return time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, tokyo)
}

func postLeadsAt(e *env, prefix string, n int, start time.Time, change ...func(map[string]any)) []string {
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%02d", prefix, i)
		changes := append([]func(map[string]any){func(l map[string]any) {
			l["created_at"] = start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		}}, change...)
		e.must(201, "POST", "/v1/leads", lead(id, changes...))
		ids = append(ids, id)
	}
	return ids
}

// settle waits until nothing more arrives for a while and returns the mails.
func (e *env) settle(want int) []received {
	e.t.Helper()
	defer func() {
		if e.t.Failed() {
			e.t.Logf("daemon log:\n%s", e.logs.String())
		}
	}()
	e.smtp.WaitFor(want, 20*time.Second)
	time.Sleep(700 * time.Millisecond)
	var out []received
	for _, m := range e.smtp.Mails() {
		out = append(out, readMail(e.t, m))
	}
	if len(out) != want {
		var ids []string
		for _, m := range out {
			ids = append(ids, m.MessageID)
		}
		e.t.Fatalf("%d emails, want %d: %v", len(out), want, ids)
	}
	return out
}

func TestThirteenLeadsMakeTenEmailsAndOneDigest(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	ids := postLeadsAt(e, "L-13", 13, tokyoDay())
	e.settle(10)
	e.settled()
	// The day's digest time has passed: the next digests run sends it.
	e.run(e.tools().Maintenance, "digests", time.Now(), false)
	mails := e.settle(11)
	var individual []string
	var digest *received
	for i, m := range mails {
		if m.To != "tokyo-sales@fabrikam-jp.example" {
			t.Fatalf("email to %s, want the tokyo contact", m.To)
		}
		if strings.HasPrefix(m.MessageID, "<digest-") {
			digest = &mails[i]
			continue
		}
		individual = append(individual, strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<lead-"), ".new@portal.example>"))
		if !strings.Contains(m.Subject, "L-13-") || !strings.Contains(m.Text, "https://portal.example/referrals/leads/L-13-") {
			t.Fatalf("individual email lacks the lead id or link: %q\n%s", m.Subject, m.Text)
		}
	}
	// Ten go out on their own and the other three in the digest; which ten
	// depends on the order the workers claim them, close to arrival order.
	if len(individual) != 10 {
		t.Fatalf("%d individual emails, want 10", len(individual))
	}
	if digest == nil {
		t.Fatal("no digest")
	}
	var inDigest []string
	for _, id := range ids {
		linked := strings.Contains(digest.HTML, "https://portal.example/referrals/leads/"+id+"\"")
		switch alone := slices.Contains(individual, id); {
		case alone && linked:
			t.Fatalf("%s was sent on its own and in the digest", id)
		case !alone && !linked:
			t.Fatalf("%s was announced neither on its own nor in the digest", id)
		case linked:
			inDigest = append(inDigest, id)
		}
	}
	if len(inDigest) != 3 {
		t.Fatalf("digest lists %v, want 3 leads", inDigest)
	}
	if !strings.Contains(digest.Text, "13") {
		t.Fatalf("digest does not give the day's total of 13:\n%s", digest.Text)
	}
	checkNotification(t, e, individual[0], "individual", "tokyo-sales@fabrikam-jp.example")
	checkNotification(t, e, inDigest[0], "digest", "tokyo-sales@fabrikam-jp.example")
}

func checkNotification(t *testing.T, e *env, id, via, rcpt string) {
	t.Helper()
	n, _ := e.must(200, "GET", "/v1/leads/"+id, nil)["notification"].(map[string]any)
	if n["via"] != via || n["recipient"] != rcpt || n["sent_at"] == nil {
		t.Fatalf("%s notification %v, want via %s to %s with sent_at", id, n, via, rcpt)
	}
}

func TestTenLeadsADayNeedNoDigest(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	day := tokyoDay()
	ids := postLeadsAt(e, "L-A", 10, day)
	ids = append(ids, postLeadsAt(e, "L-B", 3, day.AddDate(0, 0, 1))...) // the next day counts anew
	e.settle(13)
	for _, id := range ids {
		ntf, _ := e.must(200, "GET", "/v1/leads/"+id, nil)["notification"].(map[string]any)
		if ntf["via"] != "individual" || ntf["sent_at"] == nil {
			t.Errorf("%s: notification %v, want an individual email", id, ntf)
		}
	}
	if due := redisValues(context.Background(), e.redis.Client(), "leadworker:due:digests"); len(due) != 0 {
		t.Fatalf("digests waiting: %v", due)
	}
}

func TestRecipientResolution(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.must(200, "PUT", "/v1/partners/P-200/contacts", map[string]any{
		"default": map[string]any{"email": "sales@northwind-tw.example", "name": "Northwind 台灣", "locale": "zh-Hant", "time_zone": "Asia/Taipei"}})
	e.must(200, "PUT", "/v1/partners/P-200/preferences", map[string]any{"preferred_email": "ops@northwind-tw.example"})
	e.must(200, "PUT", "/v1/partners/P-300/contacts", map[string]any{
		"default": map[string]any{"email": "prodazhi@litware-ru.example", "locale": "ru", "time_zone": "Europe/Moscow"}})
	e.must(200, "PUT", "/v1/partners/P-400/contacts", map[string]any{
		"default":   map[string]any{"email": "pipeline@adatum-us.example", "locale": "en"},
		"locations": map[string]any{"seattle": map[string]any{"email": "sea@adatum-us.example", "locale": "en"}}})
	tests := []struct {
		id, partner, location, rcpt, subjectWord string
	}{
		{"L-LOC", "P-100", "osaka", "osaka-sales@fabrikam-jp.example", "リード"},
		{"L-DEF", "P-100", "kyoto", "leads@fabrikam-jp.example", "リード"},
		{"L-PREF", "P-200", "taipei", "ops@northwind-tw.example", "潛在客戶"},
		{"L-RU", "P-300", "", "prodazhi@litware-ru.example", "лид"},
		{"L-EN", "P-400", "seattle", "sea@adatum-us.example", "lead"},
	}
	for _, tt := range tests {
		e.must(201, "POST", "/v1/leads", lead(tt.id, func(l map[string]any) { l["partner_id"], l["location"] = tt.partner, tt.location }))
	}
	e.must(201, "POST", "/v1/leads", lead("L-NONE", func(l map[string]any) { l["partner_id"] = "P-999" }))
	mails := e.settle(len(tests))
	for _, tt := range tests {
		got := mailsTo(t, e.smtp.Mails(), tt.rcpt)
		if len(got) != 1 || !strings.Contains(got[0].MessageID, tt.id) {
			t.Errorf("%s: %d emails to %s, want one about it (all: %d)", tt.id, len(got), tt.rcpt, len(mails))
			continue
		}
		if !strings.Contains(strings.ToLower(got[0].Subject), strings.ToLower(tt.subjectWord)) {
			t.Errorf("%s: subject %q is not in the recipient's language (want %q)", tt.id, got[0].Subject, tt.subjectWord)
		}
	}
	n, _ := e.must(200, "GET", "/v1/leads/L-NONE", nil)["notification"].(map[string]any)
	if msg, _ := n["error"].(string); !strings.Contains(msg, "no recipient") {
		t.Fatalf("lead without recipient: notification %v", n)
	}
}

// TestEmailsStateTheConfiguredPeriods: the periods emails mention follow
// the configuration, not the defaults.
func TestEmailsStateTheConfiguredPeriods(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_EXPIRE_AFTER", "7d", "LEADWORKER_CONTACT_ALERT_AFTER", "48h")
	e.must(200, "PUT", "/v1/partners/P-400/contacts", map[string]any{"default": map[string]any{"email": "pipeline@adatum-us.example", "locale": "en"}})
	e.must(201, "POST", "/v1/leads", lead("L-P", func(l map[string]any) { l["partner_id"] = "P-400" }))
	m := e.settle(1)[0]
	for _, want := range []string{"7 days", "48 hours"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("email does not say %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "14 days") || strings.Contains(m.Text, "72 hours") {
		t.Errorf("email states the default periods:\n%s", m.Text)
	}
}
