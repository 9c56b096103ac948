package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/mailer"
	"github.com/leadworker/leadworker/templates"
)

// reminders sends the first reminder RemindAfter after a lead arrived and
// the second RemindBefore its expiry, each at most once and only while the
// lead is still received. A lead already due for the second skips the first.
func (m *Maintenance) reminders(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	second := at.Add(-(m.cfg.ExpireAfter - m.cfg.RemindBefore))
	first := at.Add(-m.cfg.RemindAfter)
	sendFirst := func(l *leadworker.Lead) bool { return m.cfg.RemindAfter > 0 && l.CreatedAt.After(second) }
	carried, err := m.remindStage(ctx, store.DueRemindFirst, tasks.StageFirst, first, sendFirst, dry, nil, rep)
	if err != nil {
		return err
	}
	sendSecond := func(*leadworker.Lead) bool { return m.cfg.RemindBefore > 0 }
	// A dry run leaves stage-1 leads where they are; those the real run
	// would move on and remind at once come along as carried.
	carried = appendDue(nil, carried, func(l *leadworker.Lead) bool { return !l.CreatedAt.After(second) })
	_, err = m.remindStage(ctx, store.DueRemindExpiry, tasks.StageExpiry, second, sendSecond, dry, carried, rep)
	return err
}

// remindStage sweeps one reminder index. It returns the received leads it
// read in a dry run, so the next stage can account for them.
func (m *Maintenance) remindStage(ctx context.Context, index store.Index, stage string, cutoff time.Time, send func(*leadworker.Lead) bool, dry bool, carried []*leadworker.Lead, rep *Report) ([]*leadworker.Lead, error) {
	received := func(l *leadworker.Lead) bool { return l.Status == leadworker.StatusReceived }
	due := appendDue(nil, carried, func(l *leadworker.Lead) bool { return received(l) && send(l) })
	var read []*leadworker.Lead
	for offset := 0; ; {
		ids, err := m.store.Due(ctx, index, cutoff, offset, store.SweepPage)
		if err != nil || len(ids) == 0 {
			return read, errors.Join(err, m.remindersDue(ctx, stage, due, dry, rep))
		}
		leads, err := m.store.GetMany(ctx, ids)
		if err != nil {
			return read, err
		}
		page := appendDue(nil, leads, func(l *leadworker.Lead) bool { return received(l) && send(l) })
		if dry {
			offset += len(ids)
			read = appendDue(read, leads, received)
		} else if page, err = m.store.Remind(ctx, index, ids, stage, page); err != nil {
			return read, err
		}
		due = append(due, page...)
	}
}

// remindersDue reports the reminders and, in a real run, enqueues them.
func (m *Maintenance) remindersDue(ctx context.Context, stage string, due []*leadworker.Lead, dry bool, rep *Report) error {
	for _, l := range due {
		rep.add(Change{LeadID: l.ID, Action: "reminder", Detail: stage})
	}
	if dry {
		return nil
	}
	return parallel(due, func(l *leadworker.Lead) error { return m.queue.Reminder(ctx, l.ID, stage) })
}

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
	if l.Status != leadworker.StatusReceived {
		log.WithField("status", l.Status).Info("reminder dropped: the lead was answered")
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
