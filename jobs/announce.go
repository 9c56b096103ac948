package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/mailer"
)

// recordTimeout bounds recording what was sent once the task's context is
// gone: a message that went out must be recorded even during a shutdown.
const recordTimeout = 10 * time.Second

// HandleNotify announces one new lead.
func (n *Notifier) HandleNotify(ctx context.Context, t *asynq.Task) error {
	var p tasks.NotifyPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	return n.announceAll(ctx, []string{p.LeadID})
}

// HandleNotifyBatch announces a batch of new leads: those of the payload
// and any others recorded with the batch. Once every one's announcement has
// ended (or joined a digest) the batch is no longer pending.
func (n *Notifier) HandleNotifyBatch(ctx context.Context, t *asynq.Task) error {
	var p tasks.NotifyBatchPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	return n.inBatch(ctx, pendingBatch(tasks.NotifyBatchID, p.Batch), p.LeadIDs, func(ids []string) error { return n.announceAll(ctx, ids) })
}

// announceAll announces leads: each on its own, in its day's digest, or
// (informational offer leads) in the Action Center feed only. Leads whose
// announcement has ended are skipped, so a retry redoes only what failed.
func (n *Notifier) announceAll(ctx context.Context, ids []string) error {
	leads, err := n.store.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	todo, err := n.settle(ctx, ids, leads)
	if err != nil || len(todo) == 0 {
		return err
	}
	claims, err := n.claims(ctx, todo)
	if err != nil || len(claims) == 0 {
		return err
	}
	token := store.NewToken()
	if err := n.store.ClaimAll(ctx, storeClaims(claims), n.cfg.Threshold, token, sendLockTTL); err != nil {
		return err
	}
	return n.dispatch(ctx, claims, token)
}

// settle ends the announcements that need no email: leads gone, already
// announced, archived before their turn, or informational. It returns the
// leads left to announce.
func (n *Notifier) settle(ctx context.Context, ids []string, leads []*leadworker.Lead) ([]*leadworker.Lead, error) {
	var todo []*leadworker.Lead
	var ended []store.Announcement
	var clear []string
	for i, l := range leads {
		switch {
		case l == nil:
			n.log.WithField("lead_id", ids[i]).Warn("lead to announce no longer exists")
			clear = append(clear, tasks.NotifyID(ids[i]))
		case announced(l):
			clear = append(clear, tasks.NotifyID(l.ID))
		case l.Status == leadworker.StatusArchived: // e.g. a backdated lead that expired at once
			ended = append(ended, n.notAnnounced(l, fmt.Sprintf("not announced: the lead was archived (%s) before it could be", l.Outcome)))
		case n.pastDeadline(l):
			ended = append(ended, n.notAnnounced(l, "not announced: its answer deadline had passed before it could be; it expires at the next expiry run"))
		case l.Informational:
			ended = append(ended, store.Announcement{Lead: l, Notification: leadworker.Notification{Via: "feed"}, Entry: n.entry(leadworker.FeedInformational, l, "")})
			n.leadLog(l).Info("informational offer lead added to the Action Center feed")
		default:
			todo = append(todo, l)
		}
	}
	return todo, errors.Join(n.store.ClearPending(ctx, clear...), n.store.DoneAll(ctx, ended, ""))
}

// claim is one lead's announcement to decide, with the partner and
// recipient it was resolved from.
type claim struct {
	store.Claim
	partner   *leadworker.Partner  // the lead's partner, for a fallback
	recipient leadworker.Recipient // who Rcpt is
}

// storeClaims returns the store's part of each claim, for ClaimAll to fill.
func storeClaims(claims []*claim) []*store.Claim {
	out := make([]*store.Claim, len(claims))
	for i, c := range claims {
		out[i] = &c.Claim
	}
	return out
}

// notAnnounced is the record of a lead that is not announced, for why.
func (n *Notifier) notAnnounced(l *leadworker.Lead, why string) store.Announcement {
	n.leadLog(l).Info(why)
	return store.Announcement{Lead: l, Notification: leadworker.Notification{Error: why}}
}

// pastDeadline reports whether a lead that needs an answer can no longer
// be given one in time (an import of old leads, say): telling the partner
// would promise a deadline that is gone.
func (n *Notifier) pastDeadline(l *leadworker.Lead) bool {
	return l.Status == leadworker.StatusReceived && !l.Informational && !n.clock.Now().Before(l.CreatedAt.Add(n.cfg.ExpireAfter))
}

// claims resolves each lead's recipient and day. A lead nobody can receive
// is recorded as undeliverable here.
func (n *Notifier) claims(ctx context.Context, leads []*leadworker.Lead) ([]*claim, error) {
	partners, err := n.store.Partners(ctx, leads)
	if err != nil {
		return nil, err
	}
	var claims []*claim
	var none []store.Announcement
	for _, l := range leads {
		rcpt, err := leadworker.ResolveRecipient(partners[l.PartnerID], l, l.Fallback)
		if err != nil {
			none = append(none, n.failure(l, leadworker.Notification{Error: err.Error()}))
			n.leadLog(l).WithError(err).Error("lead could not be announced")
			continue
		}
		day := l.CreatedAt.In(rcpt.Location).Format(time.DateOnly)
		claims = append(claims, &claim{Claim: store.Claim{Lead: l, Rcpt: rcpt.Email, Day: day, SendAt: n.digestTime(day, rcpt.Location)},
			partner: partners[l.PartnerID], recipient: rcpt})
	}
	return claims, n.store.DoneAll(ctx, none, "")
}

// failure is the record of an announcement that cannot be made, with its
// feed entry.
func (n *Notifier) failure(l *leadworker.Lead, nt leadworker.Notification) store.Announcement {
	e := n.entry(leadworker.FeedUndelivered, l, nt.Recipient)
	e.Message = nt.Error
	return store.Announcement{Lead: l, Notification: nt, Entry: e}
}

// dispatch acts on the claims: digest leads wait for their digest, the rest
// are emailed now. Leads another worker holds fail the task, to come back.
func (n *Notifier) dispatch(ctx context.Context, claims []*claim, token string) error {
	var send []*claim
	var archived []store.Announcement
	var errs []error
	digests := map[string]digestAt{}
	for _, c := range claims {
		switch {
		case c.Slot == store.SlotIndividual:
			send = append(send, c)
		case c.InDigest():
			n.joinDigest(c, digests)
		case c.Slot == store.SlotBusy:
			errs = append(errs, fmt.Errorf("announce %s: %w", c.Lead.ID, errBusy))
		case c.Slot == store.SlotArchived:
			archived = append(archived, n.notAnnounced(c.Lead, "not announced: the lead was archived before it could be"))
		}
	}
	errs = append(errs, n.store.DoneAll(ctx, archived, ""))
	for _, d := range digests {
		errs = append(errs, n.queue.Digest(ctx, d.DigestPayload, d.at))
	}
	return errors.Join(append(errs, n.sendAll(ctx, send, token))...)
}

// sent is the end of one lead's email: recorded, or to retry with err.
type sent struct {
	store.Announcement
	source string // the recipient's source, for the log
	err    error  // a failure worth retrying: nothing is recorded
}

// sendAll emails the claimed leads in parallel and records each email as
// soon as it is accepted: a crash can leave unrecorded (and so sent again
// later) only the emails of the moment, not those of the whole batch.
// Whatever finished while a record was being written goes into the next one,
// so under load a round trip records many leads.
func (n *Notifier) sendAll(ctx context.Context, claims []*claim, token string) error {
	done := make(chan sent, len(claims))
	go func() {
		_ = parallel(claims, func(c *claim) error { done <- n.deliver(ctx, c); return nil })
		close(done)
	}()
	var errs []error
	for s := range done {
		batch := drain(done, []sent{s})
		errs = append(errs, n.record(ctx, batch, token)...)
	}
	return errors.Join(errs...)
}

// drain appends to batch whatever done holds right now.
func drain(done <-chan sent, batch []sent) []sent {
	for {
		select {
		case s, ok := <-done:
			if !ok {
				return batch
			}
			batch = append(batch, s)
		default:
			return batch
		}
	}
}

// record writes down the ended announcements of batch in one round trip and
// releases the locks of the leads to retry; it returns their errors. It
// records even when ctx is done: the emails went out.
func (n *Notifier) record(ctx context.Context, batch []sent, token string) []error {
	var ended []store.Announcement
	var retry []string
	var errs []error
	for _, s := range batch {
		if s.err != nil {
			retry, errs = append(retry, s.Lead.ID), append(errs, s.err)
			continue
		}
		ended = append(ended, s.Announcement)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := n.store.DoneAll(rctx, ended, token); err != nil {
		errs = append(errs, err)
	} else {
		n.logSent(batch)
	}
	return append(errs, n.store.Unlock(rctx, retry, token))
}

// deliver emails one lead, falling back once from a rejected location
// contact to the partner's default contact.
func (n *Notifier) deliver(ctx context.Context, c *claim) sent {
	l, rcpt := c.Lead, c.recipient
	err := n.sendTo(ctx, l, rcpt)
	if errors.Is(err, mailer.ErrPermanent) && rcpt.Source == leadworker.SourceLocation {
		n.leadLog(l).WithError(err).Warn("location contact rejected the lead; sending to the default contact")
		if err := n.store.MarkFallback(ctx, l.ID); err != nil {
			return sent{Announcement: store.Announcement{Lead: l}, err: err}
		}
		if rcpt, err = leadworker.ResolveRecipient(c.partner, l, true); err != nil {
			return sent{Announcement: n.failure(l, leadworker.Notification{Via: "individual", Error: err.Error()})}
		}
		err = n.sendTo(ctx, l, rcpt)
	}
	switch {
	case errors.Is(err, mailer.ErrPermanent):
		return sent{Announcement: n.failure(l, leadworker.Notification{Via: "individual", Recipient: rcpt.Email, Error: err.Error()}), source: rcpt.Source}
	case err != nil:
		return sent{Announcement: store.Announcement{Lead: l}, err: fmt.Errorf("announce %s: %w", l.ID, err)}
	}
	now := n.clock.Now().UTC()
	return sent{Announcement: store.Announcement{Lead: l, Notification: leadworker.Notification{Via: "individual", Recipient: rcpt.Email, SentAt: &now},
		Entry: n.entry(leadworker.FeedNewLead, l, rcpt.Email)}, source: rcpt.Source}
}

// logSent logs what happened to each recorded lead.
func (n *Notifier) logSent(out []sent) {
	for _, s := range out {
		switch {
		case s.err != nil:
		case s.Notification.Error != "":
			n.leadLog(s.Lead).WithField("recipient", s.Notification.Recipient).Error("lead could not be announced: " + s.Notification.Error)
		default:
			n.leadLog(s.Lead).WithField("recipient_source", s.source).Info("lead announced by email")
		}
	}
}
