package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
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
