package jobs

import (
	"context"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
)

// expire archives received leads older than ExpireAfter as expired, erases
// their contact data and enqueues their closing notices. The rule lives in
// the store's expiry script; a dry run asks the same script to change
// nothing.
func (m *Maintenance) expire(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	cutoff := at.Add(-m.cfg.ExpireAfter)
	changed, err := m.sweep(ctx, store.DueExpire, cutoff, dry, func(ctx context.Context, ids []string) ([]store.Applied, error) {
		return m.store.ExpirePage(ctx, ids, cutoff, dry)
	})
	if err != nil {
		return err
	}
	ids := make([]string, len(changed))
	for i, l := range changed {
		ids[i] = l.ID
		rep.add(Change{LeadID: l.ID, Action: "expire", Detail: "closing notice to " + partyLabel[l.Party]})
		if !dry {
			m.stats.Transition(string(leadworker.StatusArchived), string(leadworker.OutcomeExpired))
		}
	}
	m.logLeads(ids, dry, "leads expired")
	if dry {
		return nil
	}
	// One task per batch sends the notices; the pending set already holds
	// each batch, so a lost enqueue is recovered by the digests job.
	return m.enqueueNotices(ctx, changed)
}

// enqueueNotices enqueues the closing notices of expired leads, one task per
// batch the expiry script recorded.
func (m *Maintenance) enqueueNotices(ctx context.Context, changed []swept) error {
	var order []string
	batches := map[string][]string{}
	for _, l := range changed {
		if batches[l.Batch] == nil {
			order = append(order, l.Batch)
		}
		batches[l.Batch] = append(batches[l.Batch], l.ID)
	}
	for _, name := range order {
		if err := m.queue.ClosingBatch(ctx, name, batches[name]); err != nil {
			return err
		}
	}
	return nil
}

// partyLabel words who gets an expired lead's closing notice.
var partyLabel = map[string]string{"customer": "the customer", "originator": "the originator", "": "nobody (no address)"}
