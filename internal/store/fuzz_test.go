package store

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/leadworker/leadworker"
)

var fuzzSeeds = []string{
	`{"id":"L-1","partner_id":"P-100","location":"tokyo","kind":"customer_inquiry","lead_type":"offer","call_to_action":"contact_me","source":"azure_marketplace","customer":{"company":"Contoso 株式会社","name":"鈴木 一郎","email":"buyer1@customer-jp.example","phone":"+00-0000-0001","country":"JP"},"need":"Teams のライセンス 200 席の見積もり","quality":"high","email_validity":"invalid","phone_validity":"unknown","contact_requested":true,"created_at":"2026-11-20T09:37:00Z"}`,
	`{"id":"L-2","partner_id":"P-300","kind":"sales_qualified","lead_type":"profile","customer":{"company":"Литвэр"},"originator":{"name":"Vendor seller","email":"seller@vendor.example"}}`,
	`{"id":"L-3","partner_id":"P-200","kind":"marketing_qualified","lead_type":"offer","call_to_action":"free_trial","customer":{"company":"Northwind 台灣","name":"Eve\r\nBcc: x@y"}}`,
	`{"id":"","partner_id":1}`,
	`{"id":"L-4","partner_id":"P","kind":"customer_inquiry","lead_type":"offer","customer":{"company":"x"},"created_at":"2026-13-01T00:00:00Z"}`,
	`[]`, `{`, `null`,
}

// FuzzDecodeIntake decodes and validates arbitrary bodies the way the API
// does. A lead that passes validation must survive the trip through its
// Redis hash unchanged and carry nothing that could break a mail header.
func FuzzDecodeIntake(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var in leadworker.Intake
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&in) != nil || in.Validate(now) != nil {
			return
		}
		l := leadworker.NewLead(in, now)
		h := map[string]string{}
		fields := leadFields(l)
		for i := 0; i < len(fields); i += 2 {
			h[fields[i].(string)] = fields[i+1].(string)
		}
		back, err := leadFromHash(h)
		if err != nil {
			t.Fatalf("stored lead does not decode: %v", err)
		}
		want, _ := json.Marshal(l)
		got, _ := json.Marshal(back)
		if !bytes.Equal(want, got) {
			t.Fatalf("hash round trip changed the lead:\n%s\n%s", want, got)
		}
		for _, v := range []string{l.ID, l.PartnerID, l.Customer.Company, l.Customer.Name, l.Customer.Email} {
			if strings.ContainsFunc(v, unicode.IsControl) {
				t.Fatalf("control character accepted in %q", v)
			}
		}
	})
}
