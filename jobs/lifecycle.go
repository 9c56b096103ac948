package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// change is one atomic change to a lead, carried out by transitionScript.
type change struct {
	action string   // verb for messages: "accept", "decline", ...
	from   []Status // statuses the lead may be in
	rule   string   // why other statuses are refused, for the conflict message
	to     Status   // new status, or "" to keep it
	rev    string   // expected revision, or "" for any
	cutoff string   // expiry and offer archive: the latest created ms that is due
	guard  string   // "expire" or "offer": the lead must be due for that sweep
	notice bool     // the change owes the customer or originator a closing notice
	quiet  bool     // do not return the lead (sweeps)
	del    []string // hash fields to delete
	set    []any    // hash field/value pairs to set
}

// Accept moves a received lead to accepted with its deal.
func (s *Store) Accept(ctx context.Context, id string, d Deal) (*Lead, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return s.apply(ctx, id, change{action: "accept", from: []Status{StatusReceived},
		rule: "only a received lead can be accepted", to: StatusAccepted,
		set: []any{fDeal, mustJSON(d)}})
}

// EditDeal changes the deal of an accepted lead. It reads the deal, applies
// the patch and writes it back only if nobody changed the lead meanwhile.
func (s *Store) EditDeal(ctx context.Context, id string, p DealPatch) (*Lead, error) {
	for range 10 {
		l, rev, err := s.getWithRev(ctx, id)
		if err != nil {
			return nil, err
		}
		if l.Status != StatusAccepted || l.Deal == nil {
			return nil, conflict("edit the deal of", l, "only an accepted lead has a deal to edit")
		}
		d := p.Apply(*l.Deal)
		if err := d.Validate(); err != nil {
			return nil, err
		}
		l, err = s.apply(ctx, id, change{action: "edit the deal of", from: []Status{StatusAccepted},
			rule: "only an accepted lead has a deal to edit", rev: rev, set: []any{fDeal, mustJSON(d)}})
		if err != errRevision {
			return l, err
		}
	}
	return nil, Errorf(EConflict, "lead %s is being changed by others; try again", id)
}

// Decline archives a received lead with outcome declined.
func (s *Store) Decline(ctx context.Context, id string, d Decline) (*Lead, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return s.apply(ctx, id, change{action: "decline", from: []Status{StatusReceived},
		rule: "only a received lead can be declined", to: StatusArchived, notice: true,
		set: []any{fOutcome, string(OutcomeDeclined), fDecline, mustJSON(d)}})
}

// Close archives an accepted lead as won or lost.
func (s *Store) Close(ctx context.Context, id string, o Outcome) (*Lead, error) {
	if o != OutcomeWon && o != OutcomeLost {
		return nil, Invalidf("outcome", `outcome must be "won" or "lost"`)
	}
	return s.apply(ctx, id, change{action: "close", from: []Status{StatusAccepted},
		rule: "only an accepted lead can be closed as won or lost; accept it first", to: StatusArchived,
		set: []any{fOutcome, string(o)}})
}

// SetFavorite marks or unmarks a lead that is not archived as a favorite.
func (s *Store) SetFavorite(ctx context.Context, id string, on bool) (*Lead, error) {
	c := change{action: "change the favorite mark of", from: []Status{StatusReceived, StatusAccepted},
		rule: "an archived lead takes no further action"}
	if on {
		c.set = []any{fFavorite, "1"}
	} else {
		c.del = []string{fFavorite}
	}
	return s.apply(ctx, id, c)
}

// Expire archives a received lead created at or before cutoff with outcome
// expired and erases the customer's name, email and phone. Informational
// offer leads never expire.
func (s *Store) Expire(ctx context.Context, id string, cutoff time.Time) (*Lead, error) {
	return s.apply(ctx, id, expireChange(cutoff))
}

func expireChange(cutoff time.Time) change {
	return change{action: "expire", from: []Status{StatusReceived},
		rule: "only a received lead can expire", to: StatusArchived, cutoff: ms(cutoff), guard: "expire", notice: true,
		del: []string{fName, fEmail, fPhone}, set: []any{fOutcome, string(OutcomeExpired)}}
}

// ArchiveOffer archives a received informational offer lead created at or
// before cutoff. It has no outcome: nobody had to answer it.
func (s *Store) ArchiveOffer(ctx context.Context, id string, cutoff time.Time) (*Lead, error) {
	return s.apply(ctx, id, archiveOfferChange(cutoff))
}

func archiveOfferChange(cutoff time.Time) change {
	return change{action: "archive", from: []Status{StatusReceived},
		rule: "only a received informational offer lead is archived at six months", to: StatusArchived,
		cutoff: ms(cutoff), guard: "offer"}
}

// errRevision tells EditDeal to read the lead again.
var errRevision = Errorf(EConflict, "lead changed while it was edited")

// apply runs one change and maps the script's answer to a lead or an error.
func (s *Store) apply(ctx context.Context, id string, c change) (*Lead, error) {
	if err := ValidateID("id", id); err != nil {
		return nil, notFound(id)
	}
	code, h, err := scriptResult(transitionScript.Run(ctx, s.rdb, s.keys.transition(id), c.args(id, s.clock.Now())...))
	if err != nil {
		return nil, fmt.Errorf("%s lead %s: %w", c.action, id, err)
	}
	if code == resNotFound {
		return nil, notFound(id)
	}
	l, err := leadFromHash(h)
	switch {
	case err != nil:
		return nil, err
	case code == resState:
		return nil, conflict(c.action, l, c.rule)
	case code == resRevision:
		return nil, errRevision
	case code == resNotDue:
		return nil, Errorf(EConflict, "cannot %s lead %s: it is not due", c.action, id)
	}
	return l, nil
}

func (c change) args(id string, now time.Time) []any {
	statuses := make([]string, len(c.from))
	for i, st := range c.from {
		statuses[i] = string(st)
	}
	pending := ""
	if c.notice {
		pending = closingTaskID(id)
	}
	args := []any{strings.Join(statuses, " "), c.rev, string(c.to), ms(now), c.cutoff, c.guard, pending, flag(!c.quiet), len(c.del)}
	for _, f := range c.del {
		args = append(args, f)
	}
	return append(args, c.set...)
}

// conflict explains why l's status forbids the action.
func conflict(action string, l *Lead, rule string) error {
	state := string(l.Status)
	if l.Outcome != "" {
		state += " (" + string(l.Outcome) + ")"
	}
	if l.Status == StatusArchived {
		rule = "an archived lead takes no further action"
	}
	return Errorf(EConflict, "cannot %s lead %s: it is %s; %s", action, l.ID, state, rule)
}

// getWithRev reads a lead and its revision in one call.
func (s *Store) getWithRev(ctx context.Context, id string) (*Lead, string, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.lead(id)).Result()
	if err != nil {
		return nil, "", fmt.Errorf("get lead %s: %w", id, err)
	}
	if len(h) == 0 {
		return nil, "", notFound(id)
	}
	rev := h[fRev]
	if rev == "" {
		rev = "0"
	}
	l, err := leadFromHash(h)
	return l, rev, err
}
