package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/leadworker/leadworker"
	"github.com/redis/go-redis/v9"
)

const (
	fContacts    = "contacts"
	fPreferences = "preferences"
)

// PutContacts replaces a partner's business-profile contacts.
func (s *Store) PutContacts(ctx context.Context, pid string, c leadworker.Contacts) (*leadworker.Partner, error) {
	if err := leadworker.FirstErr(leadworker.ValidatePartnerID("partner_id", pid), c.Validate()); err != nil {
		return nil, err
	}
	return s.putPartner(ctx, pid, fContacts, c)
}

// PutPreferences replaces a partner's Action Center preferences.
func (s *Store) PutPreferences(ctx context.Context, pid string, p leadworker.Preferences) (*leadworker.Partner, error) {
	if err := leadworker.FirstErr(leadworker.ValidatePartnerID("partner_id", pid), p.Validate()); err != nil {
		return nil, err
	}
	return s.putPartner(ctx, pid, fPreferences, p)
}

func (s *Store) putPartner(ctx context.Context, pid, field string, v any) (*leadworker.Partner, error) {
	if err := s.rdb.HSet(ctx, s.keys.partner(pid), field, mustJSON(v)).Err(); err != nil {
		return nil, fmt.Errorf("store partner %s %s: %w", pid, field, err)
	}
	return s.GetPartner(ctx, pid)
}

// GetPartner returns a partner's contacts and preferences; a partner nobody
// described yet has neither.
func (s *Store) GetPartner(ctx context.Context, pid string) (*leadworker.Partner, error) {
	p, _, err := s.getPartner(ctx, pid)
	return p, err
}

// FindPartner is GetPartner for a partner that must have been described:
// ENotFound otherwise.
func (s *Store) FindPartner(ctx context.Context, pid string) (*leadworker.Partner, error) {
	p, found, err := s.getPartner(ctx, pid)
	if err == nil && !found {
		return nil, leadworker.Errorf(leadworker.ENotFound, "partner %s has no contacts or preferences yet", pid)
	}
	return p, err
}

// Partners reads the partners of leads, each once, in one round trip.
func (s *Store) Partners(ctx context.Context, leads []*leadworker.Lead) (map[string]*leadworker.Partner, error) {
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
	out := make(map[string]*leadworker.Partner, len(cmds))
	for pid, cmd := range cmds {
		if out[pid], err = partnerFromHash(pid, cmd.Val()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) getPartner(ctx context.Context, pid string) (*leadworker.Partner, bool, error) {
	h, err := s.rdb.HGetAll(ctx, s.keys.partner(pid)).Result()
	if err != nil {
		return nil, false, fmt.Errorf("get partner %s: %w", pid, err)
	}
	p, err := partnerFromHash(pid, h)
	return p, len(h) > 0, err
}

func partnerFromHash(pid string, h map[string]string) (*leadworker.Partner, error) {
	p := &leadworker.Partner{ID: pid}
	for field, dst := range map[string]any{fContacts: &p.Contacts, fPreferences: &p.Preferences} {
		if raw := h[field]; raw != "" {
			if err := json.Unmarshal([]byte(raw), dst); err != nil {
				return nil, fmt.Errorf("decode partner %s %s: %w", pid, field, err)
			}
		}
	}
	return p, nil
}
