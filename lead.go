package leadworker

import (
	"encoding/json"
	"reflect"
	"time"
)

// Customer is the customer behind a lead. Name, Email and Phone are erased
// when the lead expires.
type Customer struct {
	Company string `json:"company"`
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Country string `json:"country,omitempty"`
}

// Person is someone with a name and an email address, such as the vendor
// employee who sent a qualified lead or an extra contact on a deal.
type Person struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Intake is a lead as a client submits it. Its JSON form, re-encoded, is what
// idempotent intake compares.
type Intake struct {
	ID               string       `json:"id"`
	PartnerID        string       `json:"partner_id"`
	Location         string       `json:"location,omitempty"`
	Kind             Kind         `json:"kind"`
	LeadType         LeadType     `json:"lead_type"`
	CallToAction     CallToAction `json:"call_to_action,omitempty"`
	Source           string       `json:"source,omitempty"`
	Customer         Customer     `json:"customer"`
	Need             string       `json:"need,omitempty"`
	Quality          string       `json:"quality,omitempty"`
	EmailValidity    string       `json:"email_validity,omitempty"`
	PhoneValidity    string       `json:"phone_validity,omitempty"`
	ContactRequested bool         `json:"contact_requested"`
	Originator       *Person      `json:"originator,omitempty"`
	CreatedAt        *time.Time   `json:"created_at,omitempty"`
}

// Lead is a stored lead: what was taken in plus its state.
type Lead struct {
	Intake
	CreatedAt     time.Time     `json:"created_at"`
	Status        Status        `json:"status"`
	Outcome       Outcome       `json:"outcome,omitempty"`
	Alert         Alert         `json:"alert"`
	Informational bool          `json:"informational"`
	Favorite      bool          `json:"favorite"`
	Deal          *Deal         `json:"deal,omitempty"`
	Decline       *Decline      `json:"decline,omitempty"`
	Notification  *Notification `json:"notification,omitempty"`
	AcceptedAt    *time.Time    `json:"accepted_at,omitempty"`
	ArchivedAt    *time.Time    `json:"archived_at,omitempty"`
	UpdatedAt     time.Time     `json:"updated_at"`
	// ExpiresAt is the answer deadline of a received lead that can expire,
	// and AlertUntil the end of a contact request's urgent window; Deadlines
	// sets both from the configured periods.
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	AlertUntil *time.Time `json:"alert_until,omitempty"`

	// Fallback is set once the location contact rejected the lead: it is
	// announced to the partner's default contact instead.
	Fallback bool `json:"-"`
}

// Money is an amount in a currency (ISO 4217 code). The amount keeps the
// decimal text the client sent.
type Money struct {
	Amount   Amount `json:"amount"`
	Currency string `json:"currency"`
}

// Amount is a decimal amount as the client wrote it, a JSON number or a
// decimal string, kept exactly: 12000.10 stays 12000.10, with no rounding
// through a float. It is answered as a string.
type Amount string

// UnmarshalJSON takes a JSON string or a JSON number; null leaves the
// amount as it is.
func (a *Amount) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Amount(s)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*a = Amount(b)
	default:
		return &json.UnmarshalTypeError{Value: jsonKindOf(b), Type: reflect.TypeFor[Amount]()}
	}
	return nil
}

// jsonKindOf names the kind of a JSON value by its first byte.
func jsonKindOf(b []byte) string {
	switch {
	case len(b) == 0:
		return "value"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	}
	return "bool"
}

// Deal is what a partner records when accepting a lead.
type Deal struct {
	Name                  string   `json:"deal_name"`
	Value                 Money    `json:"deal_value"`
	EstimatedPurchaseDate string   `json:"estimated_purchase_date"`
	Notes                 string   `json:"notes,omitempty"`
	CRMID                 string   `json:"crm_id,omitempty"`
	CampaignID            string   `json:"campaign_id,omitempty"`
	Contacts              []Person `json:"contacts,omitempty"`
}

// DealPatch holds the deal fields a PATCH changes; nil fields stay.
type DealPatch struct {
	Name                  *string   `json:"deal_name"`
	Value                 *Money    `json:"deal_value"`
	EstimatedPurchaseDate *string   `json:"estimated_purchase_date"`
	Notes                 *string   `json:"notes"`
	CRMID                 *string   `json:"crm_id"`
	CampaignID            *string   `json:"campaign_id"`
	Contacts              *[]Person `json:"contacts"`
}

// Decline is why a partner declined a lead.
type Decline struct {
	Reason string `json:"reason"`
	Notes  string `json:"notes,omitempty"`
}

// Notification records how a lead was announced to its partner.
type Notification struct {
	Via       string     `json:"via,omitempty"`
	Recipient string     `json:"recipient,omitempty"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// IsInformational reports whether an offer lead needs no answer: its call to
// action is get_it_now, free_trial or test_drive.
func (in *Intake) IsInformational() bool {
	if in.LeadType != LeadTypeOffer {
		return false
	}
	switch in.CallToAction {
	case CTAGetItNow, CTAFreeTrial, CTATestDrive:
		return true
	}
	return false
}

// IsQualified reports whether a vendor employee sent the lead.
func (in *Intake) IsQualified() bool {
	return in.Kind == KindMarketingQualified || in.Kind == KindSalesQualified
}

// NewLead returns the stored form of a validated intake received at now.
func NewLead(in Intake, now time.Time) *Lead {
	now = now.UTC().Truncate(time.Millisecond)
	if in.Originator != nil && *in.Originator == (Person{}) {
		in.Originator = nil
	}
	l := &Lead{Intake: in, Status: StatusReceived, Alert: AlertNone, UpdatedAt: now}
	l.CreatedAt = now
	if in.CreatedAt != nil {
		l.CreatedAt = *in.CreatedAt
	}
	l.CreatedAt = l.CreatedAt.UTC().Truncate(time.Millisecond)
	l.Intake.CreatedAt = nil
	l.Informational = in.IsInformational()
	if in.ContactRequested {
		l.Alert = AlertContactMe
	}
	l.applyDefaults()
	return l
}

func (l *Lead) applyDefaults() {
	if l.Quality == "" {
		l.Quality = "high"
	}
	if l.EmailValidity == "" {
		l.EmailValidity = "unknown"
	}
	if l.PhoneValidity == "" {
		l.PhoneValidity = "unknown"
	}
}

// Deadlines sets ExpiresAt (created_at plus expireAfter, while the lead is
// received and needs an answer) and AlertUntil (created_at plus alertAfter,
// for a contact request); a period of 0 sets nothing.
func (l *Lead) Deadlines(expireAfter, alertAfter time.Duration) {
	l.ExpiresAt, l.AlertUntil = nil, nil
	if expireAfter > 0 && l.Status == StatusReceived && !l.Informational {
		t := l.CreatedAt.Add(expireAfter)
		l.ExpiresAt = &t
	}
	if alertAfter > 0 && l.ContactRequested {
		t := l.CreatedAt.Add(alertAfter)
		l.AlertUntil = &t
	}
}

// IsSpam reports whether the lead is potential spam.
func (l *Lead) IsSpam() bool {
	return l.Quality == "low" || l.EmailValidity == "spam"
}
