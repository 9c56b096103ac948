//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// testSMTPDown posts 3,000 leads over about 40 s while the mail server is
// down for 30 s of it: 15 s answering every transaction with 451 (a
// temporary failure), then 15 s refusing connections. The daemons retry
// with backoff; once the server is back every accepted lead is announced
// exactly once.
func testSMTPDown(t *testing.T, bin string) {
	const (
		leads     = 3000
		tempFail  = 15 * time.Second
		refused   = 15 * time.Second
		threshold = 100
	)
	r := newRig(t, bin, map[string]string{"LEADWORKER_DIGEST_THRESHOLD": fmt.Sprint(threshold)})
	partners := manyPartners("SD", 20)
	for _, p := range partners {
		r.putPartner(t, p)
	}
	in := newIntake()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	done := r.load(ctx, in, chunk(pastDayLeads("SD", leads, partners), 75), 1, time.Second)

	time.Sleep(5 * time.Second)
	inBefore, mailsBefore := in.count(), r.mail.count()
	r.sink.TempFail(true)
	downAt := time.Now()
	time.Sleep(tempFail)
	r.sink.Stop()
	time.Sleep(refused)
	mailsDuring, inDuring := r.mail.count()-mailsBefore, in.count()-inBefore
	r.sink.TempFail(false)
	r.sink.Restart()
	backAt := time.Now()
	if err := <-done; err != nil {
		t.Fatalf("load: %v\n%s", err, r.logs())
	}
	settled := r.waitSettled(t, in.ids, 4*time.Minute, recoveryStall)
	o := r.mail.outcome(in.ids())
	records, odd := r.checkRecords(t, partners, in.ids())
	for _, s := range append(odd, r.mail.problems()...) {
		t.Errorf("%s", s)
	}
	q, _ := r.queues(ctx, 0)
	retried := r.metric(ctx, "leadworker_emails_retried_total")
	report(t, "SMTP sink down for 30 s during load (4xx, then connection refused)", o, 0,
		fmt.Sprintf("sink answered 451 for %s, then refused connections for %s (down %s in all)",
			secs(tempFail), secs(refused), secs(backAt.Sub(downAt))),
		fmt.Sprintf("%d leads taken in while it was down, %d emails accepted meanwhile", inDuring, mailsDuring),
		fmt.Sprintf("%.0f sends retried (leadworker_emails_retried_total)", retried),
		fmt.Sprintf("backlog delivered %s after the sink came back", secs(settled.Sub(backAt))),
		fmt.Sprintf("%d individual emails, %d digests (threshold %d)", o.individual, o.digests, threshold),
		"intake: "+in.summary(), records, fmt.Sprintf("archived tasks %d", q.archived),
		fmt.Sprintf("whole scenario %s", secs(time.Since(start))))
}

// testSMTPReject makes the sink refuse one location contact of partner
// P-5X-LOC permanently (550) while leads flow to it, to its other location
// and to four other partners. The refused location's leads must reach the
// partner's default contact, each once; everyone else's leads are
// announced to their own contact as usual. With the default threshold of
// 10 per recipient and day, 40 leads per location exercise both the
// individual emails and the digest.
func testSMTPReject(t *testing.T, bin string) {
	const perGroup = 40
	r := newRig(t, bin, nil)
	loc := partner{id: "P-5X-LOC", email: "default@p-5x-loc.chaos.example", tz: "UTC",
		locations: map[string]string{"tokyo": "tokyo@p-5x-loc.chaos.example", "osaka": "osaka@p-5x-loc.chaos.example"}}
	partners := append(manyPartners("5X", 4), loc)
	for _, p := range partners {
		r.putPartner(t, p)
	}
	refused := loc.locations["tokyo"]
	r.sink.Reject(refused)

	var all []spec
	want := map[string]string{} // lead → the only recipient its announcement may go to
	for g, p := range partners[:len(partners)-1] {
		for _, s := range pastDayLeads(fmt.Sprintf("5X%d", g), perGroup, []partner{p}) {
			all, want[s.id] = append(all, s), p.email
		}
	}
	for _, location := range []string{"tokyo", "osaka"} {
		rcpt := loc.locations[location]
		if location == "tokyo" {
			rcpt = loc.email // refused: the default contact instead
		}
		for _, s := range pastDayLeads("5X-"+strings.ToUpper(location), perGroup, []partner{loc}) {
			s.location = location
			all, want[s.id] = append(all, s), rcpt
		}
	}
	in := newIntake()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	if err := <-r.load(ctx, in, chunk(all, 100), 2, 0); err != nil {
		t.Fatalf("load: %v\n%s", err, r.logs())
	}
	r.waitSettled(t, in.ids, 3*time.Minute, 30*time.Second)
	o := r.mail.outcome(in.ids())
	for _, s := range r.mail.problems() {
		t.Errorf("%s", s)
	}
	fallback := checkRecipients(t, r, want, refused)
	failed := r.metric(ctx, "leadworker_emails_failed_total", `reason="permanent"`)
	report(t, "SMTP sink answering 5xx for one recipient", o, 0,
		fmt.Sprintf("%s refused with 550; its %d leads went to the default contact: %s", refused, perGroup, fallback),
		fmt.Sprintf("%.0f permanent failures counted by the daemons", failed),
		fmt.Sprintf("%d individual emails, %d digests (threshold 10)", o.individual, o.digests),
		fmt.Sprintf("whole scenario %s", secs(time.Since(start))))
}

// checkRecipients fails the test for every announcement addressed to
// someone other than its lead's expected recipient, and for every lead of
// the refused location whose own record does not name the default contact;
// it describes how those leads were announced.
func checkRecipients(t *testing.T, r *rig, want map[string]string, refused string) string {
	t.Helper()
	kinds := map[string]int{} // how the refused location's leads went out
	var misdirected, unsent []string
	for id, msgs := range r.mail.byLead(announcing...) {
		for _, m := range msgs {
			if len(m.to) != 1 || !strings.EqualFold(m.to[0], want[id]) {
				misdirected = append(misdirected, fmt.Sprintf("%s to %v by %s, want %s", id, m.to, m.id, want[id]))
			}
			if isRefused(id) {
				kinds[m.kind]++
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if !isRefused(id) {
			continue
		}
		l, err := r.getLead(context.Background(), 0, id)
		if err != nil {
			t.Fatal(err)
		}
		if n := l.Notification; n == nil || n.SentAt == nil || n.Error != "" || !strings.EqualFold(n.Recipient, want[id]) {
			unsent = append(unsent, fmt.Sprintf("%s: %+v", id, n))
		}
	}
	if len(misdirected) > 0 {
		t.Errorf("%d announcements went to the wrong recipient: %v", len(misdirected), misdirected)
	}
	if len(unsent) > 0 {
		t.Errorf("%d leads of the refused location contact %s do not record a notification sent to the default contact; the first: %v",
			len(unsent), refused, unsent[:min(3, len(unsent))])
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, fmt.Sprintf("%d by %s", kinds[k], k))
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	return fmt.Sprintf("%s; %d announcements misdirected", strings.Join(parts, ", "), len(misdirected))
}

// isRefused reports whether a lead of testSMTPReject is for the refused
// location.
func isRefused(id string) bool { return strings.HasPrefix(id, "5X-TOKYO") }
