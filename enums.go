package leadworker

import (
	"slices"
	"strings"
)

// Kind says who produced a lead.
type Kind string

// Kinds of lead.
const (
	KindCustomerInquiry    Kind = "customer_inquiry"
	KindMarketingQualified Kind = "marketing_qualified"
	KindSalesQualified     Kind = "sales_qualified"
)

// LeadType says where a lead came from on the marketplace.
type LeadType string

// Lead types.
const (
	LeadTypeProfile LeadType = "profile"
	LeadTypeOffer   LeadType = "offer"
)

// CallToAction is the button an offer lead's customer pressed.
type CallToAction string

// Calls to action of offer leads.
const (
	CTAGetItNow  CallToAction = "get_it_now"
	CTAFreeTrial CallToAction = "free_trial"
	CTATestDrive CallToAction = "test_drive"
	CTAContactMe CallToAction = "contact_me"
)

// Status is where a lead stands in its lifecycle.
type Status string

// Lifecycle states.
const (
	StatusReceived Status = "received"
	StatusAccepted Status = "accepted"
	StatusArchived Status = "archived"
)

// Outcome says why an archived lead was archived. Informational offer leads
// archived at six months have no outcome.
type Outcome string

// Outcomes of archived leads.
const (
	OutcomeNone     Outcome = ""
	OutcomeWon      Outcome = "won"
	OutcomeLost     Outcome = "lost"
	OutcomeDeclined Outcome = "declined"
	OutcomeExpired  Outcome = "expired"
)

// Alert is the contact-request alert a lead shows.
type Alert string

// Alerts.
const (
	AlertNone             Alert = "none"
	AlertContactMe        Alert = "contact_me"
	AlertContactMeOverdue Alert = "contact_me_overdue"
)

// Allowed values of each enumerated field, in documentation order.
var (
	Kinds          = []string{string(KindCustomerInquiry), string(KindMarketingQualified), string(KindSalesQualified)}
	LeadTypes      = []string{string(LeadTypeProfile), string(LeadTypeOffer)}
	CallsToAction  = []string{string(CTAGetItNow), string(CTAFreeTrial), string(CTATestDrive), string(CTAContactMe)}
	Sources        = []string{"appsource", "azure_marketplace", "azure_portal", "solution_provider"}
	Qualities      = []string{"high", "low"}
	EmailValidites = []string{"valid", "invalid", "spam", "unknown"}
	PhoneValidites = []string{"valid", "invalid", "unknown"}
	Statuses       = []string{string(StatusReceived), string(StatusAccepted), string(StatusArchived)}
	Outcomes       = []string{string(OutcomeWon), string(OutcomeLost), string(OutcomeDeclined), string(OutcomeExpired)}
	Locales        = []string{"en", "ja", "zh-Hant", "ru"}
)

// CheckEnum returns an EInvalid error naming field when v is not one of
// allowed. An empty v passes; required fields are checked separately.
func CheckEnum(field, v string, allowed []string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return Invalidf(field, "%s must be one of %s, not %q", field, strings.Join(allowed, ", "), v)
}
