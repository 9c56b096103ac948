package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
)

// Run enqueues one run of a maintenance job under task id. Unlike the other
// enqueues it returns asynq.ErrTaskIDConflict: that is how the scheduler
// learns another replica already enqueued the tick.
func (q *Queue) Run(ctx context.Context, job string, tick time.Time, id string) error {
	raw, _ := json.Marshal(MaintenancePayload{Job: job, Tick: tick})
	_, err := q.client.EnqueueContext(ctx, asynq.NewTask(TypeMaintenance, raw), asynq.TaskID(id),
		asynq.Queue(QueueMaintenance), asynq.Retention(time.Hour), asynq.MaxRetry(3), asynq.Timeout(10*time.Minute))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s run: %w", job, err)
	}
	return err
}

// TaskTypes lists the task types that can be enqueued by hand.
var TaskTypes = []string{TypeNotify, TypeDigest, TypeClosing, TypeReminder, TypeMaintenance}

// Enqueued says what EnqueueTask put on a queue.
type Enqueued struct {
	TaskID    string    `json:"task_id"`
	Type      string    `json:"type"`
	ProcessAt time.Time `json:"process_at"`
}

// EnqueueTask validates a payload for a known task type and enqueues it at
// processAt (now when zero). Work already queued under the same task id is
// an leadworker.EConflict error.
func (q *Queue) EnqueueTask(ctx context.Context, typ string, payload json.RawMessage, processAt, now time.Time) (*Enqueued, error) {
	if !slices.Contains(TaskTypes, typ) {
		return nil, leadworker.Invalidf("type", "unknown task type %q; use one of %s", typ, strings.Join(TaskTypes, ", "))
	}
	id, opts, err := taskOptions(typ, payload, now)
	if err != nil {
		return nil, err
	}
	if processAt.IsZero() {
		processAt = now
	}
	opts = append(opts, asynq.TaskID(id), asynq.ProcessAt(processAt), asynq.MaxRetry(20))
	_, err = q.client.EnqueueContext(ctx, asynq.NewTask(typ, payload), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil, leadworker.Errorf(leadworker.EConflict, "task %s is already queued", id)
	}
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", typ, err)
	}
	return &Enqueued{TaskID: id, Type: typ, ProcessAt: processAt.UTC()}, nil
}

// taskOptions validates a payload and returns its task id and queue.
func taskOptions(typ string, raw json.RawMessage, now time.Time) (string, []asynq.Option, error) {
	mail := []asynq.Option{asynq.Queue(QueueMail)}
	switch typ {
	case TypeNotify:
		var p NotifyPayload
		err := leadworker.FirstErr(strictDecode(raw, &p), leadworker.ValidateID("payload.lead_id", p.LeadID))
		return NotifyID(p.LeadID), []asynq.Option{asynq.Queue(QueueNotify)}, err
	case TypeClosing:
		var p ClosingPayload
		err := leadworker.FirstErr(strictDecode(raw, &p), leadworker.ValidateID("payload.lead_id", p.LeadID))
		return ClosingID(p.LeadID), mail, err
	case TypeReminder:
		var p ReminderPayload
		err := leadworker.FirstErr(strictDecode(raw, &p), leadworker.ValidateID("payload.lead_id", p.LeadID), leadworker.CheckEnum("payload.stage", p.Stage, []string{StageFirst, StageExpiry}), leadworker.CheckRequired("payload.stage", p.Stage))
		return ReminderID(p.LeadID, p.Stage), mail, err
	case TypeDigest:
		var p DigestPayload
		err := leadworker.FirstErr(strictDecode(raw, &p), leadworker.CheckRequired("payload.recipient", p.Recipient), leadworker.ValidateEmail("payload.recipient", p.Recipient), leadworker.ValidateDate("payload.day", p.Day))
		return DigestID(p.Recipient, p.Day), mail, err
	}
	var p MaintenancePayload
	err := leadworker.FirstErr(strictDecode(raw, &p), ValidateJob(p.Job))
	return fmt.Sprintf("%s:manual:%d", p.Job, now.UnixNano()), []asynq.Option{asynq.Queue(QueueMaintenance), asynq.Retention(time.Hour)}, err
}

// strictDecode decodes a payload object, refusing unknown fields.
func strictDecode(raw json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return leadworker.Invalidf("payload", "payload does not fit the task type: %v", err)
	}
	return nil
}
