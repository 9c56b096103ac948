package templates

import (
	"fmt"
	"time"
)

// Sample returns example data for the email name in locale, for previews.
func Sample(name, locale string) (any, error) {
	created := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	lead := LeadView{ID: "L-20261120-0001", URL: "https://portal.example/referrals/leads/L-20261120-0001",
		Company: "Contoso KK", Kind: Label(locale, "kind.customer_inquiry"), LeadType: Label(locale, "lead_type.offer"),
		CallToAction: Label(locale, "cta.contact_me"), Source: Label(locale, "source.azure_marketplace"), Country: "JP",
		Need: "Migrate 40 VMs to the cloud", EmailValidity: Label(locale, "validity.valid"),
		PhoneValidity: Label(locale, "validity.unknown"), ContactRequested: true, CreatedAt: created}
	spam := lead
	spam.ID, spam.Company, spam.Spam, spam.ContactRequested = "L-20261120-0013", "Fabrikam Test", true, false
	switch name {
	case NewLead:
		return NewLeadData{RecipientName: "Tokyo sales", Lead: lead}, nil
	case Digest:
		return DigestData{RecipientName: "Tokyo sales", Day: "2026-11-20", Total: 12, Leads: []LeadView{lead, spam}}, nil
	case Closing:
		return ClosingData{RecipientName: "Hanako Sato", Reason: "declined", ToCustomer: true, LeadID: lead.ID,
			Company: lead.Company, PartnerName: "Fabrikam Japan"}, nil
	case Reminder:
		return ReminderData{RecipientName: "Tokyo sales", Stage: "first", ToCustomer: true, Lead: lead, ExpiresAt: created.AddDate(0, 0, 14)}, nil
	}
	return nil, fmt.Errorf("unknown template %q; use one of %v", name, Names)
}
