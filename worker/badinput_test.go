package worker_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestBadInputIsRefusedWithTheField(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(201, "POST", "/v1/leads", lead("L-OK"))
	withCustomer := func(k, v string) func(map[string]any) {
		return func(l map[string]any) { l["customer"].(map[string]any)[k] = v }
	}
	set := func(k string, v any) func(map[string]any) { return func(l map[string]any) { l[k] = v } }
	drop := func(k string) func(map[string]any) { return func(l map[string]any) { delete(l, k) } }
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		code, field  string
	}{
		{"malformed JSON", "POST", "/v1/leads", `{"id": "L-1",`, 400, "invalid", ""},
		{"not an object", "POST", "/v1/leads", `[1,2]`, 400, "invalid", ""},
		{"empty body", "POST", "/v1/leads", ``, 400, "invalid", ""},
		{"two values", "POST", "/v1/leads", jsonOf(lead("L-2")) + `{}`, 400, "invalid", ""},
		{"wrong type", "POST", "/v1/leads", lead("L-3", set("contact_requested", "yes")), 400, "invalid", "contact_requested"},
		{"nested wrong type", "POST", "/v1/leads", lead("L-4", set("customer", map[string]any{"company": 7})), 400, "invalid", "customer.company"},
		{"unknown field", "POST", "/v1/leads", lead("L-5", set("statuss", "x")), 400, "invalid", "statuss"},
		{"unknown kind", "POST", "/v1/leads", lead("L-6", set("kind", "cold_call")), 400, "invalid", "kind"},
		{"unknown source", "POST", "/v1/leads", lead("L-7", set("source", "fax")), 400, "invalid", "source"},
		{"unknown quality", "POST", "/v1/leads", lead("L-8", set("quality", "medium")), 400, "invalid", "quality"},
		{"unknown call to action", "POST", "/v1/leads", lead("L-9", set("call_to_action", "buy")), 400, "invalid", "call_to_action"},
		{"offer without call to action", "POST", "/v1/leads", lead("L-10", drop("call_to_action")), 400, "invalid", "call_to_action"},
		{"profile with call to action", "POST", "/v1/leads", lead("L-11", set("lead_type", "profile")), 400, "invalid", "call_to_action"},
		{"missing id", "POST", "/v1/leads", lead("", drop("id")), 400, "invalid", "id"},
		{"id with slash", "POST", "/v1/leads", lead("L/12"), 400, "invalid", "id"},
		{"missing partner", "POST", "/v1/leads", lead("L-13", drop("partner_id")), 400, "invalid", "partner_id"},
		{"missing kind", "POST", "/v1/leads", lead("L-14", drop("kind")), 400, "invalid", "kind"},
		{"missing lead type", "POST", "/v1/leads", lead("L-15", drop("lead_type")), 400, "invalid", "lead_type"},
		{"missing company", "POST", "/v1/leads", lead("L-16", withCustomer("company", " ")), 400, "invalid", "customer.company"},
		{"invalid email", "POST", "/v1/leads", lead("L-17", withCustomer("email", "hanako@")), 400, "invalid", "customer.email"},
		{"email with display name", "POST", "/v1/leads", lead("L-18", withCustomer("email", "Eve <eve@x.example>")), 400, "invalid", "customer.email"},
		{"header injection in name", "POST", "/v1/leads", lead("L-19", withCustomer("name", "Eve\r\nBcc: all@x.example")), 400, "invalid", "customer.name"},
		{"bad country", "POST", "/v1/leads", lead("L-20", withCustomer("country", "Japan")), 400, "invalid", "customer.country"},
		{"bad time", "POST", "/v1/leads", lead("L-21", set("created_at", "yesterday")), 400, "invalid", "created_at"},
		{"future time", "POST", "/v1/leads", lead("L-22", set("created_at", "2999-01-01T00:00:00Z")), 400, "invalid", "created_at"},
		{"number for a time", "POST", "/v1/leads", lead("L-22a", set("created_at", 5)), 400, "invalid", "created_at"},
		{"bool for a time", "POST", "/v1/leads", lead("L-22b", set("created_at", true)), 400, "invalid", "created_at"},
		{"lone surrogate", "POST", "/v1/leads", `{"id":"L-22c","partner_id":"P-100","kind":"customer_inquiry","lead_type":"profile","customer":{"company":"Contoso \ud800"}}`, 400, "invalid", "customer.company"},
		{"email domain starting with a hyphen", "POST", "/v1/leads", lead("L-22d", withCustomer("email", "a@-b.example")), 400, "invalid", "customer.email"},
		{"partner id with a colon", "POST", "/v1/leads", lead("L-22e", set("partner_id", "P-100:leads")), 400, "invalid", "partner_id"},
		{"bad originator email", "POST", "/v1/leads", lead("L-23", set("originator", map[string]any{"email": "x"})), 400, "invalid", "originator.email"},
		{"oversized body", "POST", "/v1/leads", `{"id":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "too_large", ""},
		{"unknown lead", "GET", "/v1/leads/L-NOPE", nil, 404, "not_found", ""},
		{"accept unknown lead", "POST", "/v1/leads/L-NOPE/accept", acceptBody, 404, "not_found", ""},
		{"accept without deal name", "POST", "/v1/leads/L-OK/accept", map[string]any{"deal_value": map[string]any{"amount": "1", "currency": "USD"}, "estimated_purchase_date": "2027-01-01"}, 400, "invalid", "deal_name"},
		{"accept with bad currency", "POST", "/v1/leads/L-OK/accept", map[string]any{"deal_name": "x", "deal_value": map[string]any{"amount": "1", "currency": "dollars"}, "estimated_purchase_date": "2027-01-01"}, 400, "invalid", "deal_value.currency"},
		{"accept with bad date", "POST", "/v1/leads/L-OK/accept", map[string]any{"deal_name": "x", "deal_value": map[string]any{"amount": "1", "currency": "USD"}, "estimated_purchase_date": "soon"}, 400, "invalid", "estimated_purchase_date"},
		{"accept with bad contact", "POST", "/v1/leads/L-OK/accept", map[string]any{"deal_name": "x", "deal_value": map[string]any{"amount": "1", "currency": "USD"}, "estimated_purchase_date": "2027-01-01", "contacts": []any{map[string]any{"name": "A", "email": "a@"}}}, 400, "invalid", "contacts[0].email"},
		{"decline without reason", "POST", "/v1/leads/L-OK/decline", map[string]any{"notes": "x"}, 400, "invalid", "reason"},
		{"close with bad outcome", "POST", "/v1/leads/L-OK/close", map[string]any{"outcome": "maybe"}, 400, "invalid", "outcome"},
		{"unknown endpoint", "GET", "/v1/nothing", nil, 404, "not_found", ""},
		{"wrong method", "DELETE", "/v1/leads/L-OK", nil, 405, "method_not_allowed", ""},
		{"unknown list filter", "GET", "/v1/leads?stauts=received", nil, 400, "invalid", "stauts"},
		{"bad list enum", "GET", "/v1/leads?status=open", nil, 400, "invalid", "status"},
		{"bad limit", "GET", "/v1/leads?limit=0", nil, 400, "invalid", "limit"},
		{"bad cursor", "GET", "/v1/leads?cursor=%25%25", nil, 400, "invalid", "cursor"},
		{"bad created_from", "GET", "/v1/leads?created_from=monday", nil, 400, "invalid", "created_from"},
		{"reversed range", "GET", "/v1/leads?created_from=2026-11-02T00:00:00Z&created_to=2026-11-01T00:00:00Z", nil, 400, "invalid", "created_from"},
		{"unknown partner", "GET", "/v1/partners/P-NOBODY", nil, 404, "not_found", ""},
		{"contacts without default", "PUT", "/v1/partners/P-100/contacts", map[string]any{"locations": map[string]any{}}, 400, "invalid", "default"},
		{"contact with bad zone", "PUT", "/v1/partners/P-100/contacts", map[string]any{"default": map[string]any{"email": "a@b.example", "time_zone": "Mars/Base"}}, 400, "invalid", "default.time_zone"},
		{"contact with bad locale", "PUT", "/v1/partners/P-100/contacts", map[string]any{"default": map[string]any{"email": "a@b.example", "locale": "fr"}}, 400, "invalid", "default.locale"},
		{"bad preferred email", "PUT", "/v1/partners/P-100/preferences", map[string]any{"preferred_email": "nobody"}, 400, "invalid", "preferred_email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(tt.method, tt.path, tt.body)
			if res.Status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", res.Status, tt.status, res.Body)
			}
			if tt.status == 405 && res.Allow == "" {
				t.Fatal("405 without an Allow header")
			}
			code, field, msg := res.Error(t)
			if code != tt.code || field != tt.field || msg == "" {
				t.Fatalf("error code %q field %q message %q, want %q %q", code, field, msg, tt.code, tt.field)
			}
		})
	}
	// Nothing was half-written and the daemon still serves.
	page := e.must(200, "GET", "/v1/leads", nil)
	if n := len(page["items"].([]any)); n != 1 {
		t.Fatalf("%d leads stored after bad input, want only L-OK", n)
	}
	if got := e.must(200, "GET", "/v1/leads/L-OK", nil); got["status"] != "received" {
		t.Fatalf("L-OK changed by refused actions: %v", got["status"])
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name, path, auth string
		status           int
	}{
		{"no token", "/v1/leads", "", http.StatusUnauthorized},
		{"wrong token", "/v1/leads", "Bearer api-token-0123456780", http.StatusUnauthorized},
		{"not bearer", "/v1/leads", "Basic api-token-0123456789", http.StatusUnauthorized},
		{"api token", "/v1/leads", "Bearer api-token-0123456789", http.StatusOK},
		{"admin token on v1", "/v1/leads", "Bearer admin-token-0123456789", http.StatusOK},
		{"api token on admin", "/admin/v1/queues", "Bearer api-token-0123456789", http.StatusUnauthorized},
		{"admin token on admin", "/admin/v1/queues", "Bearer admin-token-0123456789", http.StatusOK},
		{"monitor without token", "/admin/monitor/", "", http.StatusUnauthorized},
		{"monitor with API token", "/admin/monitor/api/queues", "Bearer api-token-0123456789", http.StatusUnauthorized},
		{"monitor with admin token", "/admin/monitor/", "Bearer admin-token-0123456789", http.StatusOK},
		{"monitor API with admin token", "/admin/monitor/api/queues", "Bearer admin-token-0123456789", http.StatusOK},
		{"metrics", "/metrics", "", http.StatusOK},
		{"health needs none", "/healthz", "", http.StatusOK},
		{"readiness needs none", "/readyz", "", http.StatusOK},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", e.base+tt.path, nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, res.StatusCode, tt.status)
		}
	}
	if strings.Contains(e.logs.String(), "0123456789") {
		t.Fatal("a token reached the log")
	}
}

func TestReadinessFollowsRedis(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(200, "GET", "/readyz", nil)
	e.redis.Stop()
	res := e.do("GET", "/readyz", nil)
	if code, _, _ := res.Error(t); res.Status != 503 || code != "unavailable" {
		t.Fatalf("readyz with Redis down: %d %s", res.Status, res.Body)
	}
	if res := e.do("GET", "/healthz", nil); res.Status != 200 {
		t.Fatalf("healthz with Redis down: %d", res.Status)
	}
	res = e.do("POST", "/v1/leads", lead("L-DOWN"))
	if code, _, _ := res.Error(t); res.Status != 503 || code != "unavailable" {
		t.Fatalf("intake with Redis down: %d %s", res.Status, res.Body)
	}
}

// TestBodiesMustBeJSON checks that a body sent as another media type is
// refused with 415, and that a bad process_at is named as such.
func TestBodiesMustBeJSON(t *testing.T) {
	t.Parallel()
	e := setup(t)
	res := e.do("POST", "/v1/leads", jsonOf(lead("L-TXT")), "Content-Type", "text/plain")
	if code, _, _ := res.Error(t); res.Status != http.StatusUnsupportedMediaType || code != "unsupported_media_type" {
		t.Fatalf("text/plain body: %d %s, want 415", res.Status, res.Body)
	}
	e.must(201, "POST", "/v1/leads", lead("L-JSON"))
	e.token = "admin-token-0123456789"
	for _, at := range []any{"soon", 5} {
		res = e.do("POST", "/admin/v1/tasks", map[string]any{"type": "lead:notify", "payload": map[string]any{"lead_id": "L-1"}, "process_at": at})
		if _, field, _ := res.Error(t); res.Status != 400 || field != "process_at" {
			t.Fatalf("process_at %v: %d %s, want 400 naming process_at", at, res.Status, res.Body)
		}
	}
}
