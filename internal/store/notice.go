package store

import (
	"context"
	"fmt"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// NoticeDone records how a lead's closing notice ended; false when it had
// already been recorded.
func (s *Store) NoticeDone(ctx context.Context, l *leadworker.Lead, outcome string, entry *leadworker.FeedEntry) (bool, error) {
	ok, err := s.recordOnce(ctx, l, fNotice, outcome, tasks.ClosingID(l.ID), entry, fNoticeTo, fNoticeName)
	if err != nil {
		return false, fmt.Errorf("record closing notice of %s: %w", l.ID, err)
	}
	return ok, nil
}

// NoticeState returns how a lead's closing notice ended ("" while not yet)
// and, for an expired lead, the address and name kept for it until it is
// sent.
func (s *Store) NoticeState(ctx context.Context, id string) (state, to, name string, err error) {
	vals, err := s.rdb.HMGet(ctx, s.keys.lead(id), fNotice, fNoticeTo, fNoticeName).Result()
	if err != nil {
		return "", "", "", fmt.Errorf("read notice state of %s: %w", id, err)
	}
	state, _ = vals[0].(string)
	to, _ = vals[1].(string)
	name, _ = vals[2].(string)
	return state, to, name, nil
}

// recordOnce runs record_once.lua: it records outcome in field unless the
// lead already has it, appends entry (if any) to the partner's feed, clears
// the pending member and deletes the fields drop. It reports whether it
// recorded.
func (s *Store) recordOnce(ctx context.Context, l *leadworker.Lead, field, outcome, pending string, entry *leadworker.FeedEntry, drop ...string) (bool, error) {
	k := s.keys
	args := []any{field, outcome, pending, feedJSON(entry), FeedLimit}
	for _, f := range drop {
		args = append(args, f)
	}
	n, err := recordOnceScript.Run(ctx, s.rdb, []string{k.lead(l.ID), k.pending(), k.feed(l.PartnerID)}, args...).Int()
	return n == 1, err
}

// feedJSON is a feed entry as the scripts take it: "" for none.
func feedJSON(e *leadworker.FeedEntry) string {
	if e == nil {
		return ""
	}
	return mustJSON(e)
}
