package leadworker

import "time"

// Feed entry types of the Action Center feed.
const (
	FeedNewLead       = "new_lead"           // a lead was emailed on its own
	FeedDigest        = "digest"             // a digest was sent
	FeedInformational = "informational_lead" // an informational offer lead arrived (feed only)
	FeedClosing       = "closing_notice"     // the customer or originator was told a lead closed
	FeedUndelivered   = "undelivered"        // an announcement could not be delivered
	FeedReminder      = "reminder"           // the partner was reminded of a lead
)

// FeedEntry is one item of a partner's Action Center feed.
type FeedEntry struct {
	Type      string    `json:"type"`
	LeadIDs   []string  `json:"lead_ids"`
	Recipient string    `json:"recipient,omitempty"`
	Message   string    `json:"message,omitempty"`
	At        time.Time `json:"at"`
}
