package jobs

import (
	"context"
	"strings"
	"time"

	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
)

// pendingGrace is how old pending work must be before a sweep enqueues it
// again: younger work is most likely queued and about to run.
const pendingGrace = time.Minute

// digests enqueues every digest whose send time has come, and enqueues
// again any pending work older than a minute whose task was lost (an
// enqueue that failed after the change it follows was stored). Enqueueing
// work that is still queued is a no-op: its task id is taken.
func (m *Maintenance) digests(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	if err := m.dueDigests(ctx, at, dry, rep); err != nil {
		return err
	}
	return m.recoverPending(ctx, at, dry, rep)
}

func (m *Maintenance) dueDigests(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	for offset := 0; ; offset += store.SweepPage {
		members, err := m.store.Due(ctx, store.DueDigests, at, offset, store.SweepPage)
		if err != nil || len(members) == 0 {
			return err
		}
		for _, member := range members {
			rcpt, day := store.SplitDigestMember(member)
			rep.add(Change{Action: "digest", Detail: day})
			if !dry {
				if err := m.queue.Digest(ctx, tasks.DigestPayload{Recipient: rcpt, Day: day}, at); err != nil {
					return err
				}
			}
		}
	}
}

func (m *Maintenance) recoverPending(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	for offset := 0; ; offset += store.SweepPage {
		members, err := m.store.Due(ctx, store.Pending, at.Add(-pendingGrace), offset, store.SweepPage)
		if err != nil || len(members) == 0 {
			return err
		}
		err = parallel(members, func(member string) error {
			id, action := m.pendingTask(member)
			rep.add(Change{LeadID: id, Action: "requeue", Detail: member})
			if dry || action == nil {
				return nil
			}
			return action(ctx)
		})
		if err != nil {
			return err
		}
	}
}

// pendingTask maps a pending member back to its lead and its enqueue.
func (m *Maintenance) pendingTask(member string) (string, func(context.Context) error) {
	kind, rest, _ := strings.Cut(member, ":")
	switch kind {
	case "notify":
		return rest, func(ctx context.Context) error { return m.queue.Notify(ctx, rest) }
	case "closing":
		return rest, func(ctx context.Context) error { return m.queue.Closing(ctx, rest) }
	case "closing-batch":
		return "", func(ctx context.Context) error { return m.requeueBatch(ctx, member, m.queue.ClosingBatch) }
	case "notify-batch":
		return "", func(ctx context.Context) error { return m.requeueBatch(ctx, member, m.queue.NotifyBatch) }
	case "reminder":
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			return rest, nil
		}
		id, stage := rest[:i], rest[i+1:]
		return id, func(ctx context.Context) error { return m.queue.Reminder(ctx, id, stage) }
	}
	return "", nil
}

// requeueBatch enqueues a pending batch again, or forgets it when its ids
// are gone.
func (m *Maintenance) requeueBatch(ctx context.Context, member string, enqueue func(context.Context, string, []string) error) error {
	ids, read, err := m.store.BatchIDs(ctx, member)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return m.store.BatchDone(ctx, member, read)
	}
	_, name, _ := strings.Cut(member, ":")
	return enqueue(ctx, name, ids)
}
