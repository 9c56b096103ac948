//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// testKill posts 10,000 leads through both replicas and, once 4,000 are
// in, kills replica-2 with SIGKILL — no drain, its in-flight requests,
// tasks and SMTP transactions cut short — and starts it again 5 s later.
// Every accepted lead must be announced in exactly one email. The only
// copies allowed are the documented gap (docs/DELIVERY.md): an
// email the sink accepted before the kill whose sent marker the killed
// process had not written yet goes out once more, with the same
// Message-ID. Such copies are counted and reported; a copy of an email
// first accepted after the kill, or a third copy, fails the test.
func testKill(t *testing.T, bin string) {
	const (
		leads     = 10000
		killAt    = 4000
		down      = 5 * time.Second
		threshold = 100
	)
	r := newRig(t, bin, map[string]string{"LEADWORKER_DIGEST_THRESHOLD": fmt.Sprint(threshold)})
	partners := manyPartners("K9", 40)
	for _, p := range partners {
		r.putPartner(t, p)
	}
	in := newIntake()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	done := r.load(ctx, in, chunk(pastDayLeads("K9", leads, partners), 1000), 2, 0)

	waitUntil(t, time.Minute, fmt.Sprintf("%d leads accepted", killAt), func() bool { return in.count() >= killAt })
	victim := r.daemons[1]
	inAtKill, mailsAtKill := in.count(), r.mail.count()
	victim.kill9(t)
	killedAt := time.Now() // the process is gone: whatever the sink accepted later, the others sent
	time.Sleep(down)
	victim.restart(t, r.hc)
	if err := <-done; err != nil {
		t.Fatalf("load: %v\n%s", err, r.logs())
	}
	loaded := time.Since(start)
	settled := r.waitSettled(t, in.ids, 5*time.Minute, recoveryStall)
	o := r.mail.outcome(in.ids())
	records, odd := r.checkRecords(t, partners, in.ids())
	for _, s := range append(odd, r.mail.problems()...) {
		t.Errorf("%s", s)
	}
	q, _ := r.queues(ctx, 0)
	before, after, span := r.mail.resentAround(killedAt)
	if len(after) > 0 {
		t.Errorf("%d emails first accepted after the kill (%s) came again: %v", len(after), killedAt.UTC().Format("15:04:05.000"), after)
	}
	for _, m := range r.mail.messages(announcing...) {
		if m.copies > 2 {
			t.Errorf("%s came %d times", m.id, m.copies)
		}
	}
	report(t, "kill -9 of a replica during a 10,000-lead load, then restart", o, before,
		fmt.Sprintf("replica-2 killed %s into the load with %d leads in and %d emails sent, restarted %s later",
			secs(killedAt.Sub(start)), inAtKill, mailsAtKill, secs(down)),
		fmt.Sprintf("emails sent again with the same Message-ID: %d first accepted before the kill, %d after; the copies came %s after the kill",
			before, len(after), span),
		"intake: "+in.summary(),
		fmt.Sprintf("all leads in after %s, all announced %s after the start", secs(loaded), secs(settled.Sub(start))),
		fmt.Sprintf("%d individual emails, %d digests (threshold %d)", o.individual, o.digests, threshold),
		records, fmt.Sprintf("archived tasks %d", q.archived))
}
