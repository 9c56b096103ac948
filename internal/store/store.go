package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/tasks"
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
	Lead    *leadworker.Lead
	Created bool // false: the same lead was already stored
	// Batch names the announcement batch of a lead created with others
	// ("" for a lead taken in alone): enqueue its announcement with
	// Queue.NotifyBatch together with the other created leads of the batch.
	Batch string
	Err   error // an *Error with EInvalid or EConflict, or a Redis error
}

// Create validates and stores one lead. Taking the same lead in again
// returns the stored lead with Created false; another lead under a known id
// is an EConflict error.
func (s *Store) Create(ctx context.Context, in leadworker.Intake) IntakeResult {
	return s.CreateBatch(ctx, []leadworker.Intake{in})[0]
}

// CreateBatch validates and stores up to MaxBatch leads in one round trip.
// Each lead is stored or refused on its own; results are in input order.
func (s *Store) CreateBatch(ctx context.Context, ins []leadworker.Intake) []IntakeResult {
	now := s.clock.Now()
	results := make([]IntakeResult, len(ins))
	for i := range ins {
		if results[i].Err = ins[i].Validate(now); results[i].Err == nil {
			results[i].Lead = leadworker.NewLead(ins[i], now)
		}
	}
	batches := announceBatches(results)
	// A failed round trip reaches each lead through its own command's error.
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(ins))
		for i := range ins {
			if results[i].Err == nil {
				out[i] = s.intake(ctx, p, &ins[i], results[i].Lead, batches[i])
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
			results[i].Batch = batches[i]
		}
	}
	return results
}

func isNoScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}

// announceBatches names the announcement batch of each valid lead: the
// valid leads in input order, tasks.AnnounceBatch to a batch, each named by a
// digest of its ids. A lead alone in its intake has no batch.
func announceBatches(results []IntakeResult) []string {
	var valid []int
	for i, r := range results {
		if r.Err == nil {
			valid = append(valid, i)
		}
	}
	names := make([]string, len(results))
	if len(valid) < 2 {
		return names
	}
	for chunk := range slices.Chunk(valid, tasks.AnnounceBatch) {
		ids := make([]string, len(chunk))
		for j, i := range chunk {
			ids[j] = results[i].Lead.ID
		}
		name := tasks.ShortHash(ids...)
		for _, i := range chunk {
			names[i] = name
		}
	}
	return names
}

// intake queues the intake script for one validated lead on p; batch names
// its announcement batch, if any.
func (s *Store) intake(ctx context.Context, p redis.Pipeliner, in *leadworker.Intake, l *leadworker.Lead, batch string) *redis.Cmd {
	k := s.keys
	ks := []string{k.lead(l.ID), k.all(), k.partnerLeads(l.PartnerID), k.dueExpire(), k.dueOffers(), k.dueAlerts(), k.pending(), k.dueRemind(1)}
	pending := tasks.NotifyID(l.ID)
	if batch != "" {
		ks, pending = append(ks, k.notifyBatch(batch)), tasks.NotifyBatchID(batch)
	}
	due := "expire"
	if l.Informational {
		due = "offers"
	}
	args := append([]any{digest(in), listMember(l.CreatedAt, l.ID), l.ID, ms(l.CreatedAt), due, flag(l.ContactRequested), ms(l.UpdatedAt), pending}, leadFields(l)...)
	return intakeScript.EvalSha(ctx, p, ks, args...)
}

// digest identifies an intake body: the same lead sent twice, however its
// JSON was formatted, has the same digest.
func digest(in *leadworker.Intake) string {
	c := *in
	if c.Originator != nil && *c.Originator == (leadworker.Person{}) {
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

func intakeResult(l *leadworker.Lead, cmd *redis.Cmd) IntakeResult {
	code, h, err := scriptResult(cmd)
	switch {
	case err != nil:
		return IntakeResult{Err: fmt.Errorf("store lead %s: %w", l.ID, err)}
	case code == Changed:
		return IntakeResult{Lead: l, Created: true}
	case code == Same:
		stored, err := leadFromHash(h)
		return IntakeResult{Lead: stored, Err: err}
	}
	return IntakeResult{Err: &leadworker.Error{Code: leadworker.EConflict, Field: "id",
		Message: fmt.Sprintf("lead %s already exists with different content; lead ids cannot be reused", l.ID)}}
}

// scriptResult splits a script's reply into its code and the lead hash that
// follows it, if any.
func scriptResult(cmd *redis.Cmd) (Result, map[string]string, error) {
	vals, err := cmd.Slice()
	if err != nil {
		return 0, nil, err
	}
	n, _ := vals[0].(int64)
	code := Result(n)
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
func (s *Store) Get(ctx context.Context, id string) (*leadworker.Lead, error) {
	if err := leadworker.ValidateID("id", id); err != nil {
		return nil, notFound(id)
	}
	l, _, err := s.getWithRev(ctx, id)
	return l, err
}

func notFound(id string) error {
	return &leadworker.Error{Code: leadworker.ENotFound, Message: fmt.Sprintf("lead %s does not exist", id)}
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}
