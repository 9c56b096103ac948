package worker

import (
	"encoding/json"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/sirupsen/logrus"
)

// TestTickRunsOnceAcrossReplicas has three replicas' schedulers tick the
// same ten seconds, their timers up to 300 ms apart: every tick enqueues
// exactly one run, under the tick's own task id.
func TestTickRunsOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	rdb := testenv.StartRedis(t).Client()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	client := asynq.NewClientFromRedisClient(rdb)
	var replicas []*scheduler
	for range 3 {
		s, err := newScheduler(cfg, tasks.NewQueue(client), log, clock.Real{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(s.cron.Entries()); n != len(tasks.JobNames) {
			t.Fatalf("%d cron entries, want one per job (%d)", n, len(tasks.JobNames))
		}
		replicas = append(replicas, s)
	}
	base := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var want []string
	for sec := range 10 {
		at := base.Add(time.Duration(sec) * time.Second)
		want = append(want, tasks.JobExpire+":"+at.Format(time.RFC3339))
		for i, s := range replicas {
			s.tick(tasks.JobExpire, at.Add(time.Duration(i-1)*300*time.Millisecond))
		}
	}
	pending, err := asynq.NewInspectorFromRedisClient(rdb).ListPendingTasks(tasks.QueueMaintenance, asynq.PageSize(100))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, task := range pending {
		var p tasks.MaintenancePayload
		if err := json.Unmarshal(task.Payload, &p); err != nil || p.Job != tasks.JobExpire || task.ID != p.Job+":"+p.Tick.Format(time.RFC3339) {
			t.Fatalf("task %s: payload %s (%v)", task.ID, task.Payload, err)
		}
		got = append(got, task.ID)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("enqueued runs %v, want one per tick: %v", got, want)
	}
}
