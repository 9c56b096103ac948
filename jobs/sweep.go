package jobs

import (
	"context"
	"slices"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/sirupsen/logrus"
)

// swept is a lead a sweep changed (or, dry, would change).
type swept struct {
	ID    string
	Party string // expiry: who gets the closing notice ("customer", "originator", "")
	Batch string // expiry: the pending batch of closing notices the lead is in
}

// sweep runs page on every lead in index due by cutoff, a few pages at a
// time, and returns the leads it changed (dry: would change). The script
// behind page decides each lead and drops entries it changed or found gone
// from the index, so a real run steps only over what stays; a dry run
// changes nothing and steps over every entry.
func (m *Maintenance) sweep(ctx context.Context, index store.Index, cutoff time.Time, dry bool,
	page func(context.Context, []string) ([]store.Applied, error)) ([]swept, error) {
	var changed []swept
	for offset := 0; ; {
		ids, err := m.store.Due(ctx, index, cutoff, offset, store.SweepPages*store.SweepPage)
		if err != nil || len(ids) == 0 {
			return changed, err
		}
		res, err := store.InPages(ctx, ids, page)
		if err != nil {
			return changed, err
		}
		for i, r := range res {
			if r.Code == store.Changed {
				changed = append(changed, swept{ID: ids[i], Party: r.Party, Batch: r.Batch})
			}
			if dry || (r.Code != store.Changed && r.Code != store.NotFound) {
				offset++ // left in the index: step over it
			}
		}
	}
}

// appendDue appends to out the leads that exist and are due.
func appendDue(out, leads []*leadworker.Lead, due func(*leadworker.Lead) bool) []*leadworker.Lead {
	for _, l := range leads {
		if l != nil && due(l) {
			out = append(out, l)
		}
	}
	return out
}

// logLeads logs what happened to which leads, one line per page.
func (m *Maintenance) logLeads(ids []string, dry bool, msg string) {
	for page := range slices.Chunk(ids, store.SweepPage) {
		m.log.WithFields(logrus.Fields{"lead_ids": page, "count": len(page), "dry_run": dry}).Info(msg)
	}
}
