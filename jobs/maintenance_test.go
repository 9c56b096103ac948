package jobs_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// expireCutoff is the latest creation time the expire job at t0 expires.
var expireCutoff = t0.Add(-maintenanceConfig.ExpireAfter)

// TestExpireArchivesDueLeadsAndQueuesTheirNotices checks that the expire
// job archives every received lead created by the cutoff as expired,
// erases its customer's contact data, reports who gets its closing notice
// and queues one closing-notice batch task, whose run tells the customer
// and the originator at the kept addresses, each once. A second run
// changes nothing.
func TestExpireArchivesDueLeadsAndQueuesTheirNotices(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t)
	e.create("L-DUE", createdAt(expireCutoff))
	e.create("L-QUAL", createdAt(expireCutoff.Add(-time.Hour)), qualified)
	e.create("L-NOADDR", createdAt(expireCutoff.Add(-2*time.Hour)), noCustomerEmail)
	e.wantChanges("expire", e.run("expire", t0, false), "expire L-DUE closing notice to the customer",
		"expire L-QUAL closing notice to the originator", "expire L-NOADDR closing notice to nobody (no address)")
	e.wantExpired("L-DUE")

	batch := e.onlyTask(tasks.QueueMail)
	var p tasks.ClosingBatchPayload
	if err := json.Unmarshal(e.task(tasks.QueueMail, batch).Payload, &p); err != nil || batch != tasks.ClosingBatchID(p.Batch) ||
		fmt.Sprint(p.LeadIDs) != "[L-NOADDR L-QUAL L-DUE]" {
		t.Fatalf("closing notice task %s: %+v (%v), want the batch of the three leads", batch, p, err)
	}
	e.wantPending(batch, "notify:L-DUE", "notify:L-QUAL", "notify:L-NOADDR")
	for range 2 {
		if err := e.runQueued(tasks.QueueMail, batch); err != nil {
			t.Fatal(err)
		}
	}
	e.wantMails(mail{To: customerEmail, ID: msgID("lead-L-DUE.closing")}, mail{To: originatorMail, ID: msgID("lead-L-QUAL.closing")})
	e.wantNotice("L-DUE", "sent")
	e.wantNotice("L-NOADDR", "no_recipient")
	e.wantPending("notify:L-DUE", "notify:L-QUAL", "notify:L-NOADDR")
	e.wantChanges("second expire", e.run("expire", t0.Add(time.Minute), false))
}

// wantExpired checks an expired lead as a client sees it.
func (e *env) wantExpired(id string) {
	e.t.Helper()
	l := e.lead(id)
	want := leadworker.Customer{Company: "Contoso Ltd", Country: "US"}
	if l.Status != leadworker.StatusArchived || l.Outcome != leadworker.OutcomeExpired || l.ArchivedAt == nil ||
		!l.ArchivedAt.Equal(e.clock.Now()) || l.Alert != leadworker.AlertNone || l.Customer != want {
		e.t.Fatalf("%s: %s/%s archived at %v, alert %s, customer %+v; want archived/expired at %v, no alert, customer %+v",
			id, l.Status, l.Outcome, l.ArchivedAt, l.Alert, l.Customer, e.clock.Now(), want)
	}
}

// onlyTask returns the id of the one task in a queue.
func (e *env) onlyTask(queue string) string {
	e.t.Helper()
	ids := e.queued(queue)
	if len(ids) != 1 {
		e.t.Fatalf("queue %s holds %v, want one task", queue, ids)
	}
	return ids[0]
}

// TestExpireLeavesOtherLeadsAlone checks that the expire job changes no
// lead that is young (a second past the cutoff), answered (accepted or
// declined) or informational, however old.
func TestExpireLeavesOtherLeadsAlone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old := createdAt(expireCutoff.Add(-24 * time.Hour))
	e.create("L-YOUNG", createdAt(expireCutoff.Add(time.Second)))
	e.create("L-ACC", old)
	e.create("L-DEC", old)
	e.create("L-INFO", old, informational)
	e.accept("L-ACC")
	e.decline("L-DEC")
	ids := []string{"L-YOUNG", "L-ACC", "L-DEC", "L-INFO"}
	before := e.leads(ids...)
	e.wantChanges("expire", e.run("expire", t0, false))
	if after := e.leads(ids...); !reflect.DeepEqual(after, before) {
		t.Fatalf("expire changed leads it must leave alone:\nbefore %s\nafter  %s", jsonOf(before), jsonOf(after))
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestArchiveOffersUsesCalendarMonths checks the six-month rule of
// informational offer leads at the boundaries OfferCutoff documents: a lead
// created on 30 May at 10:00 goes on 30 November at 10:00, one created on
// 31 May at 10:00 on 1 December at 00:00; the lead is archived without an
// outcome, and a contact_me offer lead is never archived by this job.
func TestArchiveOffersUsesCalendarMonths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	utc := func(month time.Month, day, hour, minute, sec int) time.Time {
		return time.Date(2091, month, day, hour, minute, sec, 0, time.UTC)
	}
	e.clock.Set(utc(11, 1, 0, 0, 0))
	e.create("L-MAY30", createdAt(utc(5, 30, 10, 0, 0)), informational)
	e.create("L-MAY31", createdAt(utc(5, 31, 10, 0, 0)), informational)
	e.create("L-CONTACT", createdAt(utc(1, 1, 0, 0, 0)))
	tests := []struct {
		at     time.Time
		cutoff time.Time
		want   []string
	}{
		{utc(11, 30, 9, 59, 59), utc(5, 30, 9, 59, 59), nil},
		{utc(11, 30, 10, 0, 0), utc(5, 30, 10, 0, 0), []string{"archive L-MAY30"}},
		{utc(11, 30, 23, 59, 59), utc(5, 30, 23, 59, 59), nil},                 // still before 31 May 10:00
		{utc(12, 1, 0, 0, 0), utc(6, 1, 0, 0, 0), []string{"archive L-MAY31"}}, // 31 November does not exist
	}
	for _, tt := range tests {
		if got := e.maint.OfferCutoff(tt.at.In(tokyo)); !got.Equal(tt.cutoff) || got.Location() != time.UTC {
			t.Fatalf("OfferCutoff(%s) = %s, want %s UTC", tt.at, got, tt.cutoff)
		}
		e.wantChanges("archive-offers at "+tt.at.String(), e.run(tasks.JobArchiveOffers, tt.at, false), tt.want...)
	}
	if l := e.lead("L-MAY31"); l.Status != leadworker.StatusArchived || l.Outcome != "" || l.ArchivedAt == nil || !l.ArchivedAt.Equal(utc(12, 1, 0, 0, 0)) {
		t.Fatalf("archived offer lead: %s/%q archived at %v", l.Status, l.Outcome, l.ArchivedAt)
	}
	if l := e.lead("L-CONTACT"); l.Status != leadworker.StatusReceived {
		t.Fatalf("the offer job archived a contact_me offer lead: %s", l.Status)
	}
}

// TestContactAlertTurnsOverdueAfterAlertAfter checks that the contact
// alert of a lead whose customer asked to be contacted turns overdue once
// the lead is AlertAfter (72 h) old, accepted leads included, and not a
// second earlier; declined leads and leads without a contact request have
// no alert to switch.
func TestContactAlertTurnsOverdueAfterAlertAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alertAt := t0.Add(-maintenanceConfig.AlertAfter)
	e.create("L-72", createdAt(alertAt))
	e.create("L-71", createdAt(alertAt.Add(time.Second)))
	e.create("L-ACC", createdAt(alertAt.Add(-8*time.Hour)))
	e.create("L-DEC", createdAt(alertAt.Add(-8*time.Hour)))
	e.create("L-QUIET", createdAt(alertAt.Add(-8*time.Hour)), noContactRequest)
	e.accept("L-ACC")
	e.decline("L-DEC")
	e.wantChanges("contact-alerts", e.run(tasks.JobContactAlerts, t0, false), "alert L-72 contact_me_overdue", "alert L-ACC contact_me_overdue")
	e.wantAlerts(map[string]leadworker.Alert{"L-72": leadworker.AlertContactMeOverdue, "L-71": leadworker.AlertContactMe,
		"L-ACC": leadworker.AlertContactMeOverdue, "L-DEC": leadworker.AlertNone, "L-QUIET": leadworker.AlertNone})
	e.wantChanges("contact-alerts a second later", e.run(tasks.JobContactAlerts, t0.Add(time.Second), false), "alert L-71 contact_me_overdue")
	e.wantChanges("contact-alerts again", e.run(tasks.JobContactAlerts, t0.Add(time.Minute), false))
}

func (e *env) wantAlerts(want map[string]leadworker.Alert) {
	e.t.Helper()
	for id, alert := range want {
		if got := e.lead(id).Alert; got != alert {
			e.t.Errorf("%s alert %s, want %s", id, got, alert)
		}
	}
}

// TestDryRunChangesNothingAndReportsTheRunsChanges checks, for every
// maintenance job on a mix of leads, that a dry run leaves Redis exactly
// as it was (leads, indexes, pending work, feeds and asynq's queues) and
// reports exactly the changes the real run then makes.
func TestDryRunChangesNothingAndReportsTheRunsChanges(t *testing.T) {
	t.Parallel()
	for _, job := range tasks.JobNames {
		t.Run(job, func(t *testing.T) {
			t.Parallel()
			e := newQueueEnv(t)
			e.seedMix()
			before := e.dump()
			dry := changeList(e.run(job, t0, true))
			if after := e.dump(); after != before {
				t.Fatalf("the dry run changed Redis:\n%s", diffLines(before, after))
			}
			real := changeList(e.run(job, t0, false))
			if !slices.Equal(dry, real) {
				t.Fatalf("the dry run reported\n  %s\nthe run did\n  %s", strings.Join(dry, "\n  "), strings.Join(real, "\n  "))
			}
			if len(real) == 0 {
				t.Fatal("the run changed nothing: the mix has nothing for this job")
			}
		})
	}
}

// seedMix stores leads that give every job work at t0: due and young
// leads, answered ones, informational offers old and new, leads reminded
// once already, a digest past its time and pending work whose task is lost.
func (e *env) seedMix() {
	e.t.Helper()
	day := 24 * time.Hour
	e.clock.Set(t0.Add(-5 * day))
	e.create("L-R2ND", createdAt(t0.Add(-12*day-time.Hour))) // reminded once, five days ago
	e.run(tasks.JobReminders, t0.Add(-5*day), false)
	e.clock.Set(t0.Add(-10 * time.Minute))
	for i, age := range []time.Duration{15 * day, 20 * day, 13 * day, 12*day + time.Hour, 25 * time.Hour, 73 * time.Hour, 2 * time.Hour} {
		e.create(fmt.Sprintf("L-AGE-%d", i), createdAt(t0.Add(-age)))
	}
	e.create("L-QUAL", createdAt(t0.Add(-16*day)), qualified)
	e.create("L-NOADDR", createdAt(t0.Add(-17*day)), noCustomerEmail)
	e.create("L-INFO-OLD", createdAt(t0.AddDate(0, -7, 0)), informational)
	e.create("L-INFO-NEW", createdAt(t0.AddDate(0, -5, 0)), informational)
	e.create("L-ACC", createdAt(t0.Add(-4*day)))
	e.create("L-DEC", createdAt(t0.Add(-5*day)))
	e.accept("L-ACC")
	e.decline("L-DEC")
	e.store.CreateBatch(e.ctx, []leadworker.Intake{e.intake("L-BATCH-1", createdAt(t0.Add(-3*time.Hour))), e.intake("L-BATCH-2", createdAt(t0.Add(-3*time.Hour)))})
	for i := range 3 { // the third joins the digest of 9 March, whose time has passed
		id := fmt.Sprintf("L-DIGEST-%d", i)
		e.create(id, createdAt(jst("2091-03-09", 10, i)), forPartner("P-100", "osaka"))
		e.mustNotify(id)
	}
	e.clock.Set(t0)
}

// diffLines lists the lines only one of two dumps has.
func diffLines(before, after string) string {
	a, b := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestHandleMaintenanceRunsTheJobAndRecordsTheRun checks the scheduled
// path: the maintenance task runs its job as of the clock and records the
// run with its tick, time and number of changes.
func TestHandleMaintenanceRunsTheJobAndRecordsTheRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-DUE", createdAt(expireCutoff))
	tick := t0.Add(-time.Second)
	if err := e.handle(tasks.TypeMaintenance, tasks.MaintenancePayload{Job: tasks.JobExpire, Tick: tick}); err != nil {
		t.Fatal(err)
	}
	e.wantExpired("L-DUE")
	runs, err := e.store.Runs(e.ctx, tasks.JobExpire)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || !runs[0].Tick.Equal(tick) || !runs[0].At.Equal(t0) || runs[0].Changes != 1 || runs[0].Host == "" {
		t.Fatalf("recorded runs %+v, want one at %s for tick %s with 1 change", runs, t0, tick)
	}
}

// TestHandleMaintenanceSkipsWhileTheJobRuns checks that a maintenance task
// that finds the job's lock taken (its previous run still going) does
// nothing, records no run and does not fail.
func TestHandleMaintenanceSkipsWhileTheJobRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-DUE", createdAt(expireCutoff))
	unlock, err := e.store.Lock(e.ctx, "maintenance:"+tasks.JobExpire, time.Minute)
	if err != nil || unlock == nil {
		t.Fatalf("take the job's lock: %v", err)
	}
	defer unlock()
	if err := e.handle(tasks.TypeMaintenance, tasks.MaintenancePayload{Job: tasks.JobExpire, Tick: t0}); err != nil {
		t.Fatal(err)
	}
	if l := e.lead("L-DUE"); l.Status != leadworker.StatusReceived {
		t.Fatalf("lead %s while the job was locked", l.Status)
	}
	if runs, err := e.store.Runs(e.ctx, tasks.JobExpire); err != nil || len(runs) != 0 {
		t.Fatalf("recorded runs %+v (%v), want none", runs, err)
	}
}
