package leadworker_test

import (
	"encoding/json"
	"errors"
	"testing"

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
