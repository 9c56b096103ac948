package worker_test

import (
	"testing"
)

// TestPartnerIDsCannotNameAnotherPartnersKeys checks that a partner id
// holding ":" (which would name another partner's keys: "P-X:leads" is
// partner P-X's lead listing) is refused with a 400 naming the field, and
// that partner P-X's leads work.
func TestPartnerIDsCannotNameAnotherPartnersKeys(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, req := range []struct{ method, path string }{
		{"PUT", "/v1/partners/P-X:leads/contacts"}, {"PUT", "/v1/partners/P-X:feed/preferences"},
	} {
		res := e.do(req.method, req.path, fabrikamContacts)
		if _, field, _ := res.Error(t); res.Status != 400 || field != "partner_id" {
			t.Fatalf("%s %s: %d %s, want 400 naming partner_id", req.method, req.path, res.Status, res.Body)
		}
	}
	res := e.do("POST", "/v1/leads", lead("L-COLON", func(l map[string]any) { l["partner_id"] = "P-X:leads" }))
	if _, field, _ := res.Error(t); res.Status != 400 || field != "partner_id" {
		t.Fatalf("intake for partner P-X:leads: %d %s, want 400 naming partner_id", res.Status, res.Body)
	}
	e.must(201, "POST", "/v1/leads", lead("L-X", func(l map[string]any) { l["partner_id"] = "P-X" }))
	if items, _ := e.must(200, "GET", "/v1/leads?partner_id=P-X", nil)["items"].([]any); len(items) != 1 {
		t.Fatalf("P-X lists %d leads, want 1", len(items))
	}
}
