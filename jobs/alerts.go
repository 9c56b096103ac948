package jobs

import (
	"context"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/sirupsen/logrus"
)

// contactAlerts switches contact-requested leads older than AlertAfter to
// the overdue alert.
func (m *Maintenance) contactAlerts(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	cutoff := at.Add(-m.cfg.AlertAfter)
	for offset := 0; ; {
		ids, err := m.store.Due(ctx, store.DueAlerts, cutoff, offset, store.SweepPage)
		if err != nil || len(ids) == 0 {
			return err
		}
		leads, err := m.store.GetMany(ctx, ids)
		if err != nil {
			return err
		}
		switched := appendDue(nil, leads, func(l *leadworker.Lead) bool { return l.Alert == leadworker.AlertContactMe })
		if dry {
			offset += len(ids)
		} else if err := m.store.Overdue(ctx, ids, cutoff); err != nil {
			return err
		}
		for _, l := range switched {
			rep.add(Change{LeadID: l.ID, Action: "alert", Detail: string(leadworker.AlertContactMeOverdue)})
			m.log.WithFields(logrus.Fields{"lead_id": l.ID, "partner_id": l.PartnerID, "dry_run": dry}).Info("contact alert is overdue")
		}
	}
}
