//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

// stages counts, for one lead, the distinct reminders and closing notices
// it got.
type stages struct{ first, expiry, closing int }

// jumpGroup is one partner's leads in testClockJump, created so long before
// the deadline that one kind of work falls due while the daemons are down.
type jumpGroup struct {
	tag     string        // partner P-CJ-<tag>, leads CJ-<tag>-…
	n       int           // how many leads
	age     time.Duration // age of the leads at the deadline
	contact bool          // contact_requested
	due     string        // what falls due during the outage
	pre     stages        // sent before the outage, for each lead
	want    stages        // sent over the whole scenario, for each lead
	status  string        // after the restart
	outcome string
	alert   string
	ids     []string
}

// jumpGroups are the leads of testClockJump. At the deadline the first
// group reaches 14 days (expiry), the second 12 days (the reminder 2 days
// before expiry), the third and fourth 24 hours (the first reminder; the
// fourth also has 15 leads past the threshold of 10 waiting for the digest
// due at the deadline), the fifth 72 hours (the contact alert turns
// overdue). The groups were old enough for their earlier stages when they
// were posted: those are sent before the outage.
func jumpGroups() []*jumpGroup {
	return []*jumpGroup{
		{tag: "EXP", n: 10, age: 14 * day, due: "expiry + closing notice", pre: stages{expiry: 1}, want: stages{expiry: 1, closing: 1},
			status: "archived", outcome: "expired", alert: "none"},
		{tag: "EXR", n: 10, age: 12 * day, due: "expiry reminder", pre: stages{first: 1}, want: stages{first: 1, expiry: 1},
			status: "received", alert: "none"},
		{tag: "REM", n: 10, age: day, due: "first reminder", want: stages{first: 1}, status: "received", alert: "none"},
		{tag: "DIG", n: 25, age: day, due: "first reminder + digest of the 15 past the threshold", want: stages{first: 1},
			status: "received", alert: "none"},
		{tag: "ALR", n: 5, age: 3 * day, contact: true, due: "contact alert overdue", pre: stages{first: 1}, want: stages{first: 1},
			status: "received", alert: "contact_me_overdue"},
	}
}

// testClockJump stops both daemons and starts them again after every
// kind of deadline has passed while they were down: expiry (14 days),
// both reminders (24 hours, 12 days), the contact alert (72 hours) and a
// digest's send time. A real process cannot be handed a fake clock, so the
// leads are created that long before a deadline a minute or so ahead
// (LEADWORKER_DIGEST_AT is set to that minute), posted to the running
// daemons, which send what is already due; the daemons are stopped before
// the deadline and started after it. Each overdue expiry, reminder and
// digest must then happen exactly once, and more maintenance runs must
// send nothing more.
func testClockJump(t *testing.T, bin string) {
	earliest := time.Now().UTC().Add(25 * time.Second)
	deadline := earliest.Truncate(time.Minute)
	if deadline.Before(earliest) {
		deadline = deadline.Add(time.Minute)
	}
	if deadline.Hour() == 0 && deadline.Minute() == 0 {
		deadline = deadline.Add(time.Minute) // keep the digest leads on the previous day
	}
	r := newRig(t, bin, map[string]string{"LEADWORKER_DIGEST_AT": deadline.Format("15:04"),
		"LEADWORKER_REMIND_AFTER": "24h", "LEADWORKER_REMIND_BEFORE_EXPIRY": "48h"})
	groups := jumpGroups()
	var all []spec
	for _, g := range groups {
		p := partner{id: "P-CJ-" + g.tag, email: "p-cj-" + strings.ToLower(g.tag) + "@partners.chaos.example", tz: "UTC"}
		r.putPartner(t, p)
		for i := range g.n {
			s := spec{id: fmt.Sprintf("CJ-%s-%02d", g.tag, i), partner: p.id, contact: g.contact,
				created: deadline.Add(-g.age - time.Duration(i)*300*time.Millisecond)}
			all, g.ids = append(all, s), append(g.ids, s.id)
		}
	}
	firstDue := deadline.Add(-8 * time.Second) // the youngest lead's deadline, with a margin

	in := newIntake()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := <-r.load(ctx, in, [][]spec{all}, 1, 0); err != nil {
		t.Fatalf("intake: %v", err)
	}
	waitUntil(t, time.Until(firstDue), "announcements and reminders due before the outage", func() bool {
		return r.mail.outcome(in.ids()).announced == len(all)-15 && reached(r.mail, groups, func(g *jumpGroup) stages { return g.pre })
	})
	time.Sleep(2 * time.Second) // anything sent early would show now
	checkBeforeOutage(t, r, groups, len(all)-15)
	for _, d := range r.daemons {
		d.stop(t)
	}
	stoppedAt := time.Now()
	if stoppedAt.After(firstDue) {
		t.Fatalf("the daemons stopped %v after the first deadline; the scenario needs them down before it", stoppedAt.Sub(firstDue))
	}

	time.Sleep(time.Until(deadline.Add(3 * time.Second)))
	for _, d := range r.daemons {
		d.restart(t, r.hc)
	}
	upAt := time.Now()
	waitUntil(t, 2*time.Minute, "overdue work done after the restart", func() bool {
		return r.mail.allAnnounced(in.ids()) && reached(r.mail, groups, func(g *jumpGroup) stages { return g.want })
	})
	doneAfter := time.Since(upAt)
	waitStates(t, r, groups)
	sent := r.mail.count()

	// More maintenance runs, by hand on both replicas and by the cron, must
	// send nothing more.
	again := time.Now()
	for _, job := range []string{"expire", "reminders", "digests", "contact-alerts"} {
		for i := range r.daemons {
			if err := r.runJob(ctx, i, job); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.waitSettled(t, in.ids, time.Minute, 30*time.Second)
	time.Sleep(time.Until(again.Add(6 * time.Second))) // a cron tick of every job, too
	if n := r.mail.count() - sent; n > 0 {
		t.Errorf("%d more emails after the later maintenance runs", n)
	}
	checkStages(t, r.mail, groups)
	o := r.mail.outcome(in.ids())
	for _, s := range r.mail.problems() {
		t.Errorf("%s", s)
	}
	var dues []string
	for _, g := range groups {
		dues = append(dues, fmt.Sprintf("%d × %s", g.n, g.due))
	}
	report(t, "clock jump: daemons down while every deadline passed, then restarted", o, 0,
		fmt.Sprintf("both daemons down %s (stopped %s before the deadline, restarted %s after it)",
			secs(upAt.Sub(stoppedAt)), secs(deadline.Sub(stoppedAt)), secs(upAt.Sub(deadline))),
		"overdue while down: "+strings.Join(dues, ", "),
		fmt.Sprintf("all of it done %s after the restart; over the whole scenario, each once: %s", secs(doneAfter), sentSummary(r.mail)),
		fmt.Sprintf("%d individual emails, %d digest(s)", o.individual, o.digests),
		fmt.Sprintf("maintenance run again by hand on both replicas and by the cron: %d more emails", r.mail.count()-sent))
}

// stagesOf counts every lead's distinct reminders and closing notices.
func stagesOf(m *tally) map[string]stages {
	out := map[string]stages{}
	for kind, set := range map[string]func(*stages, int){
		kindReminderFirst:  func(s *stages, n int) { s.first = n },
		kindReminderExpiry: func(s *stages, n int) { s.expiry = n },
		kindClosing:        func(s *stages, n int) { s.closing = n },
	} {
		for id, msgs := range m.byLead(kind) {
			s := out[id]
			set(&s, len(msgs))
			out[id] = s
		}
	}
	return out
}

// reached reports whether every lead of every group got at least what
// target says.
func reached(m *tally, groups []*jumpGroup, target func(*jumpGroup) stages) bool {
	got := stagesOf(m)
	for _, g := range groups {
		w := target(g)
		for _, id := range g.ids {
			s := got[id]
			if s.first < w.first || s.expiry < w.expiry || s.closing < w.closing {
				return false
			}
		}
	}
	return true
}

// checkBeforeOutage stops the test when something due only during the
// outage was already sent: the scenario would prove nothing.
func checkBeforeOutage(t *testing.T, r *rig, groups []*jumpGroup, announced int) {
	t.Helper()
	got := stagesOf(r.mail)
	for _, g := range groups {
		for _, id := range g.ids {
			if got[id] != g.pre {
				t.Fatalf("before the outage %s got %+v, want %+v", id, got[id], g.pre)
			}
		}
	}
	if o := r.mail.outcome(groupIDs(groups)); o.announced != announced || o.digests != 0 {
		t.Fatalf("before the outage %d leads announced and %d digests sent, want %d and none", o.announced, o.digests, announced)
	}
	l, err := r.getLead(context.Background(), 0, groups[0].ids[0])
	if err != nil || l.Status != "received" {
		t.Fatalf("before the outage %s is %q (%v), want received", groups[0].ids[0], l.Status, err)
	}
}

// groupIDs lists the leads of every group.
func groupIDs(groups []*jumpGroup) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g.ids...)
	}
	return out
}

// waitStates waits until every lead shows the status, outcome and alert of
// its group.
func waitStates(t *testing.T, r *rig, groups []*jumpGroup) {
	t.Helper()
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for {
		last = ""
		for _, g := range groups {
			for _, id := range g.ids {
				l, err := r.getLead(context.Background(), 0, id)
				if err != nil || l.Status != g.status || l.Outcome != g.outcome || l.Alert != g.alert {
					last = fmt.Sprintf("%s: status %q outcome %q alert %q (%v), want %q %q %q",
						id, l.Status, l.Outcome, l.Alert, err, g.status, g.outcome, g.alert)
					break
				}
			}
		}
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart %s", last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkStages fails the test for every lead whose reminders and closing
// notices differ from its group's, and for every copy of one.
func checkStages(t *testing.T, m *tally, groups []*jumpGroup) {
	t.Helper()
	got := stagesOf(m)
	for _, g := range groups {
		for _, id := range g.ids {
			if got[id] != g.want {
				t.Errorf("%s got %+v, want %+v", id, got[id], g.want)
			}
		}
	}
	for _, msg := range m.messages(kindReminderFirst, kindReminderExpiry, kindClosing) {
		if msg.copies > 1 {
			t.Errorf("%s came %d times", msg.id, msg.copies)
		}
	}
}

// sentSummary counts the reminders, closing notices and digests sent.
func sentSummary(m *tally) string {
	var leadsInDigests int
	digests := m.messages(kindDigest, kindDigestFallback)
	for _, d := range digests {
		leadsInDigests += len(d.leads)
	}
	return fmt.Sprintf("%d first reminders, %d expiry reminders, %d closing notices, %d digest(s) listing %d leads",
		len(m.messages(kindReminderFirst)), len(m.messages(kindReminderExpiry)), len(m.messages(kindClosing)),
		len(digests), leadsInDigests)
}
