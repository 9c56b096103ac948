package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/redis/go-redis/v9"
)

// pageBatch is how many leads one sweep script changes: large enough that
// the per-call cost and the index updates are shared, small enough that
// Redis is never blocked for more than about a millisecond.
const pageBatch = 100

// ExpirePage applies the expiry rule (expire.lua) to ids, pageBatch leads a
// call, in one round trip, and returns what it did (or, dry, would do) to
// each lead in the order of ids. The closing notices of each call's
// expired leads become one pending batch, named in Applied.Batch.
func (s *Store) ExpirePage(ctx context.Context, ids []string, cutoff time.Time, dry bool) ([]Applied, error) {
	k := s.keys
	now := ms(s.clock.Now())
	var names []string
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		var out []*redis.Cmd
		names = names[:0]
		for batch := range slices.Chunk(ids, pageBatch) {
			name := tasks.ShortHash(batch...)
			keys := []string{k.dueExpire(), k.dueAlerts(), k.pending(), k.dueRemind(1), k.dueRemind(2), k.closingBatch(name)}
			args := []any{now, ms(cutoff), name, flag(dry)}
			for _, id := range batch {
				keys, args = append(keys, k.lead(id)), append(args, id)
			}
			names = append(names, name)
			out = append(out, expireScript.EvalSha(ctx, p, keys, args...))
		}
		return out
	})
	if err != nil {
		return nil, fmt.Errorf("expire leads: %w", err)
	}
	res := make([]Applied, 0, len(ids))
	for b, cmd := range cmds {
		vals, err := cmd.Slice()
		if err != nil {
			return nil, fmt.Errorf("expire leads: %w", err)
		}
		for i := 0; i+1 < len(vals); i += 2 {
			code, _ := vals[i].(int64)
			party, _ := vals[i+1].(string)
			res = append(res, Applied{Code: Result(code), Party: party, Batch: names[b]})
		}
	}
	return res, nil
}

// ArchiveOffersPage applies the six-month rule for informational offer
// leads (archive_offers.lua) to ids, pageBatch leads a call, in one round
// trip, and returns what it did (or, dry, would do) to each lead in the
// order of ids.
func (s *Store) ArchiveOffersPage(ctx context.Context, ids []string, cutoff time.Time, dry bool) ([]Applied, error) {
	k := s.keys
	now := ms(s.clock.Now())
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		var out []*redis.Cmd
		for batch := range slices.Chunk(ids, pageBatch) {
			keys := []string{k.dueOffers(), k.dueAlerts()}
			args := []any{now, ms(cutoff), flag(dry)}
			for _, id := range batch {
				keys, args = append(keys, k.lead(id)), append(args, id)
			}
			out = append(out, archiveOffersScript.EvalSha(ctx, p, keys, args...))
		}
		return out
	})
	if err != nil {
		return nil, fmt.Errorf("archive offer leads: %w", err)
	}
	res := make([]Applied, 0, len(ids))
	for _, cmd := range cmds {
		codes, err := cmd.Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("archive offer leads: %w", err)
		}
		for _, c := range codes {
			res = append(res, Applied{Code: Result(c)})
		}
	}
	return res, nil
}
