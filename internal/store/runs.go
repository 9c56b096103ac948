package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RunRecord is the trace a maintenance run leaves in Redis.
type RunRecord struct {
	Job     string    `json:"job"`
	Tick    time.Time `json:"tick"`
	At      time.Time `json:"at"`
	Changes int       `json:"changes"`
	Host    string    `json:"host"`
}

// RunsKept is how many runs of each job Redis remembers.
const RunsKept = 100

// RecordRun remembers a finished run.
func (s *Store) RecordRun(ctx context.Context, r RunRecord) error {
	if err := s.pushList(ctx, s.keys.runs(r.Job), mustJSON(r), RunsKept); err != nil {
		return fmt.Errorf("record %s run: %w", r.Job, err)
	}
	return nil
}

// Runs returns the latest runs of a job, newest first.
func (s *Store) Runs(ctx context.Context, job string) ([]RunRecord, error) {
	raw, err := s.rdb.LRange(ctx, s.keys.runs(job), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s runs: %w", job, err)
	}
	out := make([]RunRecord, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal([]byte(r), &out[i]); err != nil {
			return nil, fmt.Errorf("decode %s run: %w", job, err)
		}
	}
	return out, nil
}

// pushList prepends v to a capped list in one MULTI/EXEC.
func (s *Store) pushList(ctx context.Context, key, v string, limit int) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, key, v)
		p.LTrim(ctx, key, 0, int64(limit)-1)
		return nil
	})
	return err
}
