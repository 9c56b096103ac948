package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestClosingBatchThatGivesUpKeepsNoContactData checks an expired lead's
// closing notice refused for now (452, the customer's mailbox is full,
// quoting the address) past the last retry: the batch gives up as a single
// notice does (recorded as failed, the address kept for it erased, nothing
// left pending), and no error text asynq keeps names the customer.
func TestClosingBatchThatGivesUpKeepsNoContactData(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_MAX_RETRY", "0")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.smtp.Full("hanako@contoso.example")
	old := time.Now().Add(-15 * 24 * time.Hour).UTC().Format(time.RFC3339)
	e.must(201, "POST", "/v1/leads", lead("L-OLD", func(l map[string]any) { l["created_at"] = old }))
	// The daemon runs the expiry, so the notices are enqueued with its
	// LEADWORKER_MAX_RETRY.
	e.token = "admin-token-0123456789"
	e.must(202, "POST", "/admin/v1/maintenance/expire", nil)
	inspector := asynq.NewInspectorFromRedisClient(e.redis.Client())
	var archived []*asynq.TaskInfo
	defer func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", e.logs.String())
		}
	}()
	waitFor(t, func() bool {
		archived, _ = inspector.ListArchivedTasks(tasks.QueueMail)
		return len(archived) == 1
	})
	if task := archived[0]; task.Type != tasks.TypeClosingBatch || strings.Contains(task.LastErr, "contoso") || !strings.Contains(task.LastErr, "452") {
		t.Fatalf("archived %s with error %q; want the closing batch, its code and no address", task.Type, task.LastErr)
	}
	c := e.redis.Client()
	if got := c.HMGet(context.Background(), "leadworker:lead:L-OLD", "cn", "nto", "ntn").Val(); got[0] != "failed" || got[1] != nil || got[2] != nil {
		t.Fatalf("notice record %v, want failed with nothing kept", got)
	}
	noContactDataLeft(t, e, "hanako@contoso.example", "Hanako Sato")
}
