package store

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

// SweepPage is how many due entries a sweep reads and changes per round
// trip; SweepPages pages are in flight at once, so the daemon prepares one
// while Redis runs the other.
const (
	SweepPage  = 1000
	SweepPages = 2
)

// Index names one of the store's time indexes: sorted sets of lead ids (or
// pending work) scored by the time they become due.
type Index int

// The time indexes.
const (
	DueExpire       Index = iota // received leads that can expire, by creation time
	DueOffers                    // received informational offer leads, by creation time
	DueAlerts                    // leads showing the contact_me alert, by creation time
	DueRemindFirst               // received leads not yet reminded, by creation time
	DueRemindExpiry              // received leads reminded once, by creation time
	DueDigests                   // unsent digests, by send time
	Pending                      // work not yet done (task ids), by the time it was recorded
)

// Due returns up to n members of a time index scored at or before cutoff,
// oldest first, skipping the first offset.
func (s *Store) Due(ctx context.Context, idx Index, cutoff time.Time, offset, n int) ([]string, error) {
	index := s.keys.index(idx)
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
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return nil
	}
	return err
}

// Applied is what a sweep's script did to one lead: a result code (Changed
// when it changed) and, for expiry, the notice party and pending batch.
type Applied struct {
	Code  Result
	Party string // expiry: who gets the closing notice ("customer", "originator", "")
	Batch string // expiry: the pending batch of closing notices the lead is in
}

// InPages runs apply on the ids a page at a time, the pages concurrently,
// and returns the results in the order of ids.
func InPages(ctx context.Context, ids []string, apply func(context.Context, []string) ([]Applied, error)) ([]Applied, error) {
	pages := slices.Collect(slices.Chunk(ids, SweepPage))
	res := make([][]Applied, len(pages))
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
