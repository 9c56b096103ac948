// Package tasks names leadworker's asynq tasks: their types, payloads and
// task ids, the queues they run on, and the Queue that enqueues them. A task
// id is unique per piece of work, so enqueueing the same work twice (two
// replicas, a retry, a recovery sweep) is a no-op.
package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
)

// Queues, highest priority first.
const (
	QueueNotify      = "notify"      // new-lead announcements
	QueueMail        = "mail"        // digests and closing notices
	QueueMaintenance = "maintenance" // sweeps
)

// Queues maps each queue to its asynq priority weight.
var Queues = map[string]int{QueueNotify: 6, QueueMail: 3, QueueMaintenance: 1}

// Task types.
const (
	TypeNotify = "lead:notify" // announce one new lead
	// TypeNotifyBatch announces up to AnnounceBatch new leads of one intake.
	TypeNotifyBatch = "lead:notify-batch"
	TypeDigest      = "digest:send"    // send one recipient's digest for one day
	TypeClosing     = "notice:closing" // tell the customer or originator a lead was declined or expired
	// TypeClosingBatch sends the closing notices of up to a page of expired leads.
	TypeClosingBatch = "notice:closing-batch"
)

// AnnounceBatch is the most new leads one announcement task carries: a
// batch intake enqueues one task per AnnounceBatch leads, so a lead costs a
// share of a task and of a few pipelined round trips, not its own.
const AnnounceBatch = 50

// Reminder stages.
const (
	StageFirst  = "first"  // a day after the lead arrived
	StageExpiry = "expiry" // shortly before it expires
)

// TypeReminder reminds a partner of a lead still unanswered.
const TypeReminder = "notice:reminder"

// ReminderPayload names the lead and the stage of its reminder.
type ReminderPayload struct {
	LeadID string `json:"lead_id"`
	Stage  string `json:"stage"`
}

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
		return leadworker.Invalidf("job", "unknown maintenance job %q; use one of %s", job, strings.Join(JobNames, ", "))
	}
	return nil
}

// NotifyPayload names the lead to announce.
type NotifyPayload struct {
	LeadID string `json:"lead_id"`
}

// NotifyBatchPayload names the leads to announce and their batch, whose
// pending record the handler clears once every lead's announcement ended.
type NotifyBatchPayload struct {
	Batch   string   `json:"batch"`
	LeadIDs []string `json:"lead_ids"`
}

// DigestPayload names a digest: a recipient and a day in their time zone.
type DigestPayload struct {
	Recipient string `json:"recipient"`
	Day       string `json:"day"`
}

// ClosingPayload names the lead whose closing notice to send.
type ClosingPayload struct {
	LeadID string `json:"lead_id"`
}

// ClosingBatchPayload names the leads whose closing notices to send and,
// for a batch the expiry job recorded as pending, its name.
type ClosingBatchPayload struct {
	Batch   string   `json:"batch,omitempty"`
	LeadIDs []string `json:"lead_ids"`
}

// Task ids make each piece of work unique across replicas and retries.
// The lead store records pending work under the same names, so a sweep can
// enqueue it again.

// NotifyID is the task id of a lead's announcement.
func NotifyID(leadID string) string { return "notify:" + leadID }

// ClosingID is the task id of a lead's closing notice.
func ClosingID(leadID string) string { return "closing:" + leadID }

// ClosingBatchID is the task id of a batch of closing notices.
func ClosingBatchID(name string) string { return "closing-batch:" + name }

// NotifyBatchID is the task id of a batch of announcements.
func NotifyBatchID(name string) string { return "notify-batch:" + name }

// DigestID is the task id of a recipient's digest of a day.
func DigestID(recipient, day string) string { return "digest:" + recipient + ":" + day }

// ReminderID is the task id of a lead's reminder of a stage.
func ReminderID(leadID, stage string) string { return "reminder:" + leadID + ":" + stage }

// ShortHash is a short stable digest of parts: it names batches and makes
// Message-IDs.
func ShortHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:6])
}

// Queue enqueues leadworker's tasks. A task that is already queued (the same
// task id) is not an error: somebody else enqueued the same work.
type Queue struct {
	client   *asynq.Client
	maxRetry int
}

// DefaultMaxRetry is how many times a task is retried unless the queue is
// told otherwise.
const DefaultMaxRetry = 20

// NewQueue returns a queue on client whose tasks are retried
// DefaultMaxRetry times.
func NewQueue(client *asynq.Client) *Queue { return &Queue{client: client, maxRetry: DefaultMaxRetry} }

// WithMaxRetry returns a copy of q whose tasks are retried n times.
func (q *Queue) WithMaxRetry(n int) *Queue { return &Queue{client: q.client, maxRetry: n} }

// Notify enqueues the announcement of a new lead.
func (q *Queue) Notify(ctx context.Context, leadID string) error {
	return q.enqueue(ctx, TypeNotify, NotifyPayload{LeadID: leadID}, asynq.TaskID(NotifyID(leadID)), asynq.Queue(QueueNotify))
}

// NotifyBatch enqueues the announcement of a batch of new leads (see
// IntakeResult.Batch) as one task; a lead taken in on its own (no batch) is
// enqueued as Notify. The task id is the batch's name, so enqueueing the
// batch again is a no-op while the task is queued.
func (q *Queue) NotifyBatch(ctx context.Context, batch string, ids []string) error {
	if batch == "" {
		var errs []error
		for _, id := range ids {
			errs = append(errs, q.Notify(ctx, id))
		}
		return errors.Join(errs...)
	}
	return q.enqueue(ctx, TypeNotifyBatch, NotifyBatchPayload{Batch: batch, LeadIDs: ids},
		asynq.TaskID(NotifyBatchID(batch)), asynq.Queue(QueueNotify))
}

// Closing enqueues a lead's closing notice.
func (q *Queue) Closing(ctx context.Context, leadID string) error {
	return q.enqueue(ctx, TypeClosing, ClosingPayload{LeadID: leadID}, asynq.TaskID(ClosingID(leadID)), asynq.Queue(QueueMail))
}

// ClosingBatch enqueues the closing notices of a batch of expired leads as
// one task: the expiry of a page of leads costs a few enqueues, not one per
// lead.
func (q *Queue) ClosingBatch(ctx context.Context, name string, ids []string) error {
	return q.enqueue(ctx, TypeClosingBatch, ClosingBatchPayload{Batch: name, LeadIDs: ids},
		asynq.TaskID(ClosingBatchID(name)), asynq.Queue(QueueMail))
}

// Reminder enqueues a reminder.
func (q *Queue) Reminder(ctx context.Context, id, stage string) error {
	return q.enqueue(ctx, TypeReminder, ReminderPayload{LeadID: id, Stage: stage},
		asynq.TaskID(ReminderID(id, stage)), asynq.Queue(QueueMail))
}

// Digest enqueues a digest to be sent at sendAt.
func (q *Queue) Digest(ctx context.Context, p DigestPayload, sendAt time.Time) error {
	return q.enqueue(ctx, TypeDigest, p, asynq.TaskID(DigestID(p.Recipient, p.Day)), asynq.Queue(QueueMail), asynq.ProcessAt(sendAt))
}

func (q *Queue) enqueue(ctx context.Context, typ string, payload any, opts ...asynq.Option) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s payload: %w", typ, err)
	}
	_, err = q.client.EnqueueContext(ctx, asynq.NewTask(typ, raw), append(opts, asynq.MaxRetry(q.maxRetry), asynq.Timeout(2*time.Minute))...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", typ, err)
	}
	return nil
}

// RetryDelay is the backoff between attempts: doubling from 2 s, capped at
// 10 minutes, so a mail server back after an outage sees its mail within
// minutes rather than asynq's default of hours.
func RetryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	d := 2 * time.Second << min(n, 10)
	return min(d, 10*time.Minute)
}
