package leadworker

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what a lead may hold. They keep a stored lead small and every
// identifier safe inside a Redis key, a URL path and a mail header.
const (
	MaxIDLen       = 64
	MaxTextLen     = 200
	MaxLongTextLen = 4000
	MaxContacts    = 20
	// MaxClockSkew is how far in the future a created_at may lie.
	MaxClockSkew = time.Hour
)

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)
	partnerPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	phonePattern    = regexp.MustCompile(`^[0-9+()./ x-]{1,40}$`)
	amountPattern   = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,4})?$`)
)

// ValidateID checks an identifier (lead, partner, location) used in keys
// and paths.
func ValidateID(field, v string) error {
	switch {
	case v == "":
		return Invalidf(field, "%s is required", field)
	case len(v) > MaxIDLen:
		return Invalidf(field, "%s must be at most %d characters", field, MaxIDLen)
	case !idPattern.MatchString(v):
		return Invalidf(field, "%s may hold only letters, digits and . _ : - and must start with a letter or digit", field)
	}
	return nil
}

// ValidatePartnerID checks a partner id: an id without ":", which separates
// the parts of the store's keys (a partner "P-1:leads" would otherwise share
// a key with partner P-1's lead listing).
func ValidatePartnerID(field, v string) error {
	if err := ValidateID(field, v); err != nil {
		return err
	}
	if !partnerPattern.MatchString(v) {
		return Invalidf(field, "%s may hold only letters, digits and . _ - (no \":\") and must start with a letter or digit", field)
	}
	return nil
}

// ValidateEmail checks a bare email address such as a@b.example; display
// names and anything that could smuggle a header are refused.
func ValidateEmail(field, v string) error {
	if v == "" {
		return nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || len(v) > 254 || !hostName(v[strings.LastIndexByte(v, '@')+1:]) {
		return Invalidf(field, "%s must be a plain email address such as name@example.com", field)
	}
	return nil
}

// hostName reports whether d is a domain name of labels that neither start
// nor end with a hyphen, such as an email address needs.
func hostName(d string) bool {
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' || strings.ContainsAny(label, "[]") {
			return false
		}
	}
	return true
}

// checkLine checks a single-line text field: valid UTF-8, no control
// characters (so it can never break a mail header), at most max runes.
func checkLine(field, v string, max int) error {
	if err := checkText(field, v, max); err != nil {
		return err
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return Invalidf(field, "%s must be a single line without control characters", field)
	}
	return nil
}

// checkText checks a multi-line text field: tabs and newlines are allowed,
// other control characters are not.
func checkText(field, v string, max int) error {
	// JSON decoding turns invalid UTF-8 and lone surrogates (\ud800) into
	// U+FFFD: refuse the replacement character rather than store it.
	if !utf8.ValidString(v) || strings.ContainsRune(v, utf8.RuneError) {
		return Invalidf(field, "%s must be valid UTF-8 text: invalid bytes, lone surrogates and U+FFFD are refused", field)
	}
	if utf8.RuneCountInString(v) > max {
		return Invalidf(field, "%s must be at most %d characters", field, max)
	}
	bad := func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }
	if strings.ContainsFunc(v, bad) {
		return Invalidf(field, "%s must not contain control characters", field)
	}
	return nil
}

// CheckRequired returns an EInvalid error naming field when v is blank.
func CheckRequired(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return Invalidf(field, "%s is required", field)
	}
	return nil
}

func checkPhone(field, v string) error {
	if v != "" && !phonePattern.MatchString(v) {
		return Invalidf(field, "%s must be a phone number of digits, spaces and + ( ) . / - x, at most 40 characters", field)
	}
	return nil
}

// FirstErr returns the first non-nil error.
func FirstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Validate checks an intake against the rules of DESIGN §1 and §5 at now and
// returns an EInvalid *Error naming the first offending field.
func (in *Intake) Validate(now time.Time) error {
	return FirstErr(
		ValidateID("id", in.ID),
		ValidatePartnerID("partner_id", in.PartnerID),
		in.validateLocation(),
		in.validateType(),
		CheckEnum("source", in.Source, Sources),
		in.Customer.validate(),
		checkText("need", in.Need, MaxLongTextLen),
		CheckEnum("quality", in.Quality, Qualities),
		CheckEnum("email_validity", in.EmailValidity, EmailValidites),
		CheckEnum("phone_validity", in.PhoneValidity, PhoneValidites),
		in.Originator.validate("originator"),
		in.validateCreatedAt(now),
	)
}

func (in *Intake) validateLocation() error {
	if in.Location == "" {
		return nil
	}
	return ValidateID("location", in.Location)
}

func (in *Intake) validateType() error {
	if in.Kind == "" {
		return Invalidf("kind", "kind is required")
	}
	if in.LeadType == "" {
		return Invalidf("lead_type", "lead_type is required")
	}
	err := FirstErr(
		CheckEnum("kind", string(in.Kind), Kinds),
		CheckEnum("lead_type", string(in.LeadType), LeadTypes),
		CheckEnum("call_to_action", string(in.CallToAction), CallsToAction),
	)
	switch {
	case err != nil:
		return err
	case in.LeadType == LeadTypeOffer && in.CallToAction == "":
		return Invalidf("call_to_action", "call_to_action is required for offer leads")
	case in.LeadType == LeadTypeProfile && in.CallToAction != "":
		return Invalidf("call_to_action", "call_to_action applies only to offer leads")
	}
	return nil
}

func (c *Customer) validate() error {
	if err := CheckRequired("customer.company", c.Company); err != nil {
		return err
	}
	if c.Country != "" && !countryPattern.MatchString(c.Country) {
		return Invalidf("customer.country", "customer.country must be an ISO 3166-1 alpha-2 code such as JP")
	}
	return FirstErr(
		checkLine("customer.company", c.Company, MaxTextLen),
		checkLine("customer.name", c.Name, MaxTextLen),
		ValidateEmail("customer.email", c.Email),
		checkPhone("customer.phone", c.Phone),
	)
}

func (p *Person) validate(field string) error {
	if p == nil {
		return nil
	}
	return FirstErr(
		checkLine(field+".name", p.Name, MaxTextLen),
		ValidateEmail(field+".email", p.Email),
		checkPhone(field+".phone", p.Phone),
	)
}

func (in *Intake) validateCreatedAt(now time.Time) error {
	if in.CreatedAt == nil {
		return nil
	}
	t := *in.CreatedAt
	if t.Year() < 2000 {
		return Invalidf("created_at", "created_at must be in the year 2000 or later")
	}
	if t.After(now.Add(MaxClockSkew)) {
		return Invalidf("created_at", "created_at must not lie in the future")
	}
	return nil
}

// Validate checks a deal as recorded on accept or after an edit.
func (d *Deal) Validate() error {
	if err := CheckRequired("deal_name", d.Name); err != nil {
		return err
	}
	return FirstErr(
		checkLine("deal_name", d.Name, MaxTextLen),
		d.Value.validate("deal_value"),
		ValidateDate("estimated_purchase_date", d.EstimatedPurchaseDate),
		checkText("notes", d.Notes, MaxLongTextLen),
		checkLine("crm_id", d.CRMID, MaxTextLen),
		checkLine("campaign_id", d.CampaignID, MaxTextLen),
		validateContacts(d.Contacts),
	)
}

func (m *Money) validate(field string) error {
	if !amountPattern.MatchString(string(m.Amount)) {
		return Invalidf(field+".amount", "%s.amount must be a non-negative decimal number such as 25000 or 1999.99", field)
	}
	if !currencyPattern.MatchString(m.Currency) {
		return Invalidf(field+".currency", "%s.currency must be an ISO 4217 code such as USD", field)
	}
	return nil
}

// ValidateDate checks a required calendar date such as 2027-03-31.
func ValidateDate(field, v string) error {
	if v == "" {
		return Invalidf(field, "%s is required", field)
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return Invalidf(field, "%s must be a date such as 2027-03-31", field)
	}
	return nil
}

func validateContacts(cs []Person) error {
	if len(cs) > MaxContacts {
		return Invalidf("contacts", "contacts may list at most %d people", MaxContacts)
	}
	for i := range cs {
		field := "contacts[" + strconv.Itoa(i) + "]"
		if err := CheckRequired(field+".name", cs[i].Name); err != nil {
			return err
		}
		if err := cs[i].validate(field); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a decline.
func (d *Decline) Validate() error {
	return FirstErr(
		CheckRequired("reason", d.Reason),
		checkLine("reason", d.Reason, MaxTextLen),
		checkText("notes", d.Notes, MaxLongTextLen),
	)
}

// Apply returns the deal with the patch's fields replaced.
func (p *DealPatch) Apply(d Deal) Deal {
	set(&d.Name, p.Name)
	set(&d.Value, p.Value)
	set(&d.EstimatedPurchaseDate, p.EstimatedPurchaseDate)
	set(&d.Notes, p.Notes)
	set(&d.CRMID, p.CRMID)
	set(&d.CampaignID, p.CampaignID)
	set(&d.Contacts, p.Contacts)
	return d
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
