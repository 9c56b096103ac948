package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/metrics"
	"github.com/sirupsen/logrus"
)

// Maintenance jobs.
const (
	JobExpire        = "expire"
	JobArchiveOffers = "archive-offers"
	JobContactAlerts = "contact-alerts"
	JobReminders     = "reminders"
	JobDigests       = "digests"
)

// JobNames lists every maintenance job.
var JobNames = []string{JobExpire, JobArchiveOffers, JobContactAlerts, JobReminders, JobDigests}

// TypeMaintenance runs one maintenance job.
const TypeMaintenance = "maintenance:run"

// MaintenancePayload names the job to run and the scheduler tick (or the
// moment of the manual request) that asked for it.
type MaintenancePayload struct {
	Job  string    `json:"job"`
	Tick time.Time `json:"tick"`
}

// ValidateJob returns an EInvalid error unless job is a maintenance job.
func ValidateJob(job string) error {
	if !slices.Contains(JobNames, job) {
		return Invalidf("job", "unknown maintenance job %q; use one of %s", job, strings.Join(JobNames, ", "))
	}
	return nil
}

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
	store *Store
	queue *Queue
	clock clock.Clock
	log   *logrus.Logger
	cfg   MaintenanceConfig
	stats *metrics.Metrics
}

// SetMetrics makes the runs count what they change.
func (m *Maintenance) SetMetrics(s *metrics.Metrics) { m.stats = s }

// NewMaintenance returns the maintenance jobs.
func NewMaintenance(store *Store, queue *Queue, clk clock.Clock, log *logrus.Logger, cfg MaintenanceConfig) *Maintenance {
	return &Maintenance{store: store, queue: queue, clock: clk, log: log, cfg: cfg}
}

// Run runs job once as of at. A dry run reads what is due and reports what
// the run would change and send, changing nothing.
func (m *Maintenance) Run(ctx context.Context, job string, at time.Time, dry bool) (*Report, error) {
	if err := ValidateJob(job); err != nil {
		return nil, err
	}
	run := map[string]func(context.Context, time.Time, bool, *Report) error{
		JobExpire: m.expire, JobArchiveOffers: m.archiveOffers, JobContactAlerts: m.contactAlerts,
		JobReminders: m.reminders, JobDigests: m.digests,
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
	mux.HandleFunc(TypeMaintenance, m.HandleMaintenance)
}

// maintenanceLockTTL bounds how long a crashed run keeps others waiting.
const maintenanceLockTTL = 15 * time.Minute

// HandleMaintenance runs a job as of now. Runs of one job never overlap: a
// run that finds the previous one still going is skipped (the next tick
// picks up whatever is left).
func (m *Maintenance) HandleMaintenance(ctx context.Context, t *asynq.Task) error {
	var p MaintenancePayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	if err := ValidateJob(p.Job); err != nil {
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
	return m.store.RecordRun(ctx, RunRecord{Job: p.Job, Tick: p.Tick.UTC(), At: rep.At, Changes: len(rep.Changes), Host: hostID()})
}

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

func hostID() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", h, os.Getpid())
}

// parallel runs fn for each item with up to 16 goroutines and returns the
// first error.
func parallel[T any](items []T, fn func(T) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		work = make(chan T)
	)
	for range min(16, len(items)) {
		wg.Go(func() {
			for it := range work {
				if err := fn(it); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}
