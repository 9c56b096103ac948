package jobs

import (
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

// HandleReminder sends a reminder to the partner's recipient, unless the
// lead has left received meanwhile (then the reminder is dropped).
func (n *Notifier) HandleReminder(ctx context.Context, t *asynq.Task) error {
	var p tasks.ReminderPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	if p.Stage != tasks.StageFirst && p.Stage != tasks.StageExpiry {
		return fmt.Errorf("reminder stage %q: %w", p.Stage, asynq.SkipRetry)
	}
	unlock, err := n.store.Lock(ctx, tasks.ReminderID(p.LeadID, p.Stage), sendLockTTL)
	if err != nil || unlock == nil {
		return errors.Join(err, errBusy)
	}
	defer unlock()
	l, err := n.store.Get(ctx, p.LeadID)
	if leadworker.ErrorCode(err) == leadworker.ENotFound {
		return n.store.ClearPending(ctx, tasks.ReminderID(p.LeadID, p.Stage))
	}
	if err != nil {
		return err
	}
	return n.remind(ctx, l, p.Stage)
}

func (n *Notifier) remind(ctx context.Context, l *leadworker.Lead, stage string) error {
	state, err := n.store.ReminderState(ctx, l.ID, stage)
	if err != nil {
		return err
	}
	if state != "" {
		return n.store.ClearPending(ctx, tasks.ReminderID(l.ID, stage))
	}
	log := n.leadLog(l).WithField("stage", stage)
	if l.Status != leadworker.StatusReceived || l.Informational {
		log.WithFields(logrus.Fields{"status": l.Status, "informational": l.Informational}).
			Info("reminder dropped: the lead was answered, or needs no answer")
		return n.store.ReminderDone(ctx, l, stage, "dropped", nil)
	}
	rcpt, err := n.recipientOf(ctx, l)
	if err != nil {
		log.WithError(err).Warn("reminder not sent")
		return n.store.ReminderDone(ctx, l, stage, "no_recipient", nil)
	}
	err = n.sendReminder(ctx, l, stage, rcpt)
	if errors.Is(err, mailer.ErrPermanent) {
		log.WithError(err).Error("reminder rejected by the mail server")
		return errors.Join(n.store.ReminderDone(ctx, l, stage, "rejected", nil), fmt.Errorf("reminder %s: %w", l.ID, asynq.SkipRetry))
	}
	if err != nil {
		return fmt.Errorf("reminder %s: %w", l.ID, err)
	}
	log.WithField("recipient_source", rcpt.Source).Info("reminder sent")
	return n.store.ReminderDone(ctx, l, stage, "sent", n.entry(leadworker.FeedReminder, l, rcpt.Email))
}

// recipientOf resolves a lead's recipient as its announcement did.
func (n *Notifier) recipientOf(ctx context.Context, l *leadworker.Lead) (leadworker.Recipient, error) {
	partner, err := n.store.GetPartner(ctx, l.PartnerID)
	if err != nil {
		return leadworker.Recipient{}, err
	}
	return leadworker.ResolveRecipient(partner, l, l.Fallback)
}

func (n *Notifier) sendReminder(ctx context.Context, l *leadworker.Lead, stage string, rcpt leadworker.Recipient) error {
	data := templates.ReminderData{RecipientName: rcpt.Name, Stage: stage, ToCustomer: !l.IsQualified(), Lead: n.view(l, rcpt.Locale),
		ExpiresAt: l.CreatedAt.Add(n.cfg.ExpireAfter), WaitedHours: wholeHours(n.cfg.RemindAfter), LeftHours: wholeHours(n.cfg.RemindBefore)}
	email, err := templates.Render(templates.Reminder, rcpt.Locale, data)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	err = n.mail.Send(ctx, n.message(rcpt.Email, "lead-"+l.ID+".reminder-"+stage, email, l.ID))
	n.count("reminder", err)
	return err
}
