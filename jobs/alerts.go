package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
)

// alertScript switches one lead's contact_me alert to overdue once it was
// created at or before the cutoff, and takes it out of the alert index.
// Returns 0 when switched, 1 when not due yet, 2 when the entry was stale.
//
// KEYS: lead, due-alerts
// ARGV: id, cutoff ms, now ms
var alertScript = redis.NewScript(`
local at = tonumber(redis.call('HGET', KEYS[1], 'at'))
if not at then redis.call('ZREM', KEYS[2], ARGV[1]) return 2 end
if at > tonumber(ARGV[2]) then return 1 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'al') ~= 'contact_me' then return 2 end
redis.call('HSET', KEYS[1], 'al', 'contact_me_overdue', 'upd', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'rev', 1)
return 0
`)

func init() { allScripts = append(allScripts, alertScript) }

// contactAlerts switches contact-requested leads older than AlertAfter to
// the overdue alert.
func (m *Maintenance) contactAlerts(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	cutoff := at.Add(-m.cfg.AlertAfter)
	for offset := 0; ; {
		ids, err := m.store.dueIDs(ctx, m.store.keys.dueAlerts(), cutoff, offset, sweepPage)
		if err != nil || len(ids) == 0 {
			return err
		}
		leads, err := m.store.getMany(ctx, ids)
		if err != nil {
			return err
		}
		switched := appendDue(nil, leads, func(l *Lead) bool { return l.Alert == AlertContactMe })
		if dry {
			offset += len(ids)
		} else if err := m.store.overdue(ctx, ids, cutoff); err != nil {
			return err
		}
		for _, l := range switched {
			rep.add(Change{LeadID: l.ID, Action: "alert", Detail: string(AlertContactMeOverdue)})
			m.log.WithFields(logrus.Fields{"lead_id": l.ID, "partner_id": l.PartnerID, "dry_run": dry}).Info("contact alert is overdue")
		}
	}
}

// overdue runs alertScript on each lead in one round trip. Every due entry
// leaves the index, so the next page starts at the beginning again.
func (s *Store) overdue(ctx context.Context, ids []string, cutoff time.Time) error {
	now := ms(s.clock.Now())
	_, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(ids))
		for i, id := range ids {
			out[i] = alertScript.EvalSha(ctx, p, []string{s.keys.lead(id), s.keys.dueAlerts()}, id, ms(cutoff), now)
		}
		return out
	})
	if err != nil {
		return fmt.Errorf("switch alerts: %w", err)
	}
	return nil
}
