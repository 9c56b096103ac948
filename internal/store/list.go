package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/redis/go-redis/v9"
)

// Listing limits.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
	// maxScan bounds the index entries one page may look at, so a filter
	// that matches little cannot make one request read a whole partner's
	// history: the page comes back short with a cursor to go on from.
	maxScan = 5000
)

// Filter selects leads for a listing. Empty fields match everything.
type Filter struct {
	PartnerID     string
	Status        leadworker.Status
	Outcome       leadworker.Outcome
	Kind          leadworker.Kind
	LeadType      leadworker.LeadType
	CallToAction  leadworker.CallToAction
	Source        string
	Country       string
	Quality       string
	EmailValidity string
	PhoneValidity string
	Favorite      *bool
	CreatedFrom   *time.Time // inclusive
	CreatedTo     *time.Time // inclusive
	Limit         int
	Cursor        string // from a previous Page; "" starts at the newest lead
}

// Page is one page of a listing, newest lead first. NextCursor is empty when
// there is nothing more.
type Page struct {
	Items      []*leadworker.Lead `json:"items"`
	NextCursor string             `json:"next_cursor"`
}

// Validate checks the filter's enumerated values and cursor.
func (f *Filter) Validate() error {
	if f.Limit < 0 || f.Limit > MaxListLimit {
		return leadworker.Invalidf("limit", "limit must be a whole number from 1 to %d", MaxListLimit)
	}
	if f.CreatedFrom != nil && f.CreatedTo != nil && f.CreatedFrom.After(*f.CreatedTo) {
		return leadworker.Invalidf("created_from", "created_from must not be later than created_to")
	}
	if _, err := decodeCursor(f.Cursor); err != nil {
		return err
	}
	if f.PartnerID != "" {
		if err := leadworker.ValidatePartnerID("partner_id", f.PartnerID); err != nil {
			return err
		}
	}
	return leadworker.FirstErr(
		leadworker.CheckEnum("status", string(f.Status), leadworker.Statuses),
		leadworker.CheckEnum("outcome", string(f.Outcome), leadworker.Outcomes),
		leadworker.CheckEnum("kind", string(f.Kind), leadworker.Kinds),
		leadworker.CheckEnum("lead_type", string(f.LeadType), leadworker.LeadTypes),
		leadworker.CheckEnum("call_to_action", string(f.CallToAction), leadworker.CallsToAction),
		leadworker.CheckEnum("source", f.Source, leadworker.Sources),
		leadworker.CheckEnum("quality", f.Quality, leadworker.Qualities),
		leadworker.CheckEnum("email_validity", f.EmailValidity, leadworker.EmailValidites),
		leadworker.CheckEnum("phone_validity", f.PhoneValidity, leadworker.PhoneValidites),
	)
}

func (f *Filter) match(l *leadworker.Lead) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(string(f.Status), string(l.Status)) && eq(string(f.Outcome), string(l.Outcome)) &&
		eq(string(f.Kind), string(l.Kind)) && eq(string(f.LeadType), string(l.LeadType)) &&
		eq(string(f.CallToAction), string(l.CallToAction)) && eq(f.Source, l.Source) &&
		eq(f.Country, l.Customer.Country) && eq(f.Quality, l.Quality) &&
		eq(f.EmailValidity, l.EmailValidity) && eq(f.PhoneValidity, l.PhoneValidity) &&
		(f.Favorite == nil || *f.Favorite == l.Favorite)
}

func encodeCursor(member string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(member))
}

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || (c != "" && len(b) < 15) {
		return "", leadworker.Invalidf("cursor", "cursor is not one this server returned")
	}
	return string(b), nil
}

// bounds returns the lexical range of listing members the filter covers,
// from the newest (max) to the oldest (min).
func (f *Filter) bounds() (max, min string) {
	max, min = "+", "-"
	if f.CreatedTo != nil {
		max = fmt.Sprintf("(%013d", f.CreatedTo.UnixMilli()+1)
	}
	if c, _ := decodeCursor(f.Cursor); c != "" && (max == "+" || c < max[1:]) {
		max = "(" + c
	}
	if f.CreatedFrom != nil {
		min = fmt.Sprintf("[%013d", f.CreatedFrom.UnixMilli())
	}
	return max, min
}

// List returns one page of leads matching f, newest first. Paging by cursor
// neither skips nor repeats a lead while new leads arrive: the cursor is the
// position of the last lead returned.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}
	index := s.keys.all()
	if f.PartnerID != "" {
		index = s.keys.partnerLeads(f.PartnerID)
	}
	newest, oldest := f.bounds()
	page := Page{Items: []*leadworker.Lead{}}
	for scanned := 0; scanned < maxScan; {
		count := min(limit*2, maxScan-scanned)
		members, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: index, Start: newest, Stop: oldest,
			ByLex: true, Rev: true, Count: int64(count)}).Result()
		if err != nil {
			return Page{}, fmt.Errorf("list leads: %w", err)
		}
		ids := make([]string, len(members))
		for i, m := range members {
			ids[i] = m[14:] // after "<13-digit ms>|"
		}
		leads, err := s.GetMany(ctx, ids)
		if err != nil {
			return Page{}, err
		}
		for i, l := range leads {
			scanned++
			if l != nil && f.match(l) {
				page.Items = append(page.Items, l)
			}
			if len(page.Items) == limit || scanned == maxScan {
				page.NextCursor = encodeCursor(members[i])
				return page, nil
			}
		}
		if len(members) < count {
			return page, nil
		}
		newest = "(" + members[len(members)-1]
	}
	return page, nil
}

// GetMany reads leads in one round trip. An id whose lead is gone yields
// nil.
func (s *Store) GetMany(ctx context.Context, ids []string) ([]*leadworker.Lead, error) {
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.keys.lead(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read leads: %w", err)
	}
	leads := make([]*leadworker.Lead, len(ids))
	for i, cmd := range cmds {
		if h := cmd.Val(); len(h) > 0 {
			if leads[i], err = leadFromHash(h); err != nil {
				return nil, err
			}
		}
	}
	return leads, nil
}
