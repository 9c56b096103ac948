// Package httpapi is leadworker's HTTP API: the routes of the enqueue API
// (intake, lifecycle actions, listing and CSV export, partners and the
// Action Center feed), the admin routes and the queue monitor, bearer-token
// auth, the error-code→status table and the OpenAPI document. It stores and
// enqueues through internal/store and internal/tasks; it never sends mail.
package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/metrics"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/mailer"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"
)

// MonitorPath is where the asynq web monitor is served, behind the admin
// token.
const MonitorPath = "/admin/monitor"

// Body limits.
const (
	maxBody      = 1 << 20  // 1 MiB for every JSON body
	maxBatchBody = 16 << 20 // 16 MiB for a batch intake
)

// Deps is what the API is built on.
type Deps struct {
	Store     *store.Store
	Queue     *tasks.Queue
	Inspector *asynq.Inspector
	Log       *logrus.Logger
	Clock     clock.Clock
	Metrics   *metrics.Metrics // nil: no /metrics and nothing counted
	Monitor   http.Handler     // the asynq web monitor, served under /admin/monitor/; nil: none
	Mail      *mailer.Mailer   // its last delivery result is shown by /readyz; nil: none
	APITokens []string         // accepted on /v1/
	// ExpireAfter and AlertAfter are the configured periods a lead's
	// expires_at and alert_until are computed from; 0 shows neither.
	ExpireAfter, AlertAfter time.Duration
	AdminTokens             []string // accepted on /v1/ and /admin/
}

// API serves leadworker's HTTP API.
type API struct {
	Deps
	auth    auth
	mux     *http.ServeMux
	methods map[string][]string // methods registered per path, for 405 answers
}

// New returns the API. With no tokens at all every request is allowed
// (the daemon then listens on loopback only).
func New(deps Deps) *API {
	a := &API{Deps: deps, auth: newAuth(deps.APITokens, deps.AdminTokens),
		mux: http.NewServeMux(), methods: map[string][]string{}}
	a.routes()
	return a
}

func (a *API) routes() {
	a.handle("POST /v1/leads", a.v1(a.createLead))
	a.handle("POST /v1/leads:batch", a.v1(a.createBatch))
	a.handle("GET /v1/leads", a.v1(a.listLeads))
	a.handle("GET /v1/leads/{id}", a.v1(a.getLead))
	a.handle("POST /v1/leads/{id}/accept", a.v1(a.acceptLead))
	a.handle("PATCH /v1/leads/{id}/deal", a.v1(a.editDeal))
	a.handle("POST /v1/leads/{id}/decline", a.v1(a.declineLead))
	a.handle("POST /v1/leads/{id}/close", a.v1(a.closeLead))
	a.handle("PUT /v1/leads/{id}/favorite", a.v1(a.favorite(true)))
	a.handle("DELETE /v1/leads/{id}/favorite", a.v1(a.favorite(false)))
	a.handle("PUT /v1/partners/{id}/contacts", a.v1(a.putContacts))
	a.handle("PUT /v1/partners/{id}/preferences", a.v1(a.putPreferences))
	a.handle("GET /v1/partners/{id}", a.v1(a.getPartner))
	a.handle("GET /v1/partners/{id}/notifications", a.v1(a.feed))
	a.handle("GET /admin/v1/queues", a.admin(a.queues))
	a.handle("POST /admin/v1/maintenance/{job}", a.admin(a.runJob))
	a.handle("GET /admin/v1/maintenance/{job}", a.admin(a.jobRuns))
	a.handle("POST /admin/v1/tasks", a.admin(a.enqueueTask))
	if a.Monitor != nil {
		a.mux.Handle(MonitorPath+"/", a.admin(a.Monitor.ServeHTTP))
	}
	a.handle("GET /healthz", a.healthz)
	a.handle("GET /readyz", a.readyz)
	a.handle("GET /openapi.yaml", a.openAPI)
	if a.Metrics != nil {
		a.handle("GET /metrics", promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP)
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, leadworker.Errorf(leadworker.ENotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// handle registers h for pattern ("METHOD /path") and, for the path's other
// methods, a JSON 405 that lists the allowed ones.
func (a *API) handle(pattern string, h http.HandlerFunc) {
	a.mux.HandleFunc(pattern, h)
	method, path, _ := strings.Cut(pattern, " ")
	first := len(a.methods[path]) == 0
	a.methods[path] = append(a.methods[path], method)
	if !first {
		return
	}
	a.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		allowed := strings.Join(a.methods[path], ", ")
		w.Header().Set("Allow", allowed)
		a.writeError(w, r, leadworker.Errorf(eMethodNotAllowed, "%s is not allowed on %s; use %s", r.Method, r.URL.Path, allowed))
	})
}

// Routes lists every registered route as "METHOD /path", sorted.
func (a *API) Routes() []string {
	var out []string
	for path, methods := range a.methods {
		for _, m := range methods {
			out = append(out, m+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// ServeHTTP serves the API and counts each request by route and status.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	a.mux.ServeHTTP(rec, r)
	route := r.Pattern
	if route == "/" {
		route = "unmatched"
	}
	a.Metrics.Request(route, strconv.Itoa(rec.status), time.Since(start))
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Flush lets streamed answers (the CSV export) reach the client as they go.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when Redis answers within a second, and reports how
// the latest email delivery went (mail is retried, so it does not decide
// readiness).
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		a.Log.WithError(err).Warn("readiness check: Redis does not answer")
		a.writeError(w, r, leadworker.Errorf(eUnavailable, "Redis does not answer"))
		return
	}
	body := map[string]any{"status": "ready"}
	if a.Mail != nil {
		body["smtp"] = a.Mail.Status()
	}
	writeJSON(w, http.StatusOK, body)
}

// queues answers the asynq queue statistics.
func (a *API) queues(w http.ResponseWriter, r *http.Request) {
	names, err := a.Inspector.Queues()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := []queueStats{}
	for _, q := range names {
		info, err := a.Inspector.GetQueueInfo(q)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		out = append(out, queueStats{Queue: info.Queue, Size: info.Size, Pending: info.Pending, Active: info.Active,
			Scheduled: info.Scheduled, Retry: info.Retry, Archived: info.Archived, Completed: info.Completed,
			Processed: info.Processed, Failed: info.Failed, Paused: info.Paused, LatencySeconds: info.Latency.Seconds()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"queues": out})
}

// queueStats is one queue's statistics as GET /admin/v1/queues shows them.
type queueStats struct {
	Queue          string  `json:"queue"`
	Size           int     `json:"size"`
	Pending        int     `json:"pending"`
	Active         int     `json:"active"`
	Scheduled      int     `json:"scheduled"`
	Retry          int     `json:"retry"`
	Archived       int     `json:"archived"`
	Completed      int     `json:"completed"`
	Processed      int     `json:"processed_today"`
	Failed         int     `json:"failed_today"`
	Paused         bool    `json:"paused"`
	LatencySeconds float64 `json:"latency_seconds"`
}
