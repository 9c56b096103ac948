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
	k, now := s.keys, ms(s.clock.Now())
	names := map[int]string{} // each call's batch name, hashed once
	replies, err := s.runPage(ctx, expireScript, ids, func(i int, batch []string) ([]string, []any) {
		name := tasks.ShortHash(batch...)
		names[i] = name
		return []string{k.dueExpire(), k.dueAlerts(), k.pending(), k.dueRemind(1), k.dueRemind(2), k.closingBatch(name)},
			[]any{now, ms(cutoff), name, flag(dry)}
	})
	if err != nil {
		return nil, fmt.Errorf("expire leads: %w", err)
	}
	res := make([]Applied, 0, len(ids))
	for b, reply := range replies {
		for i := 0; i+1 < len(reply); i += 2 {
			code, _ := reply[i].(int64)
			party, _ := reply[i+1].(string)
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
	k, now := s.keys, ms(s.clock.Now())
	replies, err := s.runPage(ctx, archiveOffersScript, ids, func(int, []string) ([]string, []any) {
		return []string{k.dueOffers(), k.dueAlerts()}, []any{now, ms(cutoff), flag(dry)}
	})
	if err != nil {
		return nil, fmt.Errorf("archive offer leads: %w", err)
	}
	res := make([]Applied, 0, len(ids))
	for _, reply := range replies {
		for _, v := range reply {
			code, _ := v.(int64)
			res = append(res, Applied{Code: Result(code)})
		}
	}
	return res, nil
}

// runPage runs script over ids, pageBatch leads a call, in one round trip,
// and returns each call's reply in order. head gives call i's leading keys
// and arguments; each lead of its batch then adds its hash key and its id.
func (s *Store) runPage(ctx context.Context, script *redis.Script, ids []string, head func(i int, batch []string) ([]string, []any)) ([][]any, error) {
	batches := slices.Collect(slices.Chunk(ids, pageBatch))
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(batches))
		for i, batch := range batches {
			keys, args := head(i, batch)
			for _, id := range batch {
				keys, args = append(keys, s.keys.lead(id)), append(args, id)
			}
			out[i] = script.EvalSha(ctx, p, keys, args...)
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	out := make([][]any, len(cmds))
	for i, cmd := range cmds {
		if out[i], err = cmd.Slice(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
