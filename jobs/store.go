package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/leadworker/leadworker/internal/clock"
	"github.com/redis/go-redis/v9"
)

// MaxBatch is the largest number of leads one batch intake takes.
const MaxBatch = 1000

// Store keeps leads in Redis: a hash per lead plus the listing and time
// indexes described on keys. Every change to a lead is one Lua script that
// re-checks the lead's state, so racing changes cannot both win.
type Store struct {
	rdb   redis.UniversalClient
	keys  keys
	clock clock.Clock
}

// NewStore returns a store on rdb whose keys start with prefix.
func NewStore(rdb redis.UniversalClient, prefix string, clk clock.Clock) *Store {
	return &Store{rdb: rdb, keys: keys{prefix: prefix}, clock: clk}
}

// Load loads the store's scripts into Redis, so pipelined calls can use
// EVALSHA.
func (s *Store) Load(ctx context.Context) error {
	for _, sc := range allScripts {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("load lead store scripts: %w", err)
		}
	}
	return nil
}

// IntakeResult is the outcome of taking in one lead.
type IntakeResult struct {
	Lead    *Lead
	Created bool  // false: the same lead was already stored
	Err     error // an *Error with EInvalid or EConflict, or a Redis error
}

// Create validates and stores one lead. Taking the same lead in again
// returns the stored lead with Created false; another lead under a known id
// is an EConflict error.
func (s *Store) Create(ctx context.Context, in Intake) IntakeResult {
	return s.CreateBatch(ctx, []Intake{in})[0]
}

// CreateBatch validates and stores up to MaxBatch leads in one round trip.
// Each lead is stored or refused on its own; results are in input order.
func (s *Store) CreateBatch(ctx context.Context, ins []Intake) []IntakeResult {
	now := s.clock.Now()
	results := make([]IntakeResult, len(ins))
	for i := range ins {
		if results[i].Err = ins[i].Validate(now); results[i].Err == nil {
			results[i].Lead = newLead(ins[i], now)
		}
	}
	// A failed round trip reaches each lead through its own command's error.
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(ins))
		for i := range ins {
			if results[i].Err == nil {
				out[i] = s.intake(ctx, p, &ins[i], results[i].Lead)
			}
		}
		return out
	})
	for i := range results {
		switch {
		case cmds == nil && results[i].Err == nil:
			results[i] = IntakeResult{Err: fmt.Errorf("store lead %s: %w", ins[i].ID, err)}
		case cmds != nil && cmds[i] != nil:
			results[i] = intakeResult(results[i].Lead, cmds[i])
		}
	}
	return results
}

func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// intake queues the intake script for one validated lead on p.
func (s *Store) intake(ctx context.Context, p redis.Pipeliner, in *Intake, l *Lead) *redis.Cmd {
	k := s.keys
	ks := []string{k.lead(l.ID), k.all(), k.partnerLeads(l.PartnerID), k.dueExpire(), k.dueOffers(), k.dueAlerts(), k.pending(), k.dueRemind(1)}
	due := "expire"
	if l.Informational {
		due = "offers"
	}
	args := append([]any{digest(in), listMember(l.CreatedAt, l.ID), l.ID, ms(l.CreatedAt), due, flag(l.ContactRequested), ms(l.UpdatedAt)}, l.fields()...)
	return intakeScript.EvalSha(ctx, p, ks, args...)
}

// digest identifies an intake body: the same lead sent twice, however its
// JSON was formatted, has the same digest.
func digest(in *Intake) string {
	c := *in
	if c.Originator != nil && *c.Originator == (Person{}) {
		c.Originator = nil // an empty originator is no originator
	}
	if c.CreatedAt != nil {
		t := c.CreatedAt.UTC()
		c.CreatedAt = &t
	}
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func intakeResult(l *Lead, cmd *redis.Cmd) IntakeResult {
	code, h, err := scriptResult(cmd)
	switch {
	case err != nil:
		return IntakeResult{Err: fmt.Errorf("store lead %s: %w", l.ID, err)}
	case code == resOK:
		return IntakeResult{Lead: l, Created: true}
	case code == resSame:
		stored, err := leadFromHash(h)
		return IntakeResult{Lead: stored, Err: err}
	}
	return IntakeResult{Err: &Error{Code: EConflict, Field: "id",
		Message: fmt.Sprintf("lead %s already exists with different content; lead ids cannot be reused", l.ID)}}
}

// scriptResult splits a script's reply into its code and the lead hash that
// follows it, if any.
func scriptResult(cmd *redis.Cmd) (int64, map[string]string, error) {
	vals, err := cmd.Slice()
	if err != nil {
		return 0, nil, err
	}
	code, _ := vals[0].(int64)
	if len(vals) < 2 {
		return code, nil, nil
	}
	flat, _ := vals[1].([]any)
	h := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		h[fmt.Sprint(flat[i])] = fmt.Sprint(flat[i+1])
	}
	return code, h, nil
}

// Get returns one lead, or an ENotFound error.
func (s *Store) Get(ctx context.Context, id string) (*Lead, error) {
	if err := ValidateID("id", id); err != nil {
		return nil, notFound(id)
	}
	l, _, err := s.getWithRev(ctx, id)
	return l, err
}

func notFound(id string) error {
	return &Error{Code: ENotFound, Message: fmt.Sprintf("lead %s does not exist", id)}
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}
