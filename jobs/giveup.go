package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
)

// noticeOf names each task type's email in metrics.
var noticeOf = map[string]string{TypeNotify: "new_lead", TypeClosing: "closing", TypeReminder: "reminder", TypeDigest: "digest"}

// lastAttempt reports whether a failing task will not be retried: asynq
// archives it after this attempt.
func lastAttempt(ctx context.Context, err error) bool {
	if err == nil || errors.Is(err, asynq.SkipRetry) || errors.Is(err, errBusy) {
		return false
	}
	retried, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && retried >= max
}

// giveUp wraps a handler so that, when its last attempt fails, the failure
// is recorded on the lead and in the feed (and its pending work cleared)
// instead of the lead waiting silently in asynq's archive.
func (n *Notifier) giveUp(h asynq.HandlerFunc, record func(context.Context, *Lead, *asynq.Task, string) error) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		err := h(ctx, t)
		if !lastAttempt(ctx, err) {
			return err
		}
		var p struct {
			LeadID string `json:"lead_id"`
		}
		if decodePayload(t, &p) != nil {
			return err
		}
		l, gerr := n.store.Get(ctx, p.LeadID)
		if gerr != nil {
			return errors.Join(err, gerr)
		}
		retried, _ := asynq.GetRetryCount(ctx)
		msg := fmt.Sprintf("gave up after %d attempts: %v", retried+1, err)
		n.leadLog(l).WithError(err).Error("giving up on " + t.Type())
		n.stats.EmailFailed(noticeOf[t.Type()], "gave_up")
		return errors.Join(err, record(context.WithoutCancel(ctx), l, t, msg))
	}
}

func (n *Notifier) notifyGaveUp(ctx context.Context, l *Lead, _ *asynq.Task, msg string) error {
	return n.undeliverable(ctx, l, Notification{Via: "individual", Error: msg}, errors.New(msg))
}

func (n *Notifier) closingGaveUp(ctx context.Context, l *Lead, _ *asynq.Task, _ string) error {
	_, err := n.store.NoticeDone(ctx, l, "failed", nil)
	return err
}

func (n *Notifier) reminderGaveUp(ctx context.Context, l *Lead, t *asynq.Task, _ string) error {
	var p ReminderPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	return n.store.ReminderDone(ctx, l, p.Stage, "failed", nil)
}
