package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"
)

// scheduler triggers the maintenance jobs. Every replica runs one; each tick
// enqueues its job under a task id made of the job and the tick's time, so
// however many replicas tick, one run happens.
type scheduler struct {
	cron  *cron.Cron
	queue *tasks.Queue
	log   *logrus.Logger
	clock clock.Clock
}

func newScheduler(cfg *config.Config, queue *tasks.Queue, log *logrus.Logger, clk clock.Clock) (*scheduler, error) {
	l := cronLogger{log}
	s := &scheduler{queue: queue, log: log, clock: clk, cron: cron.New(cron.WithLocation(time.UTC), cron.WithParser(config.CronParser),
		cron.WithLogger(l), cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l)))}
	for _, job := range tasks.JobNames {
		if _, err := s.cron.AddFunc(cfg.Cron[job], func() { s.tick(job, s.clock.Now()) }); err != nil {
			return nil, fmt.Errorf("schedule %s: %w", job, err)
		}
	}
	return s, nil
}

// tick enqueues one run of job for a tick at now. The tick's time is the
// scheduled second: replicas whose clocks or timers differ by less than
// half a second agree on it, so however many tick, one run is enqueued.
func (s *scheduler) tick(job string, now time.Time) {
	tick := now.UTC().Round(time.Second)
	id := job + ":" + tick.Format(time.RFC3339)
	err := s.queue.Run(context.Background(), job, tick, id)
	log := s.log.WithFields(logrus.Fields{"job": job, "tick": tick, "task_id": id})
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		log.Debug("maintenance tick already enqueued by another replica")
	case err != nil:
		log.WithError(err).Error("could not enqueue the maintenance run")
	default:
		log.Debug("maintenance run enqueued")
	}
}

func (s *scheduler) start() { s.cron.Start() }

// stop stops ticking and waits for a tick being enqueued.
func (s *scheduler) stop() { <-s.cron.Stop().Done() }

// cronLogger sends cron's own messages to logrus.
type cronLogger struct{ log *logrus.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	l.log.WithFields(fields(kv)).Debug("cron: " + msg)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.WithError(err).WithFields(fields(kv)).Error("cron: " + msg)
}

func fields(kv []any) logrus.Fields {
	f := logrus.Fields{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return f
}
