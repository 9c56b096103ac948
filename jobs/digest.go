package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/mailer"
	"github.com/leadworker/leadworker/templates"
	"github.com/sirupsen/logrus"
)

// The digest rule: per recipient and calendar day (the day of the lead's
// created_at in the recipient's time zone) the first Threshold leads are
// emailed one by one; the rest wait for one digest, sent at DigestAt on the
// next day. The decision is made once per lead, atomically with its count,
// by Store.ClaimAll (internal/store/lua/claim.lua) when the announcement
// runs; a lead that joins a digest is noted here, and the digest task sends
// it.

// joinDigest notes a lead that joined its day's digest and, while that
// digest's time is still ahead, the digest task to enqueue. A digest whose
// time has passed goes out at the next digests run with any other late
// leads.
func (n *Notifier) joinDigest(c *claim, digests map[string]digestAt) {
	member := strings.TrimPrefix(c.Slot, "digest|")
	rcpt, day := store.SplitDigestMember(member)
	sendAt := n.digestTime(day, c.recipient.Location)
	n.leadLog(c.Lead).WithFields(logrus.Fields{"day": day, "send_at": sendAt}).Info("lead joins the day's digest")
	if sendAt.After(n.clock.Now()) {
		digests[member] = digestAt{tasks.DigestPayload{Recipient: rcpt, Day: day}, sendAt}
	}
}

// digestAt is a digest task to enqueue and when it runs.
type digestAt struct {
	tasks.DigestPayload
	at time.Time
}

// digestTime is DigestAt on the day after day, in loc's wall-clock time
// (daylight-saving rules included). A time that falls into a spring-forward
// gap is moved past it (02:30 becomes 03:30), never before it.
func (n *Notifier) digestTime(day string, loc *time.Location) time.Time {
	d, _ := time.ParseInLocation(time.DateOnly, day, loc)
	hour, minute := int(n.cfg.DigestAt/time.Hour), int(n.cfg.DigestAt%time.Hour/time.Minute)
	t := time.Date(d.Year(), d.Month(), d.Day()+1, hour, minute, 0, 0, loc)
	if t.Hour() != hour || t.Minute() != minute {
		_, before := t.Zone()
		_, after := t.Add(12 * time.Hour).Zone()
		t = t.Add(time.Duration(after-before) * time.Second)
	}
	return t
}

// DefaultDigestMaxLeads is how many leads one digest email lists unless
// NotifyConfig.DigestMaxLeads says otherwise.
const DefaultDigestMaxLeads = 200

// HandleDigest sends one recipient's digest for one day, in parts of at
// most DigestMaxLeads leads, oldest first; each part lists its valid leads
// first and potential spam last. A part's list is sealed before it is
// sent, so a retry sends exactly that part again under the same
// Message-ID, and a lead that joins meanwhile goes into a further part.
// A part refused for good is recorded on its leads and the next parts
// still go out.
func (n *Notifier) HandleDigest(ctx context.Context, t *asynq.Task) error {
	var p tasks.DigestPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	unlock, err := n.store.Lock(ctx, tasks.DigestID(p.Recipient, p.Day), sendLockTTL)
	if err != nil || unlock == nil {
		return errors.Join(err, errBusy)
	}
	defer unlock()
	var refused error
	for {
		part, leads, err := n.nextPart(ctx, p)
		if err != nil || part == nil {
			return errors.Join(err, refused)
		}
		err = n.sendDigest(ctx, p, part, leads)
		switch {
		case errors.Is(err, errResealed):
			// the smaller part goes out next
		case errors.Is(err, asynq.SkipRetry):
			refused = err // recorded on the part's leads: go on with the next part
		case err != nil:
			return err
		}
	}
}

// nextPart returns the digest's part to send and its leads: the part
// sealed before, as it was, or else a new part of the oldest leads still
// waiting, sealed now. It returns no part once none is left, and the
// digest then stops being due.
func (n *Notifier) nextPart(ctx context.Context, p tasks.DigestPayload) (*store.DigestPart, []*leadworker.Lead, error) {
	part, err := n.store.SealedDigest(ctx, p.Recipient, p.Day)
	if err == nil && part == nil {
		part, err = n.sealPart(ctx, p)
	}
	if err != nil || part == nil {
		return nil, nil, err
	}
	leads, err := n.store.GetMany(ctx, part.IDs)
	return part, slices.DeleteFunc(leads, func(l *leadworker.Lead) bool { return l == nil }), err
}

// sealPart seals the next part of the digest from the leads waiting in it,
// leaving out those archived while they waited; nil when none is left.
func (n *Notifier) sealPart(ctx context.Context, p tasks.DigestPayload) (*store.DigestPart, error) {
	leads, err := n.store.DigestLeads(ctx, p.Recipient, p.Day)
	if err == nil {
		leads, err = n.leaveOutArchived(ctx, p, leads)
	}
	if err != nil || len(leads) == 0 {
		return nil, errors.Join(err, n.store.DigestSent(ctx, p.Recipient, p.Day, p.Recipient, nil, n.clock.Now(), "", nil))
	}
	max := cmp.Or(n.cfg.DigestMaxLeads, DefaultDigestMaxLeads)
	ids := make([]string, 0, max)
	for _, l := range leads[:min(max, len(leads))] {
		ids = append(ids, l.ID)
	}
	return n.store.SealDigest(ctx, p.Recipient, p.Day, ids, (len(leads)+max-1)/max)
}

// leaveOutArchived records the digest's leads that were archived (declined
// or expired) while they waited as not announced, takes them out of the
// digest, and returns the others: an archived lead is no new lead.
func (n *Notifier) leaveOutArchived(ctx context.Context, p tasks.DigestPayload, leads []*leadworker.Lead) ([]*leadworker.Lead, error) {
	var archived, open []*leadworker.Lead
	for _, l := range leads {
		if l.Status == leadworker.StatusArchived {
			archived = append(archived, l)
			n.leadLog(l).WithField("outcome", l.Outcome).Info("left out of the digest: the lead was archived before it went out")
		} else {
			open = append(open, l)
		}
	}
	if len(archived) == 0 {
		return leads, nil
	}
	const why = "not announced: the lead was archived before its digest went out"
	return open, n.store.DigestSent(ctx, p.Recipient, p.Day, p.Recipient, archived, n.clock.Now(), why, nil)
}

// sendDigest emails the digest and records how it went. A location
// contact that refuses it for good gets it no more: its leads fall back,
// once, to the partner's default contact, who gets the digest instead.
func (n *Notifier) sendDigest(ctx context.Context, p tasks.DigestPayload, part *store.DigestPart, leads []*leadworker.Lead) error {
	if len(leads) == 0 { // the part's leads are gone: nothing to send
		return n.store.DigestSent(ctx, p.Recipient, p.Day, p.Recipient, nil, n.clock.Now(), "", nil)
	}
	sortForDigest(leads)
	ids := make([]string, len(leads))
	for i, l := range leads {
		ids[i] = l.ID
	}
	rcpt := n.digestRecipient(ctx, p.Recipient, leads[0])
	err := n.mailDigest(ctx, p, part, leads, ids, rcpt, "")
	if errors.Is(err, mailer.ErrTooLarge) && len(part.IDs) > 1 {
		return n.reseal(ctx, p, part, err)
	}
	if errors.Is(err, mailer.ErrPermanent) && !errors.Is(err, mailer.ErrTooLarge) && rcpt.Source == leadworker.SourceLocation {
		n.log.WithError(err).WithFields(logrus.Fields{"day": p.Day, "lead_ids": ids}).
			Warn("location contact rejected the digest; sending it to the default contact")
		def, ferr := n.digestFallback(ctx, leads)
		if ferr != nil {
			return ferr
		}
		if def.Email != "" {
			rcpt, err = def, n.mailDigest(ctx, p, part, leads, ids, def, ".default")
		}
	}
	return n.digestDone(ctx, p, leads, ids, rcpt.Email, err)
}

// errResealed says a digest part was sealed again, smaller, to be sent.
var errResealed = errors.New("digest part sealed again, smaller")

// reseal seals a part the server refused as too large again with its first
// half of leads; the rest wait for a further part. The part never went
// out, so its list may change.
func (n *Notifier) reseal(ctx context.Context, p tasks.DigestPayload, part *store.DigestPart, tooLarge error) error {
	keep := part.IDs[:len(part.IDs)/2]
	n.log.WithError(tooLarge).WithFields(logrus.Fields{"day": p.Day, "part": part.N, "leads": len(part.IDs), "now": len(keep)}).
		Warn("digest part too large for the mail server; sending it in smaller parts")
	if _, err := n.store.ResealDigest(ctx, p.Recipient, p.Day, keep, part.Parts+1); err != nil {
		return err
	}
	return errResealed
}

// digestFallback marks the digest's leads as falling back to the default
// contact and returns that contact (no email when there is none).
func (n *Notifier) digestFallback(ctx context.Context, leads []*leadworker.Lead) (leadworker.Recipient, error) {
	for _, l := range leads {
		if err := n.store.MarkFallback(ctx, l.ID); err != nil {
			return leadworker.Recipient{}, err
		}
	}
	partner, err := n.store.GetPartner(ctx, leads[0].PartnerID)
	if err != nil {
		return leadworker.Recipient{}, err
	}
	def, _ := leadworker.ResolveRecipient(partner, leads[0], true)
	return def, nil
}

// mailDigest renders the digest for rcpt and sends it; suffix tells apart
// the Message-ID of a fallback copy.
func (n *Notifier) mailDigest(ctx context.Context, p tasks.DigestPayload, part *store.DigestPart, leads []*leadworker.Lead, ids []string, rcpt leadworker.Recipient, suffix string) error {
	total, err := n.store.DayCount(ctx, p.Recipient, p.Day)
	if err != nil {
		return err
	}
	data := templates.DigestData{RecipientName: rcpt.Name, Day: p.Day, Total: total, ExpireDays: n.cfg.expireDays(),
		Part: part.N, Parts: part.Parts}
	for _, l := range leads {
		data.Leads = append(data.Leads, n.view(l, rcpt.Locale))
	}
	email, err := templates.Render(templates.Digest, rcpt.Locale, data)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	msgID := "digest-" + p.Day + "-" + tasks.ShortHash(append([]string{p.Recipient}, ids...)...) + suffix
	err = n.mail.Send(ctx, n.message(rcpt.Email, msgID, email, ids...))
	n.count("digest", err)
	if err == nil {
		n.stats.DigestSent(len(leads))
	}
	return err
}

// digestDone records the digest's outcome on its leads and in the feeds.
func (n *Notifier) digestDone(ctx context.Context, p tasks.DigestPayload, leads []*leadworker.Lead, ids []string, sentTo string, err error) error {
	log := n.log.WithFields(logrus.Fields{"day": p.Day, "lead_ids": ids})
	failure := ""
	switch {
	case errors.Is(err, mailer.ErrPermanent):
		failure = err.Error()
		log.WithError(err).Error("digest rejected by the mail server; its leads are recorded as undelivered")
	case lastAttempt(ctx, err):
		retried, _ := asynq.GetRetryCount(ctx)
		failure = fmt.Sprintf("gave up after %d attempts: %v", retried+1, err)
		n.stats.EmailFailed("digest", "gave_up")
		log.WithError(err).Error("giving up on the digest; its leads are recorded as undelivered")
	case err != nil:
		return fmt.Errorf("send digest for %s: %w", p.Day, err)
	}
	typ := leadworker.FeedDigest
	if failure != "" {
		typ = leadworker.FeedUndelivered
	}
	entries := map[string]leadworker.FeedEntry{}
	for _, l := range leads {
		e := entries[l.PartnerID]
		e.Type, e.Recipient, e.Message, e.At = typ, sentTo, failure, n.clock.Now().UTC()
		e.LeadIDs = append(e.LeadIDs, l.ID)
		entries[l.PartnerID] = e
	}
	if err := n.store.DigestSent(ctx, p.Recipient, p.Day, sentTo, leads, n.clock.Now(), failure, entries); err != nil {
		return err
	}
	if failure != "" {
		return fmt.Errorf("digest for %s: %w", p.Day, asynq.SkipRetry)
	}
	log.WithField("leads", len(leads)).Info("digest sent")
	return nil
}

// sortForDigest puts valid leads first and potential spam last, each group
// oldest first.
func sortForDigest(leads []*leadworker.Lead) {
	slices.SortStableFunc(leads, func(a, b *leadworker.Lead) int {
		if a.IsSpam() != b.IsSpam() {
			if a.IsSpam() {
				return 1
			}
			return -1
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
}

// digestRecipient finds the name and locale of a digest's recipient through
// the partner of one of its leads; en without a name when that fails.
func (n *Notifier) digestRecipient(ctx context.Context, email string, l *leadworker.Lead) leadworker.Recipient {
	fallback := leadworker.Recipient{Email: email, Locale: "en", Location: time.UTC}
	partner, err := n.store.GetPartner(ctx, l.PartnerID)
	if err != nil {
		return fallback
	}
	for _, fb := range []bool{false, true} {
		if r, err := leadworker.ResolveRecipient(partner, l, fb); err == nil && r.Email == email {
			return r
		}
	}
	return fallback
}
