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
}

// applyMany runs one change on each lead in one round trip and returns each
// script's result code and notice party.
func (s *Store) applyMany(ctx context.Context, ids []string, c change) ([]int64, []string, error) {
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
		return nil, nil, fmt.Errorf("%s leads: %w", c.action, err)
	}
	codes := make([]int64, len(cmds))
	parties := make([]string, len(cmds))
	for i, cmd := range cmds {
		vals, err := cmd.Slice()
		if err != nil {
			return nil, nil, fmt.Errorf("%s lead %s: %w", c.action, ids[i], err)
		}
		codes[i], _ = vals[0].(int64)
		if len(vals) > 1 {
			parties[i], _ = vals[1].(string)
		}
	}
	return codes, parties, nil
}

// applyPages runs applyMany on the ids a page at a time, the pages
// concurrently, and returns the results in the order of ids.
func (s *Store) applyPages(ctx context.Context, ids []string, c change) ([]int64, []string, error) {
	pages := slices.Collect(slices.Chunk(ids, sweepPage))
	codes, parties := make([][]int64, len(pages)), make([][]string, len(pages))
	errs := make([]error, len(pages))
	var wg sync.WaitGroup
	for i, page := range pages {
		wg.Go(func() { codes[i], parties[i], errs[i] = s.applyMany(ctx, page, c) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return slices.Concat(codes...), slices.Concat(parties...), nil
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
