package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Overdue runs alertScript on each lead in one round trip. Every due entry
// leaves the index, so the next page starts at the beginning again.
func (s *Store) Overdue(ctx context.Context, ids []string, cutoff time.Time) error {
	now := ms(s.clock.Now())
	_, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(ids))
		for i, id := range ids {
			out[i] = alertScript.EvalSha(ctx, p, []string{s.keys.lead(id), s.keys.dueAlerts()}, id, ms(cutoff), now)
		}
		return out
	})
	if err != nil {
		return fmt.Errorf("switch alerts: %w", err)
	}
	return nil
}
