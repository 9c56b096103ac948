package leadworker_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
)

// TestValidatePartnerID checks partner ids: ids as for leads, but no ":",
// which separates the parts of the store's keys.
func TestValidatePartnerID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id string
		ok bool
	}{
		{"P-100", true}, {"acme.co_jp-1", true}, {"P-X:leads", false}, {"P:1", false}, {":P", false},
		{"", false}, {"-P", false}, {"P 1", false}, {"P{1}", false},
	}
	for _, tt := range tests {
		err := leadworker.ValidatePartnerID("partner_id", tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePartnerID(%q) = %v, want ok %t", tt.id, err, tt.ok)
		}
		if err != nil && leadworker.ErrorCode(err) != leadworker.EInvalid {
			t.Errorf("ValidatePartnerID(%q): code %s, want invalid", tt.id, leadworker.ErrorCode(err))
		}
	}
}

// TestValidateEmail checks that only plain addresses with a proper domain
// pass.
func TestValidateEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		email string
		ok    bool
	}{
		{"a@b.example", true}, {"sales|team@litware.example", true}, {"a@localhost", true},
		{"a@-b.example", false}, {"a@b-.example", false}, {"a@b..example", false}, {"a@.example", false},
		{"A <a@b.example>", false}, {"a@[127.0.0.1]", false}, {"not an address", false},
	}
	for _, tt := range tests {
		if err := leadworker.ValidateEmail("email", tt.email); (err == nil) != tt.ok {
			t.Errorf("ValidateEmail(%q) = %v, want ok %t", tt.email, err, tt.ok)
		}
	}
}

// TestIntakeRefusesReplacedText checks that text JSON decoding had to
// repair (invalid UTF-8 or a lone surrogate, both decoded as U+FFFD) is
// refused with the field named, not stored.
func TestIntakeRefusesReplacedText(t *testing.T) {
	t.Parallel()
	const body = `{"id":"L-1","partner_id":"P-1","kind":"customer_inquiry","lead_type":"profile",` +
		`"customer":{"company":%s,"name":%s},"need":%s}`
	tests := []struct{ field, company, name, need string }{
		{"", `"Contoso"`, `"Hanako"`, `"Migrate"`},
		{"customer.name", `"Contoso"`, `"Hana\ud800ko"`, `"Migrate"`},
		{"need", `"Contoso"`, `"Hanako"`, "\"Mig\xffrate\""},
		{"customer.company", `"Contoso\ufffd"`, `"Hanako"`, `"Migrate"`},
	}
	for _, tt := range tests {
		var in leadworker.Intake
		if err := json.Unmarshal(fmt.Appendf(nil, body, tt.company, tt.name, tt.need), &in); err != nil {
			t.Fatalf("%s: %v", tt.field, err)
		}
		err := in.Validate(time.Now())
		var e *leadworker.Error
		if tt.field == "" && err != nil || tt.field != "" && (!errors.As(err, &e) || e.Field != tt.field) {
			t.Errorf("%q: %v, want an error naming %q", tt.field, err, tt.field)
		}
	}
}
