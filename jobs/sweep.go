package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// sweepPage is how many due entries a sweep reads and changes per round
// trip; sweepPages pages are in flight at once, so the daemon prepares one
// while Redis runs the other.
const (
	sweepPage  = 1000
	sweepPages = 2
)

// dueIDs returns up to n members of a time index scored at or before cutoff,
// oldest first, skipping the first offset.
func (s *Store) dueIDs(ctx context.Context, index string, cutoff time.Time, offset, n int) ([]string, error) {
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: index, ByScore: true, Start: "-inf",
		Stop: ms(cutoff), Offset: int64(offset), Count: int64(n)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", strings.TrimPrefix(index, s.keys.prefix), err)
	}
	return ids, nil
}

// evalPipeline runs the script calls queue makes in one round trip and
// returns their replies. If Redis lost its script cache (a restart), it
// loads the scripts and runs the calls once more: every script re-checks
// its lead's state, so running one twice changes nothing twice.
func (s *Store) evalPipeline(ctx context.Context, queue func(p redis.Pipeliner) []*redis.Cmd) ([]*redis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		var cmds []*redis.Cmd
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			cmds = queue(p)
			return nil
		})
		if !isNoScript(err) || attempt > 0 {
			return cmds, ignoreScriptErrors(err)
		}
		if err := s.Load(ctx); err != nil {
			return nil, err
		}
	}
}

// ignoreScriptErrors keeps connection-level failures; a single script's
// error is read from its own reply.
func ignoreScriptErrors(err error) error {
	if err == nil || isNoScript(err) {
		return err
	}
	if _, ok := err.(redis.Error); ok {
		return nil
	}
	return err
}

// swept is a lead a sweep changed (or, dry, would change).
type swept struct {
	ID    string
	Party string // expiry: who gets the closing notice ("customer", "originator", "")
	Batch string // expiry: the pending batch of closing notices the lead is in
}

// applied is what a sweep's script did to one lead: a result code (resOK
// when it changed) and, for expiry, the notice party and pending batch.
type applied struct {
	Code  int64
	Party string
	Batch string
}

// applyMany runs one change on each lead in one round trip.
func (s *Store) applyMany(ctx context.Context, ids []string, c change) ([]applied, error) {
	c.quiet = true
	now := s.clock.Now()
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(ids))
		for i, id := range ids {
			out[i] = transitionScript.EvalSha(ctx, p, s.keys.transition(id), c.args(id, now)...)
		}
		return out
	})
	if err != nil {
		return nil, fmt.Errorf("%s leads: %w", c.action, err)
	}
	res := make([]applied, len(cmds))
	for i, cmd := range cmds {
		vals, err := cmd.Slice()
		if err != nil {
			return nil, fmt.Errorf("%s lead %s: %w", c.action, ids[i], err)
		}
		res[i].Code, _ = vals[0].(int64)
		if len(vals) > 1 {
			res[i].Party, _ = vals[1].(string)
		}
	}
	return res, nil
}

// inPages runs apply on the ids a page at a time, the pages concurrently,
// and returns the results in the order of ids.
func inPages(ctx context.Context, ids []string, apply func(context.Context, []string) ([]applied, error)) ([]applied, error) {
	pages := slices.Collect(slices.Chunk(ids, sweepPage))
	res := make([][]applied, len(pages))
	errs := make([]error, len(pages))
	var wg sync.WaitGroup
	for i, page := range pages {
		wg.Go(func() { res[i], errs[i] = apply(ctx, page) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.Concat(res...), nil
}

// forget removes index entries whose leads no longer exist.
func (s *Store) forget(ctx context.Context, index string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.rdb.ZRem(ctx, index, ids).Err(); err != nil {
		return fmt.Errorf("drop %d stale entries of %s: %w", len(ids), index, err)
	}
	return nil
}
