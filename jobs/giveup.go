package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
)

// noticeOf names each task type's email in metrics.
var noticeOf = map[string]string{tasks.TypeNotify: "new_lead", tasks.TypeNotifyBatch: "new_lead", tasks.TypeClosing: "closing",
	tasks.TypeClosingBatch: "closing", tasks.TypeReminder: "reminder", tasks.TypeDigest: "digest"}

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
// is recorded on each of its leads and in the feed (and their pending work
// cleared) instead of the leads waiting silently in asynq's archive.
func (n *Notifier) giveUp(h asynq.HandlerFunc, record func(context.Context, *leadworker.Lead, *asynq.Task, string) error) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		err := h(ctx, t)
		if !lastAttempt(ctx, err) {
			return err
		}
		var p struct {
			LeadID  string   `json:"lead_id"`
			LeadIDs []string `json:"lead_ids"`
			Batch   string   `json:"batch"`
		}
		if decodePayload(t, &p) != nil {
			return err
		}
		retried, _ := asynq.GetRetryCount(ctx)
		msg := fmt.Sprintf("gave up after %d attempts: %v", retried+1, err)
		member := ""
		switch t.Type() {
		case tasks.TypeNotifyBatch:
			member = pendingBatch(tasks.NotifyBatchID, p.Batch)
		case tasks.TypeClosingBatch:
			member = pendingBatch(tasks.ClosingBatchID, p.Batch)
		}
		ids := slices.DeleteFunc(append(p.LeadIDs, p.LeadID), func(id string) bool { return id == "" })
		// Every lead of the batch is recorded, then the batch is no longer
		// pending: asynq keeps the archived task's id, so it could not be
		// enqueued again anyway.
		gerr := n.inBatch(context.WithoutCancel(ctx), member, ids, func(ids []string) error {
			var errs []error
			for _, id := range ids {
				errs = append(errs, n.gaveUp(context.WithoutCancel(ctx), id, t, msg, record))
			}
			return errors.Join(errs...)
		})
		return errors.Join(err, gerr)
	}
}

// gaveUp records the end of one lead's task.
func (n *Notifier) gaveUp(ctx context.Context, id string, t *asynq.Task, msg string, record func(context.Context, *leadworker.Lead, *asynq.Task, string) error) error {
	l, err := n.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if (t.Type() == tasks.TypeNotify || t.Type() == tasks.TypeNotifyBatch) && settled(l) {
		return nil // announced, or in a digest, on an earlier attempt
	}
	if t.Type() == tasks.TypeClosing || t.Type() == tasks.TypeClosingBatch {
		if state, _, _, err := n.store.NoticeState(ctx, id); err != nil || state != "" || !closingDue(l) {
			return err // handled on an earlier attempt, or owed no notice
		}
	}
	n.leadLog(l).Error("giving up on " + t.Type() + ": " + msg)
	n.stats.EmailFailed(noticeOf[t.Type()], "gave_up")
	return record(ctx, l, t, msg)
}

// settled reports whether a lead's announcement has ended or is in a digest.
func settled(l *leadworker.Lead) bool {
	return announced(l) || (l.Notification != nil && l.Notification.Via == "digest")
}

// notifyGaveUp records an announcement that failed for good.
func (n *Notifier) notifyGaveUp(ctx context.Context, l *leadworker.Lead, _ *asynq.Task, msg string) error {
	return n.store.DoneAll(ctx, []store.Announcement{n.failure(l, leadworker.Notification{Via: "individual", Error: msg})}, "")
}
func (n *Notifier) closingGaveUp(ctx context.Context, l *leadworker.Lead, _ *asynq.Task, _ string) error {
	_, err := n.store.NoticeDone(ctx, l, "failed", nil)
	return err
}

func (n *Notifier) reminderGaveUp(ctx context.Context, l *leadworker.Lead, t *asynq.Task, _ string) error {
	var p tasks.ReminderPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	return n.store.ReminderDone(ctx, l, p.Stage, "failed", nil)
}
