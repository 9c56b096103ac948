package leadworker

import (
	"maps"
	"slices"
	"time"
)

// Contact is a business-profile contact that receives a partner's leads.
type Contact struct {
	Email    string `json:"email"`
	Name     string `json:"name,omitempty"`
	Locale   string `json:"locale,omitempty"`
	TimeZone string `json:"time_zone,omitempty"`
}

// Contacts are a partner's business-profile contacts: a default one and one
// per location.
type Contacts struct {
	Default   *Contact           `json:"default"`
	Locations map[string]Contact `json:"locations,omitempty"`
}

// Preferences are a partner's Action Center preferences. A preferred email,
// when set, receives every lead.
type Preferences struct {
	PreferredEmail string `json:"preferred_email,omitempty"`
	Locale         string `json:"locale,omitempty"`
	TimeZone       string `json:"time_zone,omitempty"`
}

// Partner is what the store knows of a partner.
type Partner struct {
	ID          string      `json:"id"`
	Contacts    Contacts    `json:"contacts"`
	Preferences Preferences `json:"preferences"`
}

func checkLocale(field, v string) error {
	if v != "" && !slices.Contains(Locales, v) {
		return Invalidf(field, "%s must be one of en, ja, zh-Hant, ru, not %q", field, v)
	}
	return nil
}

func checkTimeZone(field, v string) error {
	if v == "" {
		return nil
	}
	if _, err := time.LoadLocation(v); err != nil || v == "Local" {
		return Invalidf(field, "%s must be an IANA time zone such as Asia/Tokyo, not %q", field, v)
	}
	return nil
}

func (c *Contact) validate(field string) error {
	if c.Email == "" {
		return Invalidf(field+".email", "%s.email is required", field)
	}
	return FirstErr(
		ValidateEmail(field+".email", c.Email),
		checkLine(field+".name", c.Name, MaxTextLen),
		checkLocale(field+".locale", c.Locale),
		checkTimeZone(field+".time_zone", c.TimeZone),
	)
}

// Validate checks contacts: a default contact is required, locations are
// named like ids.
func (c *Contacts) Validate() error {
	if c.Default == nil {
		return Invalidf("default", "default contact is required")
	}
	if err := c.Default.validate("default"); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Locations)) {
		field := "locations." + name
		if err := ValidateID(field, name); err != nil {
			return err
		}
		contact := c.Locations[name]
		if err := contact.validate(field); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks preferences.
func (p *Preferences) Validate() error {
	return FirstErr(
		ValidateEmail("preferred_email", p.PreferredEmail),
		checkLocale("locale", p.Locale),
		checkTimeZone("time_zone", p.TimeZone),
	)
}
