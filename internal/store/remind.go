package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/redis/go-redis/v9"
)

// Remind runs remindScript for a page of leads, asking for a reminder for
// those in due, and returns the ones whose reminder was recorded.
func (s *Store) Remind(ctx context.Context, idx Index, ids []string, stage string, due []*leadworker.Lead) ([]*leadworker.Lead, error) {
	wanted := map[string]*leadworker.Lead{}
	for _, l := range due {
		wanted[l.ID] = l
	}
	now := ms(s.clock.Now())
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(ids))
		for i, id := range ids {
			out[i] = remindScript.EvalSha(ctx, p, []string{s.keys.lead(id), s.keys.index(idx), s.keys.dueRemind(2), s.keys.pending()},
				id, stage, flag(wanted[id] != nil), now)
		}
		return out
	})
	if err != nil {
		return nil, fmt.Errorf("record %s reminders: %w", stage, err)
	}
	var sent []*leadworker.Lead
	for i, cmd := range cmds {
		if n, err := cmd.Int(); err == nil && n == 1 {
			sent = append(sent, wanted[ids[i]])
		}
	}
	return sent, nil
}

// Reminder outcomes are recorded on the lead under these fields.
var reminderField = map[string]string{tasks.StageFirst: fRemindFirst, tasks.StageExpiry: fRemindExpiry}

// ReminderState returns how a lead's reminder of a stage ended ("" while
// not yet).
func (s *Store) ReminderState(ctx context.Context, id, stage string) (string, error) {
	v, err := s.rdb.HGet(ctx, s.keys.lead(id), reminderField[stage]).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read reminder state of %s: %w", id, err)
	}
	return v, nil
}

// ReminderDone records how a lead's reminder ended and clears its pending
// work.
func (s *Store) ReminderDone(ctx context.Context, l *leadworker.Lead, stage, outcome string, entry *leadworker.FeedEntry) error {
	if _, err := s.recordOnce(ctx, l, reminderField[stage], outcome, tasks.ReminderID(l.ID, stage), entry); err != nil {
		return fmt.Errorf("record %s reminder of %s: %w", stage, l.ID, err)
	}
	return nil
}
