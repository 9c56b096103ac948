package worker_test

import (
	"net"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestShutdownKeepsOneBudget stops a daemon while a task handler is stuck
// in an SMTP send and a request is stuck in its body: both drain under the
// same deadline, so Close returns after about one
// LEADWORKER_SHUTDOWN_TIMEOUT (2 s here), not one per step (6 s).
func TestShutdownKeepsOneBudget(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.smtp.Delay(time.Minute)
	e.must(201, "POST", "/v1/leads", lead("L-STUCK"))
	inspector := asynq.NewInspectorFromRedisClient(e.redis.Client())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if info, err := inspector.GetQueueInfo(tasks.QueueNotify); err == nil && info.Active == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the announcement never became active")
		}
	}
	conn, err := net.Dial("tcp", e.daemon.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token +
		"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = e.daemon.Close()
	if took := time.Since(start); took > 3500*time.Millisecond {
		t.Fatalf("shutdown took %v with a 2s budget; the steps do not share it", took.Round(time.Millisecond))
	}
}
