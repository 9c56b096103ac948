package worker_test

import (
	"strings"
	"testing"
)

// TestReadinessNamesNoAddress checks that /readyz, which answers without a
// token, reports a failed delivery by its codes only, never by the reply
// text that quotes the recipient's address.
func TestReadinessNamesNoAddress(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	e.smtp.Full("tokyo-sales@fabrikam-jp.example")
	e.must(201, "POST", "/v1/leads", lead("L-FULL"))
	var lastErr string
	waitFor(t, func() bool {
		smtp, _ := e.must(200, "GET", "/readyz", nil)["smtp"].(map[string]any)
		lastErr, _ = smtp["last_error"].(string)
		return lastErr != ""
	})
	if strings.Contains(lastErr, "@") || !strings.Contains(lastErr, "452 4.2.2") {
		t.Fatalf("readiness reports %q; want the reply codes and no address", lastErr)
	}
}
