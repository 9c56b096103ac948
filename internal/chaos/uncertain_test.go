//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadworker/leadworker/internal/testenv"
)

// testUncertainDigest kills both replicas while the sink has accepted a
// three-lead digest but not yet replied, so no process knows it went
// through; a fourth lead of that day arrives before the restart. The retry
// must send the same three leads again under the same Message-ID (the
// documented gap) and the late lead in a further part: no lead in two
// different emails, none lost.
func testUncertainDigest(t *testing.T, bin string) {
	r := newRig(t, bin, nil)
	partners := manyPartners("UD", 1)
	r.putPartner(t, partners[0])
	release := r.sink.HoldReplies(func(m testenv.Mail) bool { return bytes.Contains(m.Data, []byte("Message-Id: <digest-")) })
	defer release()
	in := newIntake()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	leads := pastDayLeads("UD", 13, partners) // 10 alone, 3 in the day's digest
	if err := <-r.load(ctx, in, [][]spec{leads}, 1, 0); err != nil {
		t.Fatalf("load: %v\n%s", err, r.logs())
	}
	waitUntil(t, time.Minute, "the digest accepted", func() bool { return len(r.mail.messages("digest")) == 1 })
	for _, d := range r.daemons {
		d.kill9(t)
	}
	killedAt := time.Now()
	release()
	r.daemons[0].restart(t, r.hc)
	late := spec{id: "UD-LATE", partner: partners[0].id, created: leads[len(leads)-1].created.Add(time.Minute)}
	if err := <-r.load(ctx, in, [][]spec{{late}}, 1, 0); err != nil {
		t.Fatalf("late lead: %v\n%s", err, r.logs())
	}
	r.daemons[1].restart(t, r.hc)
	settled := r.waitSettled(t, in.ids, 6*time.Minute, recoveryStall)
	o := r.mail.outcome(in.ids())
	records, odd := r.checkRecords(t, partners, in.ids())
	for _, s := range append(odd, r.mail.problems()...) {
		t.Errorf("%s", s)
	}
	if o.duplicated != 0 || o.lost != 0 {
		t.Errorf("%d leads in two different emails, %d lost", o.duplicated, o.lost)
	}
	report(t, "both replicas killed between a digest's acceptance and its record, a late lead before the restart", o, 1,
		fmt.Sprintf("killed %s into the scenario with the sink's reply to the digest withheld", secs(killedAt.Sub(start))),
		fmt.Sprintf("%d individual emails, %d digest emails; the same email again: %d", o.individual, o.digests, o.resent),
		"intake: "+in.summary(), records,
		fmt.Sprintf("all announced %s after the start", secs(settled.Sub(start))))
}
