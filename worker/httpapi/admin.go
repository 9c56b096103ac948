package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// runJob enqueues one run of a maintenance job now.
func (a *API) runJob(w http.ResponseWriter, r *http.Request) {
	job := r.PathValue("job")
	if err := tasks.ValidateJob(job); err != nil {
		a.writeError(w, r, err)
		return
	}
	payload, _ := json.Marshal(tasks.MaintenancePayload{Job: job, Tick: a.Clock.Now().UTC()})
	a.answerEnqueue(w, r, tasks.TypeMaintenance, payload, time.Time{})
}

// jobRuns lists the latest runs of a maintenance job.
func (a *API) jobRuns(w http.ResponseWriter, r *http.Request) {
	job := r.PathValue("job")
	if err := tasks.ValidateJob(job); err != nil {
		a.writeError(w, r, err)
		return
	}
	runs, err := a.Store.Runs(r.Context(), job)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// enqueueTask enqueues a known task type with a validated payload.
func (a *API) enqueueTask(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Type      string          `json:"type"`
		Payload   json.RawMessage `json:"payload"`
		ProcessAt *time.Time      `json:"process_at"`
	}
	if err := decodeJSON(w, r, maxBody, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(body.Payload) == 0 {
		a.writeError(w, r, leadworker.Invalidf("payload", "payload is required"))
		return
	}
	var at time.Time
	if body.ProcessAt != nil {
		at = *body.ProcessAt
	}
	a.answerEnqueue(w, r, body.Type, body.Payload, at)
}

func (a *API) answerEnqueue(w http.ResponseWriter, r *http.Request, typ string, payload json.RawMessage, at time.Time) {
	res, err := a.Queue.EnqueueTask(r.Context(), typ, payload, at, a.Clock.Now())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.Log.WithFields(map[string]any{"task_id": res.TaskID, "task_type": res.Type}).Info("task enqueued by an admin")
	writeJSON(w, http.StatusAccepted, res)
}
