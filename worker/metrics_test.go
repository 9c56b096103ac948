package worker_test

import (
	"strings"
	"testing"
	"time"
)

// TestMetricsAfterAScenario takes leads in, lets emails go out, expires one
// and checks the counters Prometheus would scrape.
func TestMetricsAfterAScenario(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.smtp.Reject("osaka-sales@fabrikam-jp.example")
	e.smtp.Reject("leads@fabrikam-jp.example")
	e.must(201, "POST", "/v1/leads", lead("L-1"))
	e.must(201, "POST", "/v1/leads", lead("L-2", func(l map[string]any) {
		l["kind"], l["lead_type"] = "sales_qualified", "profile"
		delete(l, "call_to_action")
	}))
	e.must(201, "POST", "/v1/leads", lead("L-OSAKA", func(l map[string]any) { l["location"] = "osaka" }))
	// Past its deadline already: not announced, expired by the next run.
	e.must(201, "POST", "/v1/leads", lead("L-OLD", createdAt(time.Now().Add(-15*24*time.Hour))))
	e.do("POST", "/v1/leads", "{")
	e.settle(2) // announced before the partner acts on them
	e.must(200, "POST", "/v1/leads/L-1/accept", acceptBody)
	e.must(200, "POST", "/v1/leads/L-1/close", map[string]any{"outcome": "won"})
	e.token = "admin-token-0123456789" // the expiry runs in the daemon, as its cron would run it
	e.must(202, "POST", "/admin/v1/maintenance/expire", nil)
	e.settle(3)
	res := e.do("GET", "/metrics", nil)
	if res.Status != 200 {
		t.Fatalf("/metrics: %d", res.Status)
	}
	body := string(res.Body)
	for _, want := range []string{
		`leadworker_leads_received_total{kind="customer_inquiry",lead_type="offer"} 3`,
		`leadworker_leads_received_total{kind="sales_qualified",lead_type="profile"} 1`,
		`leadworker_lead_transitions_total{outcome="",status="accepted"} 1`,
		`leadworker_lead_transitions_total{outcome="won",status="archived"} 1`,
		`leadworker_emails_sent_total{notice="new_lead"} 2`,
		`leadworker_emails_sent_total{notice="closing"} 1`,
		`leadworker_emails_failed_total{notice="new_lead",reason="permanent"} 2`,
		`leadworker_http_requests_total{code="201",route="POST /v1/leads"} 4`,
		`leadworker_http_requests_total{code="400",route="POST /v1/leads"} 1`,
		`leadworker_queue_tasks{queue="notify",state="pending"} 0`,
		`leadworker_lead_transitions_total{outcome="expired",status="archived"} 1`,
		`leadworker_maintenance_runs_total{job="expire"} 1`,
		`leadworker_maintenance_changes_total{job="expire"} 1`,
		`leadworker_http_request_duration_seconds_bucket{route="POST /v1/leads/{id}/accept",le="+Inf"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "L-1") || strings.Contains(body, "P-100") {
		t.Error("a lead or partner id became a label")
	}
}
