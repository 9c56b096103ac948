package jobs_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestAnnounceAloneGoesToTheResolvedRecipient checks who gets a lead
// emailed on its own: the preferred email over every contact, else the
// contact of the lead's location, else the default contact; in the
// recipient's language, under the lead's stable Message-ID, recorded on the
// lead as sent and in the partner's feed.
func TestAnnounceAloneGoesToTheResolvedRecipient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id, partner, location string
		to, msgID, subject          string
	}{
		{"location contact", "L-LOC", "P-100", "tokyo", tokyoContact, "lead-L-LOC.new",
			"🔥 Urgent: New lead from Contoso Ltd (L-LOC)"},
		{"location contact in its language", "L-OSAKA", "P-100", "osaka", osakaContact, "lead-L-OSAKA.new",
			"🔥【至急】Contoso Ltd 様からの新しいリード（L-OSAKA）"},
		{"preferred email wins over the location contact", "L-PREF", "P-200", "taipei", preferredEmail, "lead-L-PREF.new", ""},
		{"default contact without a location", "L-NOLOC", "P-100", "", defaultContact, "lead-L-NOLOC.new", ""},
		// A lead with a location that ends at the default contact gets the
		// ".default" Message-ID, as after a fallback (see sendTo).
		{"default contact for an unknown location", "L-KYOTO", "P-100", "kyoto", defaultContact, "lead-L-KYOTO.new.default", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.create(tt.id, forPartner(tt.partner, tt.location))
			e.mustNotify(tt.id)
			e.wantMails(mail{To: tt.to, ID: msgID(tt.msgID), Subject: tt.subject, Leads: tt.id})
			e.wantNotification(tt.id, ntf{via: "individual", rcpt: tt.to, sent: t0})
			e.wantFeed(tt.partner, entry{typ: leadworker.FeedNewLead, ids: tt.id, rcpt: tt.to})
			e.wantPending()
		})
	}
}

// TestAnnouncePastThresholdJoinsDigest checks that past the threshold (2)
// the next lead of the same recipient and day (in the recipient's time
// zone) sends no email but joins that day's digest, whose task is queued
// for 08:00 the next morning; that another recipient, or the next day,
// counts anew; and that announcing the digest lead again changes nothing.
func TestAnnouncePastThresholdJoinsDigest(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t)
	const day = "2091-03-11"
	e.create("L-1", createdAt(jst(day, 10, 0)))
	e.create("L-2", createdAt(jst(day, 10, 5)))
	e.create("L-3", createdAt(jst(day, 10, 10)))
	e.create("L-OSAKA", createdAt(jst(day, 10, 15)), forPartner("P-100", "osaka"))
	e.create("L-NEXT", createdAt(jst("2091-03-12", 0, 30))) // the same UTC day as the others, but not in Tokyo
	e.mustNotify("L-1", "L-2", "L-3", "L-OSAKA", "L-NEXT")

	sent := []mail{{To: tokyoContact, ID: msgID("lead-L-1.new")}, {To: tokyoContact, ID: msgID("lead-L-2.new")},
		{To: osakaContact, ID: msgID("lead-L-OSAKA.new")}, {To: tokyoContact, ID: msgID("lead-L-NEXT.new")}}
	e.wantMails(sent...)
	e.wantNotification("L-3", ntf{via: "digest", rcpt: tokyoContact})
	e.wantNotification("L-NEXT", ntf{via: "individual", rcpt: tokyoContact, sent: t0})
	sendAt := jst("2091-03-12", 8, 0)
	digest := e.task(tasks.QueueMail, tasks.DigestID(tokyoContact, day))
	if digest.Type != tasks.TypeDigest || digest.State != asynq.TaskStateScheduled || !digest.NextProcessAt.Equal(sendAt) {
		t.Fatalf("digest task %s %s at %s, want %s scheduled at %s", digest.Type, digest.State, digest.NextProcessAt, tasks.TypeDigest, sendAt)
	}
	if due := e.due(store.DueDigests, never); !slices.Equal(due, []string{tokyoContact + "|" + day}) {
		t.Fatalf("digests due %v, want the tokyo contact's of %s", due, day)
	}
	e.wantPending() // the digest index holds L-3 now

	e.mustNotify("L-3")
	e.wantMails(sent...)
	e.wantNotification("L-3", ntf{via: "digest", rcpt: tokyoContact})
}

// TestAnnounceInformationalOfferOnlyInFeed checks that an informational
// offer lead is never emailed: it is recorded as announced via the feed,
// which gets an informational_lead entry.
func TestAnnounceInformationalOfferOnlyInFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-INFO", informational)
	e.mustNotify("L-INFO")
	e.wantMails()
	e.wantNotification("L-INFO", ntf{via: "feed"})
	e.wantFeed("P-100", entry{typ: leadworker.FeedInformational, ids: "L-INFO"})
	e.wantPending()
}

// TestAnnounceWithoutRecipientIsUndelivered checks that a lead of a partner
// with neither a preferred email nor contacts sends nothing and is recorded
// as undelivered, on the lead and in the feed, without failing the task.
func TestAnnounceWithoutRecipientIsUndelivered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-NONE", forPartner("P-999", ""))
	e.mustNotify("L-NONE")
	e.wantMails()
	e.wantNotification("L-NONE", ntf{err: "no recipient"})
	e.wantFeed("P-999", entry{typ: leadworker.FeedUndelivered, ids: "L-NONE", msg: "no recipient"})
	e.wantPending()
}

// TestAnnounceArchivedLeadIsNotAnnounced checks that a lead declined before
// its announcement ran is not emailed, and says why.
func TestAnnounceArchivedLeadIsNotAnnounced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-DEC")
	e.decline("L-DEC")
	e.mustNotify("L-DEC")
	e.wantMails()
	e.wantNotification("L-DEC", ntf{err: "not announced: the lead was archived (declined)"})
	e.wantPending("closing:L-DEC") // the decline's closing notice, not the announcement
}

// TestAnnounceRefusedIsRecordedOrFallsBackOnce checks permanent rejections:
// a location contact that refuses falls back, once, to the default contact
// (Message-ID .new.default), and a refusal with nowhere to fall back to is
// recorded on the lead and in the feed, not retried. Announcing again
// sends nothing more.
func TestAnnounceRefusedIsRecordedOrFallsBackOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, partner, location string
		refuse                  []string
		sentTo, msgID           string // "" when nothing goes out
		refusedBy               string // recorded as undelivered to
	}{
		{"location contact refuses", "P-100", "tokyo", []string{tokyoContact}, defaultContact, "lead-L-1.new.default", ""},
		{"location and default contact refuse", "P-100", "tokyo", []string{tokyoContact, defaultContact}, "", "", defaultContact},
		{"default contact refuses", "P-100", "", []string{defaultContact}, "", "", defaultContact},
		{"preferred email refuses", "P-200", "taipei", []string{preferredEmail}, "", "", preferredEmail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.create("L-1", forPartner(tt.partner, tt.location))
			for _, r := range tt.refuse {
				e.mail.Refuse(r)
			}
			e.mustNotify("L-1", "L-1")
			if tt.sentTo != "" {
				e.wantMails(mail{To: tt.sentTo, ID: msgID(tt.msgID)})
				e.wantNotification("L-1", ntf{via: "individual", rcpt: tt.sentTo, sent: t0})
				e.wantFeed(tt.partner, entry{typ: leadworker.FeedNewLead, ids: "L-1", rcpt: tt.sentTo})
			} else {
				e.wantMails()
				e.wantNotification("L-1", ntf{via: "individual", rcpt: tt.refusedBy, err: "550 mailbox unavailable"})
				e.wantFeed(tt.partner, entry{typ: leadworker.FeedUndelivered, ids: "L-1", rcpt: tt.refusedBy, msg: "550"})
			}
			e.wantPending()
		})
	}
}

// TestAnnounceTemporaryFailureIsRetriedAndSentOnce checks that a temporary
// failure fails the task (to be retried) and records nothing, not even the
// day's count: once the server accepts again the retry sends the lead
// exactly once, and the next lead still goes out on its own.
func TestAnnounceTemporaryFailureIsRetriedAndSentOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-1")
	e.create("L-2")
	e.mail.Fail(tokyoContact, true)
	for range 3 {
		if err := e.notify("L-1"); err == nil || errors.Is(err, asynq.SkipRetry) {
			t.Fatalf("announce while the server fails: %v, want an error to retry", err)
		}
	}
	e.wantMails()
	e.wantNotification("L-1", ntf{})
	e.wantFeed("P-100")
	e.wantPending("notify:L-1", "notify:L-2") // the recovery sweep would find it too

	e.mail.Fail(tokyoContact, false)
	e.mustNotify("L-1", "L-1", "L-2")
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-1.new")}, mail{To: tokyoContact, ID: msgID("lead-L-2.new")})
	e.wantNotification("L-1", ntf{via: "individual", rcpt: tokyoContact, sent: t0})
	e.wantPending()
}

// TestAnnounceBatchAnnouncesEachLeadOnce checks a batch intake's task: every
// lead of the batch is announced (alone or in the digest), the batch is no
// longer pending, and running the task again sends nothing more.
func TestAnnounceBatchAnnouncesEachLeadOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	results := e.store.CreateBatch(e.ctx, []leadworker.Intake{e.intake("L-B1"), e.intake("L-B2"), e.intake("L-B3")})
	batch := results[0].Batch
	if batch == "" {
		t.Fatalf("intake of three leads has no batch: %+v", results[0])
	}
	e.wantPending(tasks.NotifyBatchID(batch))
	for range 2 {
		if err := e.handle(tasks.TypeNotifyBatch, tasks.NotifyBatchPayload{Batch: batch, LeadIDs: []string{"L-B1", "L-B2", "L-B3"}}); err != nil {
			t.Fatal(err)
		}
	}
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-B1.new")}, mail{To: tokyoContact, ID: msgID("lead-L-B2.new")})
	e.wantNotification("L-B3", ntf{via: "digest", rcpt: tokyoContact})
	e.wantPending()
}

// TestAnnouncePastItsDeadlineIsNotAnnounced checks a lead whose answer
// deadline passed before it could be announced (an import of old leads):
// no email promising a deadline that is gone; the record says why, and the
// expire job archives it.
func TestAnnouncePastItsDeadlineIsNotAnnounced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-OLD", createdAt(t0.Add(-notifyConfig.ExpireAfter)))
	e.create("L-YOUNG", createdAt(t0.Add(-notifyConfig.ExpireAfter+time.Minute)))
	e.mustNotify("L-OLD", "L-YOUNG")
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-YOUNG.new")})
	e.wantNotification("L-OLD", ntf{err: "not announced: its answer deadline had passed"})
	e.wantChanges("expire", e.run(tasks.JobExpire, t0, false), "expire L-OLD closing notice to the customer")
}
