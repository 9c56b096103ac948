// Package metrics defines leadworker's Prometheus metrics. A nil *Metrics
// is valid and records nothing, so code under test may leave it out.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the daemon's own collectors in their own registry.
type Metrics struct {
	Registry *prometheus.Registry

	leadsReceived *prometheus.CounterVec
	transitions   *prometheus.CounterVec
	emailsSent    *prometheus.CounterVec
	emailsFailed  *prometheus.CounterVec
	emailsRetried *prometheus.CounterVec
	digestLeads   prometheus.Histogram
	runs          *prometheus.CounterVec
	runChanges    *prometheus.CounterVec
	runDuration   *prometheus.HistogramVec
	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
}

// New returns the metrics, registered with the Go and process collectors.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "leadworker", Name: name, Help: help}, labels)
		m.Registry.MustRegister(c)
		return c
	}
	m.leadsReceived = counter("leads_received_total", "New leads taken in.", "kind", "lead_type")
	m.transitions = counter("lead_transitions_total", "Lifecycle changes of leads, by new status and outcome.", "status", "outcome")
	m.emailsSent = counter("emails_sent_total", "Emails accepted by the mail server (or written to the outbox).", "notice")
	m.emailsFailed = counter("emails_failed_total", "Emails that will not be delivered: refused for good (5xx) or given up after the last retry.", "notice", "reason")
	m.emailsRetried = counter("emails_retried_total", "Sends that failed temporarily (4xx, network) and will be retried.", "notice")
	m.runs = counter("maintenance_runs_total", "Maintenance runs finished.", "job")
	m.runChanges = counter("maintenance_changes_total", "Leads changed (or messages queued) by maintenance runs.", "job")
	m.httpRequests = counter("http_requests_total", "HTTP requests answered, by route and status code.", "route", "code")
	m.digestLeads = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "leadworker", Name: "digest_leads",
		Help: "Leads listed per digest sent.", Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500}})
	m.runDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "leadworker", Name: "maintenance_duration_seconds",
		Help: "Duration of maintenance runs.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"job"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "leadworker", Name: "http_request_duration_seconds",
		Help: "Latency of HTTP requests, by route.", Buckets: prometheus.DefBuckets}, []string{"route"})
	m.Registry.MustRegister(m.digestLeads, m.runDuration, m.httpDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// LeadReceived counts a new lead.
func (m *Metrics) LeadReceived(kind, leadType string) {
	if m != nil {
		m.leadsReceived.WithLabelValues(kind, leadType).Inc()
	}
}

// Transition counts a lifecycle change.
func (m *Metrics) Transition(status, outcome string) {
	if m != nil {
		m.transitions.WithLabelValues(status, outcome).Inc()
	}
}

// EmailSent counts an accepted email of a notice type (new_lead, digest,
// closing, reminder).
func (m *Metrics) EmailSent(notice string) {
	if m != nil {
		m.emailsSent.WithLabelValues(notice).Inc()
	}
}

// EmailFailed counts an email that will not be delivered; reason is
// "permanent" or "gave_up".
func (m *Metrics) EmailFailed(notice, reason string) {
	if m != nil {
		m.emailsFailed.WithLabelValues(notice, reason).Inc()
	}
}

// EmailRetried counts a temporary failure.
func (m *Metrics) EmailRetried(notice string) {
	if m != nil {
		m.emailsRetried.WithLabelValues(notice).Inc()
	}
}

// DigestSent records the size of a sent digest.
func (m *Metrics) DigestSent(leads int) {
	if m != nil {
		m.digestLeads.Observe(float64(leads))
	}
}

// Run records a finished maintenance run.
func (m *Metrics) Run(job string, changes int, took time.Duration) {
	if m != nil {
		m.runs.WithLabelValues(job).Inc()
		m.runChanges.WithLabelValues(job).Add(float64(changes))
		m.runDuration.WithLabelValues(job).Observe(took.Seconds())
	}
}

// Request records an answered HTTP request.
func (m *Metrics) Request(route, code string, took time.Duration) {
	if m != nil {
		m.httpRequests.WithLabelValues(route, code).Inc()
		m.httpDuration.WithLabelValues(route).Observe(took.Seconds())
	}
}
