package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
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
func notifyTaskID(leadID string) string         { return "notify:" + leadID }
func closingTaskID(leadID string) string        { return "closing:" + leadID }
func closingBatchTaskID(name string) string     { return "closing-batch:" + name }
func notifyBatchTaskID(name string) string      { return "notify-batch:" + name }
func digestTaskID(recipient, day string) string { return "digest:" + recipient + ":" + day }

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
	return q.enqueue(ctx, TypeNotify, NotifyPayload{LeadID: leadID}, asynq.TaskID(notifyTaskID(leadID)), asynq.Queue(QueueNotify))
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
		asynq.TaskID(notifyBatchTaskID(batch)), asynq.Queue(QueueNotify))
}

// Closing enqueues a lead's closing notice.
func (q *Queue) Closing(ctx context.Context, leadID string) error {
	return q.enqueue(ctx, TypeClosing, ClosingPayload{LeadID: leadID}, asynq.TaskID(closingTaskID(leadID)), asynq.Queue(QueueMail))
}

// ClosingBatch enqueues the closing notices of a batch of expired leads as
// one task: the expiry of a page of leads costs a few enqueues, not one per
// lead.
func (q *Queue) ClosingBatch(ctx context.Context, name string, ids []string) error {
	return q.enqueue(ctx, TypeClosingBatch, ClosingBatchPayload{Batch: name, LeadIDs: ids},
		asynq.TaskID(closingBatchTaskID(name)), asynq.Queue(QueueMail))
}

// Digest enqueues a digest to be sent at sendAt.
func (q *Queue) Digest(ctx context.Context, p DigestPayload, sendAt time.Time) error {
	return q.enqueue(ctx, TypeDigest, p, asynq.TaskID(digestTaskID(p.Recipient, p.Day)), asynq.Queue(QueueMail), asynq.ProcessAt(sendAt))
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
