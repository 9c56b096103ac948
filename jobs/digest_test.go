package jobs_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/jobs"
	"github.com/leadworker/leadworker/mailer"
	"github.com/sirupsen/logrus"
)

// digestDay is the Tokyo day of the digest tests' leads; its digest goes
// out at digestSendAt.
const digestDay = "2091-03-11"

var digestSendAt = jst("2091-03-12", 8, 0)

// fillDigest stores and announces two leads that go out on their own and
// then the leads of digest, created in that order 10 minutes apart on
// digestDay, each with opts; those in spamIDs are potential spam.
func (e *env) fillDigest(digest []string, spamIDs map[string]bool, opts ...leadOpt) {
	e.t.Helper()
	for i, id := range append([]string{"L-ALONE-1", "L-ALONE-2"}, digest...) {
		o := append([]leadOpt{createdAt(jst(digestDay, 9, 10*i))}, opts...)
		if spamIDs[id] {
			o = append(o, spam)
		}
		e.create(id, o...)
		e.mustNotify(id)
	}
	for _, id := range digest {
		if n := e.lead(id).Notification; n == nil || n.Via != "digest" {
			e.t.Fatalf("%s did not join the digest: %+v", id, n)
		}
	}
}

// TestDigestListsValidLeadsFirstAndSpamLast checks that the digest goes
// out as one email listing every lead that joined it, valid leads first
// and potential spam last (each group oldest first); that each lead is
// recorded as sent by the digest and the feed gets a digest entry; that
// the digest is no longer due; and that sending it again sends nothing.
func TestDigestListsValidLeadsFirstAndSpamLast(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fillDigest([]string{"L-SPAM-1", "L-VALID-1", "L-SPAM-2", "L-VALID-2"}, map[string]bool{"L-SPAM-1": true, "L-SPAM-2": true})
	e.clock.Set(digestSendAt)
	for range 2 {
		if err := e.digest(tokyoContact, digestDay); err != nil {
			t.Fatal(err)
		}
	}
	listed := []string{"L-VALID-1", "L-VALID-2", "L-SPAM-1", "L-SPAM-2"}
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-ALONE-1.new")}, mail{To: tokyoContact, ID: msgID("lead-L-ALONE-2.new")},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", listed...), Subject: "4 more new leads for " + digestDay,
			Leads: "L-VALID-1 L-VALID-2 L-SPAM-1 L-SPAM-2"})
	for _, id := range listed {
		e.wantNotification(id, ntf{via: "digest", rcpt: tokyoContact, sent: digestSendAt})
	}
	e.wantFeed("P-100", entry{typ: leadworker.FeedDigest, ids: "L-VALID-1 L-VALID-2 L-SPAM-1 L-SPAM-2", rcpt: tokyoContact},
		entry{typ: leadworker.FeedNewLead, ids: "L-ALONE-2", rcpt: tokyoContact}, entry{typ: leadworker.FeedNewLead, ids: "L-ALONE-1", rcpt: tokyoContact})
	e.wantNoDigestDue()
	e.wantPending()
}

// TestDigestRefusedFallsBackOrIsRecordedOnEachLead checks permanent
// rejections of a digest: refused by a location contact it goes, once, to
// the default contact (Message-ID ….default); refused with nowhere to fall
// back to, the error is recorded on each of its leads and in the feed, and
// the task is not retried. Either way the digest is no longer due.
func TestDigestRefusedFallsBackOrIsRecordedOnEachLead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, location, rcpt string
		refuse               []string
		sentTo               string // "" when nothing goes out
		refusedBy            string
	}{
		{"location contact refuses", "tokyo", tokyoContact, []string{tokyoContact}, defaultContact, ""},
		{"location and default contact refuse", "tokyo", tokyoContact, []string{tokyoContact, defaultContact}, "", defaultContact},
		{"default contact refuses", "", defaultContact, []string{defaultContact}, "", defaultContact},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.fillDigest([]string{"L-D1", "L-D2"}, nil, forPartner("P-100", tt.location))
			for _, r := range tt.refuse {
				e.mail.Refuse(r)
			}
			e.clock.Set(digestSendAt)
			before := e.mails() // the two leads sent alone
			err := e.digest(tt.rcpt, digestDay)
			if tt.sentTo != "" {
				e.wantDigestSent(err, before, mail{To: tt.sentTo, ID: digestID(tt.rcpt, digestDay, ".default", "L-D1", "L-D2"), Leads: "L-D1 L-D2"})
			} else {
				e.wantDigestRefused(err, before, tt.refusedBy)
			}
			e.wantNoDigestDue()
		})
	}
}

// wantDigestSent checks that the digest of L-D1 and L-D2 went out as want.
func (e *env) wantDigestSent(err error, before []mail, want mail) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	e.wantMails(append(before, want)...)
	for _, id := range []string{"L-D1", "L-D2"} {
		e.wantNotification(id, ntf{via: "digest", rcpt: want.To, sent: digestSendAt})
	}
	e.wantFeedHead("P-100", entry{typ: leadworker.FeedDigest, ids: "L-D1 L-D2", rcpt: want.To})
}

// wantDigestRefused checks that the digest of L-D1 and L-D2 was refused
// for good by refusedBy and recorded so.
func (e *env) wantDigestRefused(err error, before []mail, refusedBy string) {
	e.t.Helper()
	if !errors.Is(err, asynq.SkipRetry) {
		e.t.Fatalf("refused digest: %v, want an error that skips retries", err)
	}
	e.wantMails(before...)
	for _, id := range []string{"L-D1", "L-D2"} {
		e.wantNotification(id, ntf{via: "digest", rcpt: refusedBy, err: "550 mailbox unavailable"})
	}
	e.wantFeedHead("P-100", entry{typ: leadworker.FeedUndelivered, ids: "L-D1 L-D2", rcpt: refusedBy, msg: "550"})
}

func (e *env) wantNoDigestDue() {
	e.t.Helper()
	if due := e.due(store.DueDigests, never); len(due) != 0 {
		e.t.Fatalf("digests still due: %v", due)
	}
}

// TestDigestTemporaryFailureRecordsNothing checks that a digest the server
// fails for now fails the task (to be retried) and records nothing: its
// leads wait and it stays due; the retry sends it exactly once.
func TestDigestTemporaryFailureRecordsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fillDigest([]string{"L-D1", "L-D2"}, nil)
	e.clock.Set(digestSendAt)
	before := e.mails()
	e.mail.Fail(tokyoContact, true)
	if err := e.digest(tokyoContact, digestDay); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("digest while the server fails: %v, want an error to retry", err)
	}
	e.wantMails(before...)
	e.wantNotification("L-D1", ntf{via: "digest", rcpt: tokyoContact})
	if due := e.due(store.DueDigests, never); len(due) != 1 {
		t.Fatalf("digests due %v, want the one that failed", due)
	}
	e.mail.Fail(tokyoContact, false)
	for range 2 {
		if err := e.digest(tokyoContact, digestDay); err != nil {
			t.Fatal(err)
		}
	}
	e.wantDigestSent(nil, before, mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-D1", "L-D2"), Leads: "L-D1 L-D2"})
}

// TestDigestLateLeadGoesInAFurtherDigest checks that a lead of a day whose
// digest already went out joins a further digest of that day: the digests
// job reports it due, and it lists only the late lead, under a Message-ID
// of its own.
func TestDigestLateLeadGoesInAFurtherDigest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fillDigest([]string{"L-D1"}, nil)
	e.clock.Set(digestSendAt)
	if err := e.digest(tokyoContact, digestDay); err != nil {
		t.Fatal(err)
	}
	e.create("L-LATE", createdAt(jst(digestDay, 23, 0)))
	e.mustNotify("L-LATE")
	e.wantChanges("digests", e.run("digests", digestSendAt.Add(time.Hour), false), "digest "+digestDay)
	if err := e.digest(tokyoContact, digestDay); err != nil {
		t.Fatal(err)
	}
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-ALONE-1.new")}, mail{To: tokyoContact, ID: msgID("lead-L-ALONE-2.new")},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-D1"), Subject: "1 more new lead for " + digestDay},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-LATE"), Subject: "1 more new lead for " + digestDay + " (part 2 of 2)", Leads: "L-LATE"})
	e.wantNotification("L-LATE", ntf{via: "digest", rcpt: tokyoContact, sent: digestSendAt.Add(time.Hour)})
	e.wantNoDigestDue()
}

// TestDigestLeavesOutLeadsArchivedMeanwhile checks that a lead declined
// after it joined the digest, before the digest went out, is not listed
// as a new lead: like a lead archived before its own email
// (docs/NOTIFICATIONS.md: "A lead archived before it could be announced
// ... is not announced"), it is left out and the digest lists the others.
func TestDigestLeavesOutLeadsArchivedMeanwhile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fillDigest([]string{"L-D1", "L-DEC"}, nil)
	e.decline("L-DEC")
	e.clock.Set(digestSendAt)
	if err := e.digest(tokyoContact, digestDay); err != nil {
		t.Fatal(err)
	}
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-ALONE-1.new")}, mail{To: tokyoContact, ID: msgID("lead-L-ALONE-2.new")},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-D1"), Leads: "L-D1"})
	e.wantNoDigestDue()
}

// withDigestMax makes the env's handlers send digests in parts of at most
// max leads.
func (e *env) withDigestMax(max int) {
	cfg := notifyConfig
	cfg.DigestMaxLeads = max
	log := logrus.New()
	log.SetOutput(io.Discard)
	e.notifier = jobs.NewNotifier(e.store, e.queue, mailer.New(e.mail), e.clock, log, cfg)
}

// TestDigestGoesOutInParts checks a digest longer than DigestMaxLeads: it
// goes out in parts of at most that many leads, oldest first, each saying
// which part of how many it is, each lead in exactly one part.
func TestDigestGoesOutInParts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.withDigestMax(2)
	e.fillDigest([]string{"L-D1", "L-D2", "L-D3", "L-D4", "L-D5"}, nil)
	e.clock.Set(digestSendAt)
	if err := e.digest(tokyoContact, digestDay); err != nil {
		t.Fatal(err)
	}
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-ALONE-1.new")}, mail{To: tokyoContact, ID: msgID("lead-L-ALONE-2.new")},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-D1", "L-D2"), Subject: "2 more new leads for " + digestDay + " (part 1 of 3)", Leads: "L-D1 L-D2"},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-D3", "L-D4"), Subject: "2 more new leads for " + digestDay + " (part 2 of 3)", Leads: "L-D3 L-D4"},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-D5"), Subject: "1 more new lead for " + digestDay + " (part 3 of 3)", Leads: "L-D5"})
	for _, id := range []string{"L-D1", "L-D2", "L-D3", "L-D4", "L-D5"} {
		e.wantNotification(id, ntf{via: "digest", rcpt: tokyoContact, sent: digestSendAt})
	}
	e.wantNoDigestDue()
}

// TestDigestRetryResendsTheSealedPart checks a digest whose send failed
// for now, as after a crash between the server's acceptance and the
// record, or a reply slower than the SMTP timeout: a lead joins before the
// retry, and the retry sends the first list exactly, under the same
// Message-ID; the late lead goes in a part of its own. No lead is in two
// different emails.
func TestDigestRetryResendsTheSealedPart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fillDigest([]string{"L-D1", "L-D2", "L-D3"}, nil)
	e.clock.Set(digestSendAt)
	e.mail.Fail(tokyoContact, true)
	if err := e.digest(tokyoContact, digestDay); err == nil {
		t.Fatal("a failed digest succeeded")
	}
	e.create("L-LATE", createdAt(jst(digestDay, 23, 0)))
	e.mustNotify("L-LATE")
	e.mail.Fail(tokyoContact, false)
	if err := e.digest(tokyoContact, digestDay); err != nil {
		t.Fatal(err)
	}
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-ALONE-1.new")}, mail{To: tokyoContact, ID: msgID("lead-L-ALONE-2.new")},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-D1", "L-D2", "L-D3"), Subject: "3 more new leads for " + digestDay, Leads: "L-D1 L-D2 L-D3"},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-LATE"), Subject: "1 more new lead for " + digestDay + " (part 2 of 2)", Leads: "L-LATE"})
	e.wantNoDigestDue()
}

// TestDigestTooLargeGoesOutInSmallerParts checks a digest part larger than
// the server takes (its SIZE): it is sealed again with half its leads and
// sent in two parts, each lead in exactly one.
func TestDigestTooLargeGoesOutInSmallerParts(t *testing.T) {
	t.Parallel()
	ids := []string{"L-D1", "L-D2", "L-D3", "L-D4"}
	send := func(t *testing.T, limit int64) *env {
		e := newEnv(t)
		e.fillDigest(ids, nil)
		e.clock.Set(digestSendAt)
		e.mail.Limit(limit)
		if err := e.digest(tokyoContact, digestDay); err != nil {
			t.Fatal(err)
		}
		return e
	}
	var size int64
	t.Run("in one email", func(t *testing.T) { // a subtest: keys of its own
		for _, m := range send(t, 0).mail.Sent() {
			if strings.HasPrefix(m.Env.MessageID, "digest-") {
				size = int64(len(m.Raw))
			}
		}
	})
	e := send(t, size-1) // the four leads in one email are a byte too many
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-ALONE-1.new")}, mail{To: tokyoContact, ID: msgID("lead-L-ALONE-2.new")},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-D1", "L-D2"), Subject: "2 more new leads for " + digestDay + " (part 1 of 2)", Leads: "L-D1 L-D2"},
		mail{To: tokyoContact, ID: digestID(tokyoContact, digestDay, "", "L-D3", "L-D4"), Subject: "2 more new leads for " + digestDay + " (part 2 of 2)", Leads: "L-D3 L-D4"})
	for _, id := range ids {
		e.wantNotification(id, ntf{via: "digest", rcpt: tokyoContact, sent: digestSendAt})
	}
	e.wantNoDigestDue()
}
