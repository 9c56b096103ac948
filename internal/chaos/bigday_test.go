//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// testBigDay posts 5,010 leads for one recipient on one day to a sink that
// takes messages of at most 10 MiB, as Postfix's default does (SIZE in
// EHLO, 552 past it). The first 10 go out one by one, the other 5,000 in
// digest parts of at most LEADWORKER_DIGEST_MAX_LEADS (200): every lead
// in exactly one email, none lost, no part refused.
func testBigDay(t *testing.T, bin string) {
	const leads = 5010
	r := newRig(t, bin, nil)
	partners := manyPartners("BD", 1)
	r.putPartner(t, partners[0])
	in := newIntake()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	if err := <-r.load(ctx, in, chunk(pastDayLeads("BD", leads, partners), 1000), 2, 0); err != nil {
		t.Fatalf("load: %v\n%s", err, r.logs())
	}
	settled := r.waitSettled(t, in.ids, 5*time.Minute, recoveryStall)
	o := r.mail.outcome(in.ids())
	records, odd := r.checkRecords(t, partners, in.ids())
	for _, s := range append(odd, r.mail.problems()...) {
		t.Errorf("%s", s)
	}
	if o.lost != 0 || o.duplicated != 0 || o.individual != 10 {
		t.Errorf("%d lost, %d in two emails, %d alone; want 0, 0 and 10", o.lost, o.duplicated, o.individual)
	}
	largest := 0
	for _, m := range r.sink.Mails() {
		largest = max(largest, len(m.Data))
	}
	tooLarge := r.metric(ctx, "leadworker_emails_failed_total", `reason="too_large"`)
	report(t, "one recipient with 5,010 leads in a day, to a 10 MiB server", o, 0,
		fmt.Sprintf("%d individual emails, %d digest parts; the largest email %.0f KiB; %.0f refused as too large",
			o.individual, o.digests, float64(largest)/1024, tooLarge),
		"intake: "+in.summary(), records,
		fmt.Sprintf("all announced %s after the start", secs(settled.Sub(start))))
}
