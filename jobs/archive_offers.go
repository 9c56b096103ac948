package jobs

import (
	"context"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
)

// OfferCutoff is the latest creation time of an informational offer lead
// that is archived at at: at minus the configured calendar months. A lead
// created on 30 May at 10:00 is archived from 30 November at 10:00; one
// created on 31 May at 10:00 from 1 December at 00:00 (30 November 23:59
// minus six months is still 30 May; 1 December minus six months is 1 June).
func (m *Maintenance) OfferCutoff(at time.Time) time.Time {
	return at.UTC().AddDate(0, -m.cfg.OfferArchiveAfter, 0)
}

// archiveOffers archives informational offer leads older than six months.
// The rule lives in the store's script; a dry run asks it to change
// nothing.
func (m *Maintenance) archiveOffers(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	cutoff := m.OfferCutoff(at)
	changed, err := m.sweep(ctx, store.DueOffers, cutoff, dry, func(ctx context.Context, ids []string) ([]store.Applied, error) {
		return m.store.ArchiveOffersPage(ctx, ids, cutoff, dry)
	})
	ids := make([]string, len(changed))
	for i, l := range changed {
		ids[i] = l.ID
		rep.add(Change{LeadID: l.ID, Action: "archive"})
		if !dry {
			m.stats.Transition(string(leadworker.StatusArchived), "")
		}
	}
	m.logLeads(ids, dry, "informational offer leads archived")
	return err
}
