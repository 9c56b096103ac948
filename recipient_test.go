package leadworker_test

import (
	"testing"

	"github.com/leadworker/leadworker"
)

func TestResolveRecipient(t *testing.T) {
	t.Parallel()
	contacts := leadworker.Contacts{
		Default:   &leadworker.Contact{Email: "Default@P.example", Name: "Default", Locale: "ja", TimeZone: "Asia/Tokyo"},
		Locations: map[string]leadworker.Contact{"osaka": {Email: "osaka@p.example", Locale: "en"}},
	}
	tests := []struct {
		name     string
		partner  leadworker.Partner
		location string
		fallback bool
		want     leadworker.Recipient
	}{
		{"location contact", leadworker.Partner{Contacts: contacts}, "osaka", false, leadworker.Recipient{Email: "osaka@p.example", Locale: "en", Source: leadworker.SourceLocation}},
		{"unknown location", leadworker.Partner{Contacts: contacts}, "kyoto", false, leadworker.Recipient{Email: "default@p.example", Name: "Default", Locale: "ja", Source: leadworker.SourceDefault}},
		{"fallback", leadworker.Partner{Contacts: contacts}, "osaka", true, leadworker.Recipient{Email: "default@p.example", Name: "Default", Locale: "ja", Source: leadworker.SourceDefault}},
		{"preferred wins", leadworker.Partner{Contacts: contacts, Preferences: leadworker.Preferences{PreferredEmail: "pref@p.example", Locale: "ru"}}, "osaka", false,
			leadworker.Recipient{Email: "pref@p.example", Locale: "ru", Source: leadworker.SourcePreferred}},
		{"preferred without contacts", leadworker.Partner{Preferences: leadworker.Preferences{PreferredEmail: "pref@p.example"}}, "", false,
			leadworker.Recipient{Email: "pref@p.example", Locale: "en", Source: leadworker.SourcePreferred}},
	}
	for _, tt := range tests {
		got, err := leadworker.ResolveRecipient(&tt.partner, &leadworker.Lead{Intake: leadworker.Intake{Location: tt.location}}, tt.fallback)
		got.Location = nil
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v %v, want %+v", tt.name, got, err, tt.want)
		}
	}
	if _, err := leadworker.ResolveRecipient(&leadworker.Partner{ID: "P-0"}, &leadworker.Lead{}, false); err == nil {
		t.Error("a partner with no contacts resolved to a recipient")
	}
}
