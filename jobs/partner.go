package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Contact is a business-profile contact that receives a partner's leads.
type Contact struct {
	Email    string `json:"email"`
	Name     string `json:"name,omitempty"`
	Locale   string `json:"locale,omitempty"`
	TimeZone string `json:"time_zone,omitempty"`
}

// Contacts are a partner's business-profile contacts: a default one and one
// per location.
type Contacts struct {
	Default   *Contact           `json:"default"`
	Locations map[string]Contact `json:"locations,omitempty"`
}

// Preferences are a partner's Action Center preferences. A preferred email,
// when set, receives every lead.
type Preferences struct {
	PreferredEmail string `json:"preferred_email,omitempty"`
	Locale         string `json:"locale,omitempty"`
	TimeZone       string `json:"time_zone,omitempty"`
}

// Partner is what the store knows of a partner.
type Partner struct {
	ID          string      `json:"id"`
	Contacts    Contacts    `json:"contacts"`
	Preferences Preferences `json:"preferences"`
}

// Partner hash fields.
const (
	fContacts    = "contacts"
	fPreferences = "preferences"
)

func checkLocale(field, v string) error {
	if v != "" && !slices.Contains(Locales, v) {
		return Invalidf(field, "%s must be one of en, ja, zh-Hant, ru, not %q", field, v)
	}
	return nil
}

func checkTimeZone(field, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.LoadLocation(v); err != nil || v == "Local" {
		return Invalidf(field, "%s must be an IANA time zone such as Asia/Tokyo, not %q", field, v)
	}
	return nil
}

func (c *Contact) validate(field string) error {
	if c.Email == "" {
		return Invalidf(field+".email", "%s.email is required", field)
	}
	return firstErr(
		ValidateEmail(field+".email", c.Email),
		checkLine(field+".name", c.Name, MaxTextLen),
		checkLocale(field+".locale", c.Locale),
		checkTimeZone(field+".time_zone", c.TimeZone),
	)
}

// Validate checks contacts: a default contact is required, locations are
// named like ids.
func (c *Contacts) Validate() error {
	if c.Default == nil {
		return Invalidf("default", "default contact is required")
	}
	if err := c.Default.validate("default"); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Locations)) {
		field := "locations." + name
		if err := ValidateID(field, name); err != nil {
			return err
		}
		contact := c.Locations[name]
		if err := contact.validate(field); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks preferences.
func (p *Preferences) Validate() error {
	return firstErr(
		ValidateEmail("preferred_email", p.PreferredEmail),
		checkLocale("locale", p.Locale),
		checkTimeZone("time_zone", p.TimeZone),
	)
}

// PutContacts replaces a partner's business-profile contacts.
func (s *Store) PutContacts(ctx context.Context, pid string, c Contacts) (*Partner, error) {
	if err := firstErr(ValidateID("partner_id", pid), c.Validate()); err != nil {
		return nil, err
	}
	return s.putPartner(ctx, pid, fContacts, c)
}

// PutPreferences replaces a partner's Action Center preferences.
func (s *Store) PutPreferences(ctx context.Context, pid string, p Preferences) (*Partner, error) {
	if err := firstErr(ValidateID("partner_id", pid), p.Validate()); err != nil {
		return nil, err
	}
	return s.putPartner(ctx, pid, fPreferences, p)
}

func (s *Store) putPartner(ctx context.Context, pid, field string, v any) (*Partner, error) {
	if err := s.rdb.HSet(ctx, s.keys.partner(pid), field, mustJSON(v)).Err(); err != nil {
		return nil, fmt.Errorf("store partner %s %s: %w", pid, field, err)
	}
	return s.GetPartner(ctx, pid)
}

// GetPartner returns a partner's contacts and preferences; a partner nobody
// described yet has neither.
func (s *Store) GetPartner(ctx context.Context, pid string) (*Partner, error) {
	p, _, err := s.getPartner(ctx, pid)
	return p, err
}

// FindPartner is GetPartner for a partner that must have been described:
// ENotFound otherwise.
func (s *Store) FindPartner(ctx context.Context, pid string) (*Partner, error) {
	p, found, err := s.getPartner(ctx, pid)
	if err == nil && !found {
		return nil, Errorf(ENotFound, "partner %s has no contacts or preferences yet", pid)
	}
	return p, err
}

// partners reads the partners of leads, each once, in one round trip.
func (s *Store) partners(ctx context.Context, leads []*Lead) (map[string]*Partner, error) {
	cmds := map[string]*redis.MapStringStringCmd{}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, l := range leads {
			if cmds[l.PartnerID] == nil {
				cmds[l.PartnerID] = p.HGetAll(ctx, s.keys.partner(l.PartnerID))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read partners: %w", err)
	}
	out := make(map[string]*Partner, len(cmds))
	for pid, cmd := range cmds {
		if out[pid], err = partnerFromHash(pid, cmd.Val()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) getPartner(ctx context.Context, pid string) (*Partner, bool, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.partner(pid)).Result()
	if err != nil {
		return nil, false, fmt.Errorf("get partner %s: %w", pid, err)
	}
	p, err := partnerFromHash(pid, h)
	return p, len(h) > 0, err
}

func partnerFromHash(pid string, h map[string]string) (*Partner, error) {
	p := &Partner{ID: pid}
	for field, dst := range map[string]any{fContacts: &p.Contacts, fPreferences: &p.Preferences} {
		if raw := h[field]; raw != "" {
			if err := json.Unmarshal([]byte(raw), dst); err != nil {
				return nil, fmt.Errorf("decode partner %s %s: %w", pid, field, err)
			}
		}
	}
	return p, nil
}
