package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A pending batch is work recorded as one member of the pending set, such
// as "notify-batch:<name>" or "closing-batch:<name>", with the ids of its
// leads kept under the key of the same name. Its task id is that member, so
// enqueueing the batch again while it is queued is a no-op.

// BatchIDs returns the ids of a pending batch and the stored value they
// came from ("" when the batch is gone).
func (s *Store) BatchIDs(ctx context.Context, member string) ([]string, string, error) {
	v, err := s.rdb.Get(ctx, s.keys.prefix+member).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", fmt.Errorf("read pending batch %s: %w", member, err)
	}
	return strings.Fields(v), v, nil
}

// BatchDone forgets a pending batch whose work has ended, if it still holds
// read: the value BatchIDs returned.
func (s *Store) BatchDone(ctx context.Context, member, read string) error {
	err := batchDoneScript.Run(ctx, s.rdb, []string{s.keys.prefix + member, s.keys.pending()}, read, member).Err()
	if err != nil {
		return fmt.Errorf("forget pending batch %s: %w", member, err)
	}
	return nil
}
