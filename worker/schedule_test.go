package worker_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	e.token = "admin-token-0123456789"
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"run a job", "POST", "/admin/v1/maintenance/expire", nil, 202, ""},
		{"unknown job", "POST", "/admin/v1/maintenance/vacuum", nil, 400, "job"},
		{"runs of a job", "GET", "/admin/v1/maintenance/expire", nil, 200, ""},
		{"queues", "GET", "/admin/v1/queues", nil, 200, ""},
		{"known task", "POST", "/admin/v1/tasks", map[string]any{"type": "lead:notify", "payload": map[string]any{"lead_id": "L-1"}, "process_at": later}, 202, ""},
		{"same task again", "POST", "/admin/v1/tasks", map[string]any{"type": "lead:notify", "payload": map[string]any{"lead_id": "L-1"}, "process_at": later}, 409, ""},
		{"unknown type", "POST", "/admin/v1/tasks", map[string]any{"type": "lead:delete", "payload": map[string]any{}}, 400, "type"},
		{"payload with unknown field", "POST", "/admin/v1/tasks", map[string]any{"type": "lead:notify", "payload": map[string]any{"lead": "L-1"}}, 400, "payload"},
		{"payload without lead", "POST", "/admin/v1/tasks", map[string]any{"type": "notice:closing", "payload": map[string]any{}}, 400, "payload.lead_id"},
		{"bad reminder stage", "POST", "/admin/v1/tasks", map[string]any{"type": "notice:reminder", "payload": map[string]any{"lead_id": "L-1", "stage": "third"}}, 400, "payload.stage"},
		{"bad digest day", "POST", "/admin/v1/tasks", map[string]any{"type": "digest:send", "payload": map[string]any{"recipient": "a@b.example", "day": "today"}}, 400, "payload.day"},
		{"no payload", "POST", "/admin/v1/tasks", map[string]any{"type": "lead:notify"}, 400, "payload"},
		{"maintenance task", "POST", "/admin/v1/tasks", map[string]any{"type": "maintenance:run", "payload": map[string]any{"job": "digests"}}, 202, ""},
	}
	for _, tt := range tests {
		res := e.do(tt.method, tt.path, tt.body)
		if res.Status != tt.status {
			t.Fatalf("%s: %d, want %d: %s", tt.name, res.Status, tt.status, res.Body)
		}
		if tt.field != "" {
			if _, field, _ := res.Error(t); field != tt.field {
				t.Fatalf("%s: field %q, want %q", tt.name, field, tt.field)
			}
		}
		if tt.status == 202 && !strings.Contains(string(res.Body), `"task_id"`) {
			t.Fatalf("%s: no task id in %s", tt.name, res.Body)
		}
	}
	waitFor(t, func() bool {
		runs, _ := e.tools().Store.Runs(context.Background(), "expire")
		return len(runs) == 1
	})
	e.token = "api-token-0123456789"
	if res := e.do("POST", "/admin/v1/maintenance/expire", nil); res.Status != http.StatusUnauthorized {
		t.Fatalf("an API token ran a maintenance job: %d", res.Status)
	}
}
