package store

import (
	"context"
	"testing"
	"time"

	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { testenv.RunWithRedis(m) }

// scriptT0 is the simulated clock's time in the script tests.
var scriptT0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// scriptEnv is one script test's store, on one backend, with keys under
// the test's own prefix.
type scriptEnv struct {
	t     *testing.T
	ctx   context.Context
	rdb   *redis.Client
	store *Store
	keys  keys
	clock *clock.Simulated
}

// onBackends runs test on the shared redis-server and on miniredis, each
// with a fresh store under the subtest's key prefix.
func onBackends(t *testing.T, test func(e *scriptEnv)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			rdb := b.New(t)
			clk := clock.NewSimulated(scriptT0)
			s := NewStore(rdb, testenv.KeyPrefix(t), clk)
			ctx := context.Background()
			if err := s.Load(ctx); err != nil {
				t.Fatal(err)
			}
			test(&scriptEnv{t: t, ctx: ctx, rdb: rdb, store: s, keys: s.keys, clock: clk})
		})
	}
}

// keysUnder lists every key under the test's prefix, without the prefix.
func (e *scriptEnv) keysUnder() []string {
	e.t.Helper()
	var out []string
	iter := e.rdb.Scan(e.ctx, 0, e.keys.prefix+"*", 1000).Iterator()
	for iter.Next(e.ctx) {
		out = append(out, iter.Val()[len(e.keys.prefix):])
	}
	if err := iter.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// zset returns a sorted set's members with their scores, "member=score".
func (e *scriptEnv) zset(key string) []string {
	e.t.Helper()
	zs, err := e.rdb.ZRangeWithScores(e.ctx, key, 0, -1).Result()
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]string, len(zs))
	for i, z := range zs {
		out[i] = z.Member.(string) + "=" + formatScore(z.Score)
	}
	return out
}

func formatScore(f float64) string { return time.UnixMilli(int64(f)).UTC().Format(time.RFC3339) }

// hash returns a hash's fields.
func (e *scriptEnv) hash(key string) map[string]string {
	e.t.Helper()
	h, err := e.rdb.HGetAll(e.ctx, key).Result()
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}
