package jobs

import (
	"context"
	"slices"
	"time"

	"github.com/sirupsen/logrus"
)

// expire archives received leads older than ExpireAfter as expired, erases
// their contact data and enqueues their closing notices.
func (m *Maintenance) expire(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	cutoff := at.Add(-m.cfg.ExpireAfter)
	due := func(l *Lead) bool {
		return l.Status == StatusReceived && !l.Informational && !l.CreatedAt.After(cutoff)
	}
	apply := func(ctx context.Context, ids []string) ([]applied, error) {
		return inPages(ctx, ids, func(ctx context.Context, page []string) ([]applied, error) {
			return m.store.expirePage(ctx, page, cutoff)
		})
	}
	changed, err := m.sweep(ctx, m.store.keys.dueExpire(), cutoff, dry, due, apply)
	if err != nil {
		return err
	}
	ids := make([]string, len(changed))
	for i, l := range changed {
		ids[i] = l.ID
		rep.add(Change{LeadID: l.ID, Action: "expire", Detail: "closing notice to " + partyLabel[l.Party]})
		if !dry {
			m.stats.Transition(string(StatusArchived), string(OutcomeExpired))
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

// noticeParty says who gets a lead's closing notice, as the expiry script
// decides it.
func noticeParty(l *Lead) string {
	switch {
	case !l.IsQualified() && l.Customer.Email != "":
		return "customer"
	case l.IsQualified() && l.Originator != nil && l.Originator.Email != "":
		return "originator"
	}
	return ""
}

// logLeads logs what happened to which leads, one line per page.
func (m *Maintenance) logLeads(ids []string, dry bool, msg string) {
	for page := range slices.Chunk(ids, sweepPage) {
		m.log.WithFields(logrus.Fields{"lead_ids": page, "count": len(page), "dry_run": dry}).Info(msg)
	}
}

// OfferCutoff is the latest creation time of an informational offer lead
// that is archived at at: at minus the configured calendar months. A lead
// created on 30 May at 10:00 is archived from 30 November at 10:00; one
// created on 31 May at 10:00 from 1 December at 00:00 (30 November 23:59
// minus six months is still 30 May; 1 December minus six months is 1 June).
func (m *Maintenance) OfferCutoff(at time.Time) time.Time {
	return at.UTC().AddDate(0, -m.cfg.OfferArchiveAfter, 0)
}

// archiveOffers archives informational offer leads older than six months.
func (m *Maintenance) archiveOffers(ctx context.Context, at time.Time, dry bool, rep *Report) error {
	cutoff := m.OfferCutoff(at)
	due := func(l *Lead) bool {
		return l.Status == StatusReceived && l.Informational && !l.CreatedAt.After(cutoff)
	}
	apply := func(ctx context.Context, ids []string) ([]applied, error) {
		return inPages(ctx, ids, func(ctx context.Context, page []string) ([]applied, error) {
			return m.store.applyMany(ctx, page, archiveOfferChange(cutoff))
		})
	}
	changed, err := m.sweep(ctx, m.store.keys.dueOffers(), cutoff, dry, due, apply)
	ids := make([]string, len(changed))
	for i, l := range changed {
		ids[i] = l.ID
		rep.add(Change{LeadID: l.ID, Action: "archive"})
		if !dry {
			m.stats.Transition(string(StatusArchived), "")
		}
	}
	m.logLeads(ids, dry, "informational offer leads archived")
	return err
}

// sweep runs apply on every lead in index due by cutoff, a page at a time,
// and returns the leads it changed. A dry run reads the same pages and
// returns the leads due says would change; the real run reads no lead, the
// script reports what the report needs.
func (m *Maintenance) sweep(ctx context.Context, index string, cutoff time.Time, dry bool, due func(*Lead) bool,
	apply func(context.Context, []string) ([]applied, error)) ([]swept, error) {
	var changed []swept
	for offset := 0; ; {
		ids, err := m.store.dueIDs(ctx, index, cutoff, offset, sweepPages*sweepPage)
		if err != nil || len(ids) == 0 {
			return changed, err
		}
		if dry {
			leads, err := m.store.getMany(ctx, ids)
			for _, l := range appendDue(nil, leads, due) {
				changed = append(changed, swept{ID: l.ID, Party: noticeParty(l)})
			}
			offset += len(ids)
			if err != nil {
				return changed, err
			}
			continue
		}
		res, err := apply(ctx, ids)
		if err != nil {
			return changed, err
		}
		var gone []string
		for i, r := range res {
			switch r.Code {
			case resOK:
				changed = append(changed, swept{ID: ids[i], Party: r.Party, Batch: r.Batch})
			case resNotFound:
				gone = append(gone, ids[i])
			default:
				offset++ // left in the index: step over it
			}
		}
		if err := m.store.forget(ctx, index, gone); err != nil {
			return changed, err
		}
	}
}

func appendDue(out, leads []*Lead, due func(*Lead) bool) []*Lead {
	for _, l := range leads {
		if l != nil && due(l) {
			out = append(out, l)
		}
	}
	return out
}
