package jobs

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/metrics"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/sirupsen/logrus"
)

// MaintenanceConfig holds the rules of the maintenance jobs.
type MaintenanceConfig struct {
	ExpireAfter       time.Duration // received leads older than this expire
	OfferArchiveAfter int           // informational offer leads older than this many calendar months are archived
	AlertAfter        time.Duration // contact-requested leads older than this show the overdue alert
	RemindAfter       time.Duration // first reminder this long after creation; 0: none
	RemindBefore      time.Duration // second reminder this long before expiry; 0: none
}

// Change is one thing a maintenance run changed or sent (or, in a dry run,
// would change or send).
type Change struct {
	LeadID string `json:"lead_id,omitempty"`
	Action string `json:"action"`
	Detail string `json:"detail,omitempty"`
}

// Report says what one run did.
type Report struct {
	Job      string        `json:"job"`
	At       time.Time     `json:"at"`
	DryRun   bool          `json:"dry_run"`
	Changes  []Change      `json:"changes"`
	Duration time.Duration `json:"duration"`
	mu       sync.Mutex
}

func (r *Report) add(c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Changes = append(r.Changes, c)
}

// Maintenance runs the maintenance jobs.
type Maintenance struct {
	store *store.Store
	queue *tasks.Queue
	clock clock.Clock
	log   *logrus.Logger
	cfg   MaintenanceConfig
	stats *metrics.Metrics
}

// SetMetrics makes the runs count what they change.
func (m *Maintenance) SetMetrics(s *metrics.Metrics) { m.stats = s }

// NewMaintenance returns the maintenance jobs.
func NewMaintenance(store *store.Store, queue *tasks.Queue, clk clock.Clock, log *logrus.Logger, cfg MaintenanceConfig) *Maintenance {
	return &Maintenance{store: store, queue: queue, clock: clk, log: log, cfg: cfg}
}

// Run runs job once as of at. A dry run reads what is due and reports what
// the run would change and send, changing nothing.
func (m *Maintenance) Run(ctx context.Context, job string, at time.Time, dry bool) (*Report, error) {
	if err := tasks.ValidateJob(job); err != nil {
		return nil, err
	}
	run := map[string]func(context.Context, time.Time, bool, *Report) error{
		tasks.JobExpire: m.expire, tasks.JobArchiveOffers: m.archiveOffers, tasks.JobContactAlerts: m.contactAlerts,
		tasks.JobReminders: m.reminders, tasks.JobDigests: m.digests,
	}[job]
	rep := &Report{Job: job, At: at.UTC(), DryRun: dry, Changes: []Change{}}
	start := time.Now()
	err := run(ctx, at, dry, rep)
	rep.Duration = time.Since(start)
	if err != nil {
		return rep, fmt.Errorf("maintenance %s: %w", job, err)
	}
	return rep, nil
}

// Register adds the maintenance task handler to mux.
func (m *Maintenance) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(tasks.TypeMaintenance, m.HandleMaintenance)
}

// maintenanceLockTTL bounds how long a crashed run keeps others waiting.
const maintenanceLockTTL = 15 * time.Minute

// HandleMaintenance runs a job as of now. Runs of one job never overlap: a
// run that finds the previous one still going is skipped (the next tick
// picks up whatever is left).
func (m *Maintenance) HandleMaintenance(ctx context.Context, t *asynq.Task) error {
	var p tasks.MaintenancePayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	if err := tasks.ValidateJob(p.Job); err != nil {
		return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	if p.Tick.IsZero() { // enqueued by hand without a tick
		p.Tick = m.clock.Now().UTC()
	}
	log := m.log.WithFields(logrus.Fields{"job": p.Job, "tick": p.Tick})
	unlock, err := m.store.Lock(ctx, "maintenance:"+p.Job, maintenanceLockTTL)
	if err != nil {
		return err
	}
	if unlock == nil {
		log.Info("maintenance run skipped: the previous run of this job is still going")
		return nil
	}
	defer unlock()
	rep, err := m.Run(ctx, p.Job, m.clock.Now(), false)
	if err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"changes": len(rep.Changes), "duration": rep.Duration.String()}).Info("maintenance run done")
	m.stats.Run(p.Job, len(rep.Changes), rep.Duration)
	return m.store.RecordRun(ctx, store.RunRecord{Job: p.Job, Tick: p.Tick.UTC(), At: rep.At, Changes: len(rep.Changes), Host: hostID()})
}

func hostID() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", h, os.Getpid())
}
