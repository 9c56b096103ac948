package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/jobs"
	"github.com/sirupsen/logrus"
)

// handlers returns the task mux: every handler, behind a middleware that
// logs each failure with the task's id, type and queue.
func (d *Daemon) handlers() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(d.track, d.logTasks)
	queue := tasks.NewQueue(d.client).WithMaxRetry(d.cfg.MaxRetry)
	notifier := jobs.NewNotifier(d.store, queue, d.mail, d.clock, d.log, notifyConfig(d.cfg))
	notifier.SetMetrics(d.metrics)
	notifier.Register(mux)
	maintenance := jobs.NewMaintenance(d.store, queue, d.clock, d.log, maintenanceConfig(d.cfg))
	maintenance.SetMetrics(d.metrics)
	maintenance.Register(mux)
	return mux
}

func notifyConfig(cfg *config.Config) jobs.NotifyConfig {
	return jobs.NotifyConfig{From: cfg.MailFrom, LeadURL: cfg.LeadURL, Threshold: cfg.DigestThreshold, DigestMaxLeads: cfg.DigestMaxLeads,
		DigestAt: cfg.DigestAt, ExpireAfter: cfg.ExpireAfter, AlertAfter: cfg.ContactAlertAfter,
		RemindAfter: cfg.RemindAfter, RemindBefore: cfg.RemindBeforeExpiry}
}

func maintenanceConfig(cfg *config.Config) jobs.MaintenanceConfig {
	return jobs.MaintenanceConfig{ExpireAfter: cfg.ExpireAfter, OfferArchiveAfter: cfg.OfferArchiveMonths,
		AlertAfter: cfg.ContactAlertAfter, RemindAfter: cfg.RemindAfter, RemindBefore: cfg.RemindBeforeExpiry}
}

// track counts running handlers, so Close can wait for them.
func (d *Daemon) track(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		d.running.Add(1)
		defer d.running.Done()
		return next.ProcessTask(ctx, t)
	})
}

func (d *Daemon) logTasks(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		err := next.ProcessTask(ctx, t)
		if err != nil {
			id, _ := asynq.GetTaskID(ctx)
			queue, _ := asynq.GetQueueName(ctx)
			retry, _ := asynq.GetRetryCount(ctx)
			d.log.WithError(err).WithFields(logrus.Fields{"task_id": id, "task_type": t.Type(), "queue": queue,
				"retry": retry, "duration": time.Since(start).String()}).Warn("task failed")
		}
		return err
	})
}
