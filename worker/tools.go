package worker

import (
	"context"
	"errors"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/jobs"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
)

// Tools is what the one-shot commands (maintenance, enqueue) work with: the
// configured Redis, the lead store, the queue and the maintenance jobs.
type Tools struct {
	Store       *store.Store
	Queue       *tasks.Queue
	Maintenance *jobs.Maintenance
	rdb         redis.UniversalClient
}

// OpenTools connects to the configured Redis. One-shot commands need a real
// Redis: an embedded one would hold nothing.
func OpenTools(ctx context.Context, cfg *config.Config, log *logrus.Logger, clk clock.Clock) (*Tools, error) {
	if cfg.Embedded() {
		return nil, errors.New("LEADWORKER_REDIS_URL is not set: this command works on the Redis the daemon uses; set it")
	}
	rdb, err := connect(ctx, cfg)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	store := store.NewStore(rdb, cfg.StorePrefix(), clk)
	queue := tasks.NewQueue(asynq.NewClientFromRedisClient(rdb)).WithMaxRetry(cfg.MaxRetry)
	return &Tools{Store: store, Queue: queue, rdb: rdb,
		Maintenance: jobs.NewMaintenance(store, queue, clk, log, maintenanceConfig(cfg))}, nil
}

// Close closes the Redis connection.
func (t *Tools) Close() error { return t.rdb.Close() }
