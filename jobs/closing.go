package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/mailer"
	"github.com/leadworker/leadworker/templates"
	"github.com/sirupsen/logrus"
)

// Closing-notice outcomes recorded on the lead.
const (
	noticeSent        = "sent"
	noticeNoRecipient = "no_recipient"
	noticeRejected    = "rejected"
)

// countryLocales picks a customer's language from their country.
var countryLocales = map[string]string{"JP": "ja", "TW": "zh-Hant", "HK": "zh-Hant", "MO": "zh-Hant", "RU": "ru", "BY": "ru", "KZ": "ru"}

// HandleClosing tells the customer (customer inquiries) or the originator
// (qualified leads) that a declined or expired lead will not be answered.
func (n *Notifier) HandleClosing(ctx context.Context, t *asynq.Task) error {
	var p tasks.ClosingPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	return n.close(ctx, p.LeadID)
}

// HandleClosingBatch sends the closing notices of a page of expired leads,
// several at a time. Notices already sent are skipped, so a retry of the
// batch only sends what is left.
func (n *Notifier) HandleClosingBatch(ctx context.Context, t *asynq.Task) error {
	var p tasks.ClosingBatchPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	return n.inBatch(ctx, pendingBatch(tasks.ClosingBatchID, p.Batch), p.LeadIDs, func(ids []string) error {
		return parallel(ids, func(id string) error {
			err := n.close(ctx, id)
			if errors.Is(err, asynq.SkipRetry) {
				return nil // refused for good and recorded: nothing to retry
			}
			return err
		})
	})
}

// close sends one lead's closing notice, once.
func (n *Notifier) close(ctx context.Context, id string) error {
	l, err := n.store.Get(ctx, id)
	if leadworker.ErrorCode(err) == leadworker.ENotFound {
		return n.store.ClearPending(ctx, tasks.ClosingID(id))
	}
	if err != nil {
		return err
	}
	if !closingDue(l) {
		// Enqueued by hand, say: the lead is still open, or ended in a way
		// nobody is told about. Nothing is recorded, so a later decline or
		// expiry still sends its notice.
		n.leadLog(l).WithFields(logrus.Fields{"status": l.Status, "outcome": l.Outcome}).
			Warn("closing notice dropped: only a declined or expired lead that needed an answer gets one")
		return n.store.ClearPending(ctx, tasks.ClosingID(l.ID))
	}
	unlock, err := n.store.Lock(ctx, tasks.ClosingID(l.ID), sendLockTTL)
	if err != nil || unlock == nil {
		return errors.Join(err, errBusy)
	}
	defer unlock()
	state, keptTo, keptName, err := n.store.NoticeState(ctx, l.ID)
	if err != nil {
		return err
	}
	if state != "" {
		return n.store.ClearPending(ctx, tasks.ClosingID(l.ID))
	}
	to, name, locale := closingRecipient(l, keptTo, keptName)
	if to == "" {
		_, err := n.store.NoticeDone(ctx, l, noticeNoRecipient, nil)
		n.leadLog(l).Info("no closing notice: the lead has no customer or originator address")
		return err
	}
	return n.sendClosing(ctx, l, to, name, locale)
}

// closingDue reports whether a lead's state owes a closing notice: it was
// declined or it expired, and it needed an answer. Archived is final, so
// the answer cannot change once given.
func closingDue(l *leadworker.Lead) bool {
	return l.Status == leadworker.StatusArchived && !l.Informational &&
		(l.Outcome == leadworker.OutcomeDeclined || l.Outcome == leadworker.OutcomeExpired)
}

// closingRecipient returns who is told, by name, in which language. An
// expired lead's customer contact is erased; the address and name kept for
// its notice are used instead.
func closingRecipient(l *leadworker.Lead, keptTo, keptName string) (to, name, locale string) {
	if l.IsQualified() {
		if l.Originator == nil {
			return keptTo, keptName, "en"
		}
		return cmp.Or(l.Originator.Email, keptTo), cmp.Or(l.Originator.Name, keptName), "en"
	}
	return cmp.Or(l.Customer.Email, keptTo), cmp.Or(l.Customer.Name, keptName), templates.Resolve(countryLocales[l.Customer.Country])
}

// sendClosing sends the notice; the caller holds its lock.
func (n *Notifier) sendClosing(ctx context.Context, l *leadworker.Lead, to, name, locale string) error {
	partner, err := n.store.GetPartner(ctx, l.PartnerID)
	if err != nil {
		return err
	}
	email, err := templates.Render(templates.Closing, locale, templates.ClosingData{RecipientName: name, Reason: string(l.Outcome), ExpireDays: n.cfg.expireDays(),
		ToCustomer: !l.IsQualified(), LeadID: l.ID, Company: l.Customer.Company, PartnerName: partnerName(partner)})
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = n.mail.Send(ctx, n.message(to, "lead-"+l.ID+".closing", email, l.ID))
		n.count("closing", err)
	}
	return n.closingDone(ctx, l, err)
}

func (n *Notifier) closingDone(ctx context.Context, l *leadworker.Lead, err error) error {
	switch {
	case errors.Is(err, mailer.ErrPermanent):
		n.leadLog(l).WithError(err).Error("closing notice rejected by the mail server")
		_, rerr := n.store.NoticeDone(ctx, l, noticeRejected, nil)
		return errors.Join(rerr, fmt.Errorf("closing notice %s: %w", l.ID, asynq.SkipRetry))
	case err != nil:
		return fmt.Errorf("closing notice %s: %w", l.ID, err)
	}
	_, err = n.store.NoticeDone(ctx, l, noticeSent, n.entry(leadworker.FeedClosing, l, ""))
	n.leadLog(l).WithField("outcome", l.Outcome).Info("closing notice sent")
	return err
}

func partnerName(p *leadworker.Partner) string {
	if p.Contacts.Default != nil && p.Contacts.Default.Name != "" {
		return p.Contacts.Default.Name
	}
	return p.ID
}
