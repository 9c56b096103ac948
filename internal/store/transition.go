package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// change is one atomic change to a lead, carried out by transitionScript.
type change struct {
	action string              // verb for messages: "accept", "decline", ...
	from   []leadworker.Status // statuses the lead may be in
	rule   string              // why other statuses are refused, for the conflict message
	to     leadworker.Status   // new status, or "" to keep it
	rev    string              // expected revision, or "" for any
	notice bool                // the change owes the customer or originator a closing notice
	answer bool                // the change answers the lead: refused for an informational offer lead
	del    []string            // hash fields to delete
	set    []any               // hash field/value pairs to set
}

// Accept moves a received lead to accepted with its deal.
func (s *Store) Accept(ctx context.Context, id string, d leadworker.Deal) (*leadworker.Lead, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return s.apply(ctx, id, change{action: "accept", from: []leadworker.Status{leadworker.StatusReceived},
		rule: "only a received lead can be accepted", to: leadworker.StatusAccepted,
		set: []any{fDeal, mustJSON(d), fAccepted, ms(s.clock.Now())}})
}

// EditDeal changes the deal of an accepted lead. It reads the deal, applies
// the patch and writes it back only if nobody changed the lead meanwhile.
func (s *Store) EditDeal(ctx context.Context, id string, p leadworker.DealPatch) (*leadworker.Lead, error) {
	for range 10 {
		l, rev, err := s.getWithRev(ctx, id)
		if err != nil {
			return nil, err
		}
		if l.Status != leadworker.StatusAccepted || l.Deal == nil {
			return nil, conflict("edit the deal of", l, "only an accepted lead has a deal to edit")
		}
		d := p.Apply(*l.Deal)
		if err := d.Validate(); err != nil {
			return nil, err
		}
		l, err = s.apply(ctx, id, change{action: "edit the deal of", from: []leadworker.Status{leadworker.StatusAccepted},
			rule: "only an accepted lead has a deal to edit", rev: rev, set: []any{fDeal, mustJSON(d)}})
		if err != errRevision {
			return l, err
		}
	}
	return nil, leadworker.Errorf(leadworker.EConflict, "lead %s is being changed by others; try again", id)
}

// Decline archives a received lead with outcome declined.
func (s *Store) Decline(ctx context.Context, id string, d leadworker.Decline) (*leadworker.Lead, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return s.apply(ctx, id, change{action: "decline", from: []leadworker.Status{leadworker.StatusReceived},
		rule: "only a received lead can be declined", to: leadworker.StatusArchived, notice: true, answer: true,
		set: []any{fOutcome, string(leadworker.OutcomeDeclined), fDecline, mustJSON(d)}})
}

// Close archives an accepted lead as won or lost.
func (s *Store) Close(ctx context.Context, id string, o leadworker.Outcome) (*leadworker.Lead, error) {
	if o != leadworker.OutcomeWon && o != leadworker.OutcomeLost {
		return nil, leadworker.Invalidf("outcome", `outcome must be "won" or "lost"`)
	}
	return s.apply(ctx, id, change{action: "close", from: []leadworker.Status{leadworker.StatusAccepted},
		rule: "only an accepted lead can be closed as won or lost; accept it first", to: leadworker.StatusArchived,
		set: []any{fOutcome, string(o)}})
}

// SetFavorite marks or unmarks a lead that is not archived as a favorite.
func (s *Store) SetFavorite(ctx context.Context, id string, on bool) (*leadworker.Lead, error) {
	c := change{action: "change the favorite mark of", from: []leadworker.Status{leadworker.StatusReceived, leadworker.StatusAccepted},
		rule: "an archived lead takes no further action"}
	if on {
		c.set = []any{fFavorite, "1"}
	} else {
		c.del = []string{fFavorite}
	}
	return s.apply(ctx, id, c)
}

// errRevision tells EditDeal to read the lead again.
var errRevision = leadworker.Errorf(leadworker.EConflict, "lead changed while it was edited")

// apply runs one change and maps the script's answer to a lead or an error.
func (s *Store) apply(ctx context.Context, id string, c change) (*leadworker.Lead, error) {
	if err := leadworker.ValidateID("id", id); err != nil {
		return nil, notFound(id)
	}
	code, h, err := scriptResult(transitionScript.Run(ctx, s.rdb, s.keys.transition(id), c.args(id, s.clock.Now())...))
	if err != nil {
		return nil, fmt.Errorf("%s lead %s: %w", c.action, id, err)
	}
	if code == NotFound {
		return nil, notFound(id)
	}
	l, err := leadFromHash(h)
	switch {
	case err != nil:
		return nil, err
	case code == WrongState && c.answer && l.Informational && l.Status == leadworker.StatusReceived:
		return nil, leadworker.Errorf(leadworker.EConflict, "cannot %s lead %s: an informational offer lead (%s) needs no answer, so nobody is told it was declined; accept it to track a deal, or leave it to be archived", c.action, l.ID, l.CallToAction)
	case code == WrongState:
		return nil, conflict(c.action, l, c.rule)
	case code == Stale:
		return nil, errRevision
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
		pending = tasks.ClosingID(id)
	}
	args := []any{strings.Join(statuses, " "), c.rev, string(c.to), ms(now), pending, flag(c.answer), len(c.del)}
	for _, f := range c.del {
		args = append(args, f)
	}
	return append(args, c.set...)
}

// conflict explains why l's status forbids the action.
func conflict(action string, l *leadworker.Lead, rule string) error {
	state := string(l.Status)
	if l.Outcome != "" {
		state += " (" + string(l.Outcome) + ")"
	}
	if l.Status == leadworker.StatusArchived {
		rule = "an archived lead takes no further action"
	}
	return leadworker.Errorf(leadworker.EConflict, "cannot %s lead %s: it is %s; %s", action, l.ID, state, rule)
}

// getWithRev reads a lead and its revision in one call.
func (s *Store) getWithRev(ctx context.Context, id string) (*leadworker.Lead, string, error) {
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
