package leadworker

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ErrNoRecipient means a partner has neither a preferred email nor contacts.
var ErrNoRecipient = errors.New("no recipient")

// Recipient sources, for logs and the fallback rule.
const (
	SourcePreferred = "preferred" // the Action Center preferred email
	SourceLocation  = "location"  // the business-profile contact of the lead's location
	SourceDefault   = "default"   // the partner's default contact
)

// Recipient is who receives a lead's announcement, in which language and
// time zone.
type Recipient struct {
	Email    string
	Name     string
	Locale   string
	Location *time.Location
	Source   string
}

// ResolveRecipient picks the partner's recipient for a lead: the preferred
// email always wins; else the contact of the lead's location; else the
// default contact (always the default once fallback is set, after the
// location contact was rejected). Locale and time zone come from the
// preferences first, then the chosen contact, then the default contact,
// then en and UTC.
func ResolveRecipient(p *Partner, l *Lead, fallback bool) (Recipient, error) {
	contact, source := p.Contacts.Default, SourceDefault
	if c, ok := p.Contacts.Locations[l.Location]; ok && l.Location != "" && !fallback {
		contact, source = &c, SourceLocation
	}
	var r Recipient
	switch {
	case p.Preferences.PreferredEmail != "":
		r = Recipient{Email: p.Preferences.PreferredEmail, Source: SourcePreferred}
	case contact != nil:
		r = Recipient{Email: contact.Email, Name: contact.Name, Source: source}
	default:
		return Recipient{}, fmt.Errorf("%w: partner %s has no preferred email and no default contact", ErrNoRecipient, p.ID)
	}
	r.Email = strings.ToLower(r.Email)
	r.Locale = cmp.Or(p.Preferences.Locale, contactField(contact, func(c *Contact) string { return c.Locale }),
		contactField(p.Contacts.Default, func(c *Contact) string { return c.Locale }), "en")
	zone := cmp.Or(p.Preferences.TimeZone, contactField(contact, func(c *Contact) string { return c.TimeZone }),
		contactField(p.Contacts.Default, func(c *Contact) string { return c.TimeZone }), "UTC")
	r.Location = location(zone)
	return r, nil
}

// zones caches loaded time zones: loading one reads and parses zoneinfo.
var zones sync.Map

// location returns the named time zone, UTC for an unknown name.
func location(name string) *time.Location {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	zones.Store(name, loc)
	return loc
}

func contactField(c *Contact, get func(*Contact) string) string {
	if c == nil {
		return ""
	}
	return get(c)
}
