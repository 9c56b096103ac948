package leadworker_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
)

// TestAmountIsKeptAsWritten checks deal amounts: a JSON number or a
// decimal string is kept exactly as the client wrote it (no rounding
// through a float), answered as a string; other JSON kinds are refused.
func TestAmountIsKeptAsWritten(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, want string
		valid      bool
	}{
		{`{"amount":12000.10,"currency":"USD"}`, "12000.10", true},
		{`{"amount":"12000.10","currency":"USD"}`, "12000.10", true},
		{`{"amount":123456789012345.1234,"currency":"JPY"}`, "123456789012345.1234", true},
		{`{"amount":1e5,"currency":"USD"}`, "1e5", false},
		{`{"amount":-5,"currency":"USD"}`, "-5", false},
	}
	for _, tt := range tests {
		var m leadworker.Money
		if err := json.Unmarshal([]byte(tt.body), &m); err != nil || string(m.Amount) != tt.want {
			t.Fatalf("%s: amount %q, %v; want %q", tt.body, m.Amount, err, tt.want)
		}
		d := leadworker.Deal{Name: "d", Value: m, EstimatedPurchaseDate: "2027-01-01"}
		if err := d.Validate(); (err == nil) != tt.valid {
			t.Errorf("%s: Validate = %v, want valid %t", tt.body, err, tt.valid)
		}
		if out, _ := json.Marshal(m); tt.valid && string(out) != `{"amount":"`+tt.want+`","currency":"`+m.Currency+`"}` {
			t.Errorf("%s is answered as %s", tt.body, out)
		}
	}
	var m leadworker.Money
	var typ *json.UnmarshalTypeError
	if err := json.Unmarshal([]byte(`{"amount":true,"currency":"USD"}`), &m); !errors.As(err, &typ) || typ.Field != "amount" {
		t.Errorf("a bool amount: %v, want a type error naming amount", err)
	}
}

// TestDeadlines checks which leads show an answer deadline and an urgent
// window: the deadline only while a lead that needs an answer is received,
// the window for every contact request.
func TestDeadlines(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		lead          leadworker.Lead
		expires, till bool
	}{
		{"received", leadworker.Lead{Status: leadworker.StatusReceived}, true, false},
		{"contact request", leadworker.Lead{Status: leadworker.StatusReceived, Intake: leadworker.Intake{ContactRequested: true}}, true, true},
		{"informational", leadworker.Lead{Status: leadworker.StatusReceived, Informational: true}, false, false},
		{"accepted", leadworker.Lead{Status: leadworker.StatusAccepted}, false, false},
		{"archived contact request", leadworker.Lead{Status: leadworker.StatusArchived, Intake: leadworker.Intake{ContactRequested: true}}, false, true},
	}
	for _, tt := range tests {
		l := tt.lead
		l.CreatedAt = at
		l.Deadlines(14*24*time.Hour, 72*time.Hour)
		if (l.ExpiresAt != nil) != tt.expires || (l.AlertUntil != nil) != tt.till {
			t.Errorf("%s: expires_at %v alert_until %v", tt.name, l.ExpiresAt, l.AlertUntil)
		}
		if l.ExpiresAt != nil && !l.ExpiresAt.Equal(at.Add(14*24*time.Hour)) || l.AlertUntil != nil && !l.AlertUntil.Equal(at.Add(72*time.Hour)) {
			t.Errorf("%s: deadlines %v %v", tt.name, l.ExpiresAt, l.AlertUntil)
		}
	}
}
