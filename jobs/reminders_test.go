package jobs_test

import (
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/jobs"
)

// TestRemindersFirstAfterADayAndExpiryBeforeTheDeadlineEachOnce checks the
// reminders job: the first reminder once a lead is RemindAfter (24 h) old,
// the expiry reminder RemindBefore (48 h) before its deadline (a lead
// already that old gets only this one), none for answered or informational
// leads, and each once: a later run reminds nobody again, and the handler
// emails each reminder once to the lead's recipient, recorded with a feed
// entry. Eleven days on, the leads reach their next stage.
func TestRemindersFirstAfterADayAndExpiryBeforeTheDeadlineEachOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	day := 24 * time.Hour
	e.create("L-DAY", createdAt(t0.Add(-day)))
	e.create("L-FRESH", createdAt(t0.Add(-23*time.Hour)))
	e.create("L-12D", createdAt(t0.Add(-12*day)))
	e.create("L-ANSWERED", createdAt(t0.Add(-25*time.Hour)))
	e.create("L-INFO", createdAt(t0.Add(-2*day)), informational)
	e.accept("L-ANSWERED")

	changes := e.run(tasks.JobReminders, t0, false)
	e.wantChanges("reminders", changes, "reminder L-DAY first", "reminder L-12D expiry")
	e.wantChanges("reminders a minute later", e.run(tasks.JobReminders, t0.Add(time.Minute), false))
	e.sendReminders(changes)
	e.sendReminders(changes)
	e.wantMails(
		mail{To: tokyoContact, ID: msgID("lead-L-DAY.reminder-first"), Subject: "🔥 Reminder: lead from Contoso Ltd (L-DAY) is waiting for your answer"},
		mail{To: tokyoContact, ID: msgID("lead-L-12D.reminder-expiry"), Subject: "🔥 Lead L-12D from Contoso Ltd expires on 2091-03-13 22:00 UTC"})
	e.wantReminder("L-DAY", tasks.StageFirst, "sent")
	e.wantReminder("L-12D", tasks.StageExpiry, "sent")
	e.wantFeed("P-100", entry{typ: leadworker.FeedReminder, ids: "L-12D", rcpt: tokyoContact},
		entry{typ: leadworker.FeedReminder, ids: "L-DAY", rcpt: tokyoContact})

	e.wantChanges("reminders 11 days later", e.run(tasks.JobReminders, t0.Add(11*day), false),
		"reminder L-DAY expiry", "reminder L-FRESH first")
}

// sendReminders runs the reminder task of each change, as the queue would.
func (e *env) sendReminders(changes []jobs.Change) {
	e.t.Helper()
	for _, c := range changes {
		if err := e.reminder(c.LeadID, c.Detail); err != nil {
			e.t.Fatalf("reminder %s %s: %v", c.LeadID, c.Detail, err)
		}
	}
}

// wantReminder checks how a lead's reminder of a stage ended.
func (e *env) wantReminder(id, stage, want string) {
	e.t.Helper()
	if got, err := e.store.ReminderState(e.ctx, id, stage); err != nil || got != want {
		e.t.Fatalf("%s %s reminder %q (%v), want %q", id, stage, got, err, want)
	}
}

// TestReminderOfAnsweredLeadIsDropped checks that a reminder whose lead was
// answered after the job queued it is dropped, never sent, and recorded
// as dropped, once.
func TestReminderOfAnsweredLeadIsDropped(t *testing.T) {
	t.Parallel()
	for name, answer := range map[string]func(*env, string){"accepted": (*env).accept, "declined": (*env).decline} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.create("L-1", createdAt(t0.Add(-25*time.Hour)))
			changes := e.run(tasks.JobReminders, t0, false)
			e.wantChanges("reminders", changes, "reminder L-1 first")
			answer(e, "L-1")
			e.sendReminders(changes)
			e.sendReminders(changes)
			e.wantMails()
			e.wantReminder("L-1", tasks.StageFirst, "dropped")
			e.wantFeed("P-100")
		})
	}
}

// TestReminderFollowsTheFallbackToTheDefaultContact checks that once a
// lead's location contact refused it, its reminders go to the partner's
// default contact, as its announcement did.
func TestReminderFollowsTheFallbackToTheDefaultContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-1", createdAt(t0.Add(-25*time.Hour)))
	e.mail.Refuse(tokyoContact)
	e.mustNotify("L-1")
	e.sendReminders(e.run(tasks.JobReminders, t0, false))
	e.wantMails(mail{To: defaultContact, ID: msgID("lead-L-1.new.default")}, mail{To: defaultContact, ID: msgID("lead-L-1.reminder-first")})
	e.wantReminder("L-1", tasks.StageFirst, "sent")
}

// TestReminderTaskForAnInformationalLeadIsDropped checks a reminder task
// enqueued by hand for an informational offer lead, which needs no answer:
// nothing is sent and the reminder is recorded as dropped.
func TestReminderTaskForAnInformationalLeadIsDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-INFO", informational, createdAt(t0.Add(-25*time.Hour)))
	if err := e.reminder("L-INFO", tasks.StageFirst); err != nil {
		t.Fatal(err)
	}
	e.wantMails()
	e.wantReminder("L-INFO", tasks.StageFirst, "dropped")
}
