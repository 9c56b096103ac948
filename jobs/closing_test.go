package jobs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
)

// expiredAge is old enough for the expire job at t0.
const expiredAge = 15 * 24 * time.Hour

// TestClosingNoticeGoesToCustomerOrOriginatorOnce checks that a declined
// or expired lead's closing notice goes to the customer (a customer
// inquiry, in the language of the customer's country) or to the originator
// (a qualified lead, in English) under the lead's closing Message-ID, is
// recorded as sent with a feed entry, and goes out only once. An expired
// lead's contact data is erased: its notice uses the address kept aside,
// which is erased once the notice is sent.
func TestClosingNoticeGoesToCustomerOrOriginatorOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		expire  bool // expire the lead instead of declining it
		opts    []leadOpt
		to      string
		subject string
	}{
		{"declined customer inquiry", false, nil, customerEmail, "Fabrikam declined your request (L-1)"},
		{"declined customer inquiry from Japan", false, []leadOpt{customerIn("JP")}, customerEmail, "Fabrikam はご依頼をお受けできませんでした（L-1）"},
		{"declined qualified lead", false, []leadOpt{qualified}, originatorMail, "Lead L-1 (Contoso Ltd) was declined by Fabrikam"},
		{"expired customer inquiry", true, nil, customerEmail, "Fabrikam did not respond to your request (L-1)"},
		{"expired qualified lead", true, []leadOpt{qualified}, originatorMail, "Lead L-1 (Contoso Ltd) expired: Fabrikam did not respond"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.closeLead("L-1", tt.expire, tt.opts...)
			for range 2 {
				if err := e.closing("L-1"); err != nil {
					t.Fatal(err)
				}
			}
			e.wantMails(mail{To: tt.to, ID: msgID("lead-L-1.closing"), Subject: tt.subject, Leads: "L-1"})
			e.wantNotice("L-1", "sent")
			e.wantFeedHead("P-100", entry{typ: leadworker.FeedClosing, ids: "L-1"})
		})
	}
}

// TestClosingNoticeWithoutAddressRecordsNoRecipient checks that a lead
// with no address to tell (a customer without email, a qualified lead
// without originator) sends nothing and records no_recipient, once.
func TestClosingNoticeWithoutAddressRecordsNoRecipient(t *testing.T) {
	t.Parallel()
	noOriginator := func(in *leadworker.Intake) { in.Originator = nil }
	tests := []struct {
		name   string
		expire bool
		opts   []leadOpt
	}{
		{"declined customer inquiry without email", false, []leadOpt{noCustomerEmail}},
		{"declined qualified lead without originator", false, []leadOpt{qualified, noOriginator}},
		{"expired customer inquiry without email", true, []leadOpt{noCustomerEmail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.closeLead("L-1", tt.expire, tt.opts...)
			for range 2 {
				if err := e.closing("L-1"); err != nil {
					t.Fatal(err)
				}
			}
			e.wantMails()
			e.wantNotice("L-1", "no_recipient")
			e.wantFeed("P-100")
		})
	}
}

// TestClosingNoticeRefusedIsRecordedAndNotRetried checks that a notice the
// customer's server refuses for good fails the task without a retry, is
// recorded as rejected and is not tried again.
func TestClosingNoticeRefusedIsRecordedAndNotRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.closeLead("L-1", false)
	e.mail.Refuse(customerEmail)
	if err := e.closing("L-1"); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("refused notice: %v, want an error that skips retries", err)
	}
	if err := e.closing("L-1"); err != nil {
		t.Fatalf("notice already recorded: %v", err)
	}
	e.wantMails()
	e.wantNotice("L-1", "rejected")
	e.wantPending("notify:L-1") // the closing notice is no longer pending; the lead was never announced
}

// TestClosingNoticeOnlyForDeclinedOrExpiredLeads checks that a closing
// notice task for a lead that was neither declined nor expired (enqueued
// by hand: POST /admin/v1/tasks takes notice:closing) tells nobody that the
// partner "did not respond": received leads are still open, and won or
// lost leads get no notice (docs/NOTIFICATIONS.md).
func TestClosingNoticeOnlyForDeclinedOrExpiredLeads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(e *env)
	}{
		{"received", func(*env) {}},
		{"accepted", func(e *env) { e.accept("L-1") }},
		{"won", func(e *env) {
			e.accept("L-1")
			if _, err := e.store.Close(e.ctx, "L-1", leadworker.OutcomeWon); err != nil {
				e.t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.create("L-1")
			tt.setup(e)
			if err := e.closing("L-1"); err != nil {
				t.Fatal(err)
			}
			e.wantMails()
			e.wantNotice("L-1", "")
		})
	}
}

// TestClosingNoticeDroppedEarlyStillFollowsTheDecline checks that a notice
// enqueued by hand before the lead was declined leaves no trace: the real
// decline then sends its notice.
func TestClosingNoticeDroppedEarlyStillFollowsTheDecline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("L-1")
	if err := e.closing("L-1"); err != nil {
		t.Fatal(err)
	}
	e.decline("L-1")
	if err := e.closing("L-1"); err != nil {
		t.Fatal(err)
	}
	e.wantMails(mail{To: customerEmail, ID: msgID("lead-L-1.closing")})
	e.wantNotice("L-1", "sent")
}

// closeLead stores a lead and ends it as a closing notice follows: declined
// (through the store, as the API does) or expired (by the expire job).
func (e *env) closeLead(id string, expire bool, opts ...leadOpt) {
	e.t.Helper()
	if !expire {
		e.create(id, opts...)
		e.decline(id)
		return
	}
	e.create(id, append([]leadOpt{createdAt(t0.Add(-expiredAge))}, opts...)...)
	detail, keptTo, keptName := e.noticeDetail(id)
	e.wantChanges("expire", e.run("expire", t0, false), "expire "+id+" "+detail)
	if c := e.lead(id).Customer; c.Email != "" || c.Name != "" || c.Phone != "" {
		e.t.Fatalf("expired lead %s keeps the customer's contact data: %+v", id, c)
	}
	if state, to, name, err := e.store.NoticeState(e.ctx, id); err != nil || state != "" || to != keptTo || name != keptName {
		e.t.Fatalf("expired lead %s: notice %q kept for %q %q (%v), want %q %q kept until the notice", id, state, to, name, err, keptTo, keptName)
	}
}

// noticeDetail is how the expire job's report words who gets the lead's
// closing notice, and the address and name the expiry must keep for it,
// read before the lead expires.
func (e *env) noticeDetail(id string) (detail, to, name string) {
	l := e.lead(id)
	switch {
	case l.IsQualified() && l.Originator != nil && l.Originator.Email != "":
		return "closing notice to the originator", l.Originator.Email, l.Originator.Name
	case !l.IsQualified() && l.Customer.Email != "":
		return "closing notice to the customer", l.Customer.Email, l.Customer.Name
	}
	return "closing notice to nobody (no address)", "", ""
}

// wantNotice checks how a lead's closing notice ended, and that the
// address kept aside for it is gone.
func (e *env) wantNotice(id, state string) {
	e.t.Helper()
	got, to, name, err := e.store.NoticeState(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	if got != state || to != "" || name != "" {
		e.t.Fatalf("%s: closing notice %q, kept address %q name %q; want %q and nothing kept", id, got, to, name, state)
	}
}

// TestClosingBatchSendsWhatIsLeftOnRetry checks the expire job's batch of
// closing notices: a notice refused for good is recorded and does not hold
// back the others or the batch; a temporary failure fails the batch, whose
// retry sends only the notice left, and each customer is told once.
func TestClosingBatchSendsWhatIsLeftOnRetry(t *testing.T) {
	t.Parallel()
	for _, refuse := range []bool{true, false} {
		t.Run(map[bool]string{true: "refused for good", false: "failing for now"}[refuse], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for _, id := range []string{"L-A", "L-B", "L-C"} {
				e.create(id, createdAt(t0.Add(-expiredAge)), customerAt(strings.ToLower(id)[2:]+"@contoso.example"))
			}
			e.run(tasks.JobExpire, t0, false)
			batch := e.closingBatch()
			if refuse {
				e.mail.Refuse("b@contoso.example")
			} else {
				e.mail.Fail("b@contoso.example", true)
			}
			if err := e.handle(tasks.TypeClosingBatch, batch); (err != nil) == refuse {
				t.Fatalf("batch with b@ %s: %v", t.Name(), err)
			}
			e.mail.Fail("b@contoso.example", false)
			if err := e.handle(tasks.TypeClosingBatch, batch); err != nil {
				t.Fatalf("retry of the batch: %v", err)
			}
			want := []mail{{To: "a@contoso.example", ID: msgID("lead-L-A.closing")}, {To: "c@contoso.example", ID: msgID("lead-L-C.closing")}}
			if !refuse {
				want = append(want, mail{To: "b@contoso.example", ID: msgID("lead-L-B.closing")})
			}
			e.wantMails(want...)
			e.wantNotice("L-B", map[bool]string{true: "rejected", false: "sent"}[refuse])
			e.wantPending("notify:L-A", "notify:L-B", "notify:L-C") // the batch is done
		})
	}
}

// closingBatch is the payload of the closing-notice task of the one batch
// the expire job recorded as pending.
func (e *env) closingBatch() tasks.ClosingBatchPayload {
	e.t.Helper()
	for _, member := range e.due(store.Pending, never) {
		if name, ok := strings.CutPrefix(member, "closing-batch:"); ok {
			ids, _, err := e.store.BatchIDs(e.ctx, member)
			if err != nil {
				e.t.Fatal(err)
			}
			return tasks.ClosingBatchPayload{Batch: name, LeadIDs: ids}
		}
	}
	e.t.Fatal("no closing-notice batch pending")
	return tasks.ClosingBatchPayload{}
}
