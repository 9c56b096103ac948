package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A pending batch is work recorded as one member of the pending set, such
// as "notify-batch:<name>" or "closing-batch:<name>", with the ids of its
// leads kept under the key of the same name. Its task id is that member, so
// enqueueing the batch again while it is queued is a no-op.

// batchIDs returns the ids of a pending batch and the stored value they
// came from ("" when the batch is gone).
func (s *Store) batchIDs(ctx context.Context, member string) ([]string, string, error) {
	v, err := s.rdb.Get(ctx, s.keys.prefix+member).Result()
	if err != nil && err != redis.Nil {
		return nil, "", fmt.Errorf("read pending batch %s: %w", member, err)
	}
	return strings.Fields(v), v, nil
}

// batchDoneScript forgets a pending batch, unless ids joined it since the
// caller read it (then the batch stays pending for them).
//
// KEYS: batch ids, pending. ARGV: the ids as read, the pending member.
var batchDoneScript = redis.NewScript(`
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`)

func init() { allScripts = append(allScripts, batchDoneScript) }

// batchDone forgets a pending batch whose work has ended, if it still holds
// read: the value batchIDs returned.
func (s *Store) batchDone(ctx context.Context, member, read string) error {
	err := batchDoneScript.Run(ctx, s.rdb, []string{s.keys.prefix + member, s.keys.pending()}, read, member).Err()
	if err != nil {
		return fmt.Errorf("forget pending batch %s: %w", member, err)
	}
	return nil
}

// unionIDs returns a followed by the ids of b that a lacks.
func unionIDs(a, b []string) []string {
	seen := make(map[string]bool, len(a))
	out := append([]string(nil), a...)
	for _, id := range a {
		seen[id] = true
	}
	for _, id := range b {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
