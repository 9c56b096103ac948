package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker/mailer"
	"github.com/leadworker/leadworker/templates"
	"github.com/redis/go-redis/v9"
)

// Reminder stages.
const (
	StageFirst  = "first"  // a day after the lead arrived
	StageExpiry = "expiry" // shortly before it expires
)

// TypeReminder reminds a partner of a lead still unanswered.
const TypeReminder = "notice:reminder"

// ReminderPayload names the lead and the stage of its reminder.
type ReminderPayload struct {
	LeadID string `json:"lead_id"`
	Stage  string `json:"stage"`
}

func reminderTaskID(id, stage string) string { return "reminder:" + id + ":" + stage }

// Reminder enqueues a reminder.
func (q *Queue) Reminder(ctx context.Context, id, stage string) error {
	return q.enqueue(ctx, TypeReminder, ReminderPayload{LeadID: id, Stage: stage},
		asynq.TaskID(reminderTaskID(id, stage)), asynq.Queue(QueueMail))
}

// remindScript moves one lead through the reminder indexes: from stage 1 to
// stage 2 (noted in the lead's "rs" field, so a transition knows which index
// to leave), or out of stage 2, recording the reminder to send as pending
// work.
// A lead no longer received just leaves. Returns 1 when a reminder is due.
//
// KEYS: lead, from index, stage-2 index, pending
// ARGV: id, stage ("first"|"expiry"), send ("1"|""), now ms
var remindScript = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'st') ~= 'received' then return 0 end
if ARGV[2] == 'first' then
  redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'at'), ARGV[1])
  redis.call('HSET', KEYS[1], 'rs', '2')
end
if ARGV[3] ~= '1' then return 0 end
redis.call('ZADD', KEYS[4], ARGV[4], 'reminder:' .. ARGV[1] .. ':' .. ARGV[2])
return 1
`)

func init() { allScripts = append(allScripts, remindScript) }

// reminders sends the first reminder RemindAfter after a lead arrived and
// the second RemindBefore its expiry, each at most once and only while the
// lead is still received. A lead already due for the second skips the first.
func (m *Maintenance) reminders(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	second := at.Add(-(m.cfg.ExpireAfter - m.cfg.RemindBefore))
	first := at.Add(-m.cfg.RemindAfter)
	sendFirst := func(l *Lead) bool { return m.cfg.RemindAfter > 0 && l.CreatedAt.After(second) }
	carried, err := m.remindStage(ctx, 1, StageFirst, first, sendFirst, dry, nil, rep)
	if err != nil {
		return err
	}
	sendSecond := func(*Lead) bool { return m.cfg.RemindBefore > 0 }
	// A dry run leaves stage-1 leads where they are; those the real run
	// would move on and remind at once come along as carried.
	carried = appendDue(nil, carried, func(l *Lead) bool { return !l.CreatedAt.After(second) })
	_, err = m.remindStage(ctx, 2, StageExpiry, second, sendSecond, dry, carried, rep)
	return err
}

// remindStage sweeps one reminder index. It returns the received leads it
// read in a dry run, so the next stage can account for them.
func (m *Maintenance) remindStage(ctx context.Context, n int, stage string, cutoff time.Time, send func(*Lead) bool, dry bool, carried []*Lead, rep *Report) ([]*Lead, error) {
	index := m.store.keys.dueRemind(n)
	received := func(l *Lead) bool { return l.Status == StatusReceived }
	due := appendDue(nil, carried, func(l *Lead) bool { return received(l) && send(l) })
	var read []*Lead
	for offset := 0; ; {
		ids, err := m.store.dueIDs(ctx, index, cutoff, offset, sweepPage)
		if err != nil || len(ids) == 0 {
			return read, errors.Join(err, m.remindersDue(ctx, stage, due, dry, rep))
		}
		leads, err := m.store.getMany(ctx, ids)
		if err != nil {
			return read, err
		}
		page := appendDue(nil, leads, func(l *Lead) bool { return received(l) && send(l) })
		if dry {
			offset += len(ids)
			read = appendDue(read, leads, received)
		} else if page, err = m.store.remind(ctx, index, ids, stage, page); err != nil {
			return read, err
		}
		due = append(due, page...)
	}
}

// remindersDue reports the reminders and, in a real run, enqueues them.
func (m *Maintenance) remindersDue(ctx context.Context, stage string, due []*Lead, dry bool, rep *Report) error {
	for _, l := range due {
		rep.add(Change{LeadID: l.ID, Action: "reminder", Detail: stage})
	}
	if dry {
		return nil
	}
	return parallel(due, func(l *Lead) error { return m.queue.Reminder(ctx, l.ID, stage) })
}

// remind runs remindScript for a page of leads, asking for a reminder for
// those in due, and returns the ones whose reminder was recorded.
func (s *Store) remind(ctx context.Context, index string, ids []string, stage string, due []*Lead) ([]*Lead, error) {
	wanted := map[string]*Lead{}
	for _, l := range due {
		wanted[l.ID] = l
	}
	now := ms(s.clock.Now())
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(ids))
		for i, id := range ids {
			out[i] = remindScript.EvalSha(ctx, p, []string{s.keys.lead(id), index, s.keys.dueRemind(2), s.keys.pending()},
				id, stage, flag(wanted[id] != nil), now)
		}
		return out
	})
	if err != nil {
		return nil, fmt.Errorf("record %s reminders: %w", stage, err)
	}
	var sent []*Lead
	for i, cmd := range cmds {
		if n, err := cmd.Int(); err == nil && n == 1 {
			sent = append(sent, wanted[ids[i]])
		}
	}
	return sent, nil
}

// Reminder outcomes are recorded on the lead under these fields.
var reminderField = map[string]string{StageFirst: "rm1", StageExpiry: "rm2"}

// reminderDoneScript records that a reminder was handled, once.
//
// KEYS: lead, pending, feed
// ARGV: field, outcome, pending member, feed entry JSON or "", feed limit
var reminderDoneScript = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[3])
if redis.call('HGET', KEYS[1], ARGV[1]) or not redis.call('HGET', KEYS[1], 'id') then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[4])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
end
return 1
`)

func init() { allScripts = append(allScripts, reminderDoneScript) }

// ReminderState returns how a lead's reminder of a stage ended ("" while
// not yet).
func (s *Store) ReminderState(ctx context.Context, id, stage string) (string, error) {
	v, err := s.rdb.HGet(ctx, s.keys.lead(id), reminderField[stage]).Result()
	if err != nil && err != redis.Nil {
		return "", fmt.Errorf("read reminder state of %s: %w", id, err)
	}
	return v, nil
}

// ReminderDone records how a lead's reminder ended and clears its pending
// work.
func (s *Store) ReminderDone(ctx context.Context, l *Lead, stage, outcome string, entry *FeedEntry) error {
	feed := ""
	if entry != nil {
		feed = mustJSON(entry)
	}
	k := s.keys
	err := reminderDoneScript.Run(ctx, s.rdb, []string{k.lead(l.ID), k.pending(), k.feed(l.PartnerID)},
		reminderField[stage], outcome, reminderTaskID(l.ID, stage), feed, FeedLimit).Err()
	if err != nil {
		return fmt.Errorf("record %s reminder of %s: %w", stage, l.ID, err)
	}
	return nil
}

// FeedReminder is the feed entry of a reminder.
const FeedReminder = "reminder"

// HandleReminder sends a reminder to the partner's recipient, unless the
// lead has left received meanwhile (then the reminder is dropped).
func (n *Notifier) HandleReminder(ctx context.Context, t *asynq.Task) error {
	var p ReminderPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	if p.Stage != StageFirst && p.Stage != StageExpiry {
		return fmt.Errorf("reminder stage %q: %w", p.Stage, asynq.SkipRetry)
	}
	unlock, err := n.store.Lock(ctx, reminderTaskID(p.LeadID, p.Stage), sendLockTTL)
	if err != nil || unlock == nil {
		return errors.Join(err, errBusy)
	}
	defer unlock()
	l, err := n.store.Get(ctx, p.LeadID)
	if ErrorCode(err) == ENotFound {
		return n.store.ClearPending(ctx, reminderTaskID(p.LeadID, p.Stage))
	}
	if err != nil {
		return err
	}
	return n.remind(ctx, l, p.Stage)
}

func (n *Notifier) remind(ctx context.Context, l *Lead, stage string) error {
	state, err := n.store.ReminderState(ctx, l.ID, stage)
	if err != nil {
		return err
	}
	if state != "" {
		return n.store.ClearPending(ctx, reminderTaskID(l.ID, stage))
	}
	log := n.leadLog(l).WithField("stage", stage)
	if l.Status != StatusReceived {
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
	return n.store.ReminderDone(ctx, l, stage, "sent", n.entry(FeedReminder, l, rcpt.Email))
}

// recipientOf resolves a lead's recipient as its announcement did.
func (n *Notifier) recipientOf(ctx context.Context, l *Lead) (Recipient, error) {
	partner, err := n.store.GetPartner(ctx, l.PartnerID)
	if err != nil {
		return Recipient{}, err
	}
	return ResolveRecipient(partner, l, l.fallback)
}

func (n *Notifier) sendReminder(ctx context.Context, l *Lead, stage string, rcpt Recipient) error {
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
