// Package templates holds the embedded email templates, one folder per
// locale (en, ja, zh-Hant, ru), and renders them: every email has a
// localized subject, a plain-text body and an HTML body.
package templates

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"slices"
	texttemplate "text/template"
	"time"

	"github.com/leadworker/leadworker/mailer"
)

// Names of the emails.
const (
	NewLead  = "new_lead" // one new lead, to the partner's recipient
	Digest   = "digest"   // the day's leads past the threshold, to the partner's recipient
	Closing  = "closing"  // a declined or expired lead, to the customer or originator
	Reminder = "reminder" // a lead still unanswered, to the partner's recipient
)

// Names lists every email; Locales every locale, the fallback first.
var (
	Names   = []string{NewLead, Digest, Closing, Reminder}
	Locales = []string{"en", "ja", "zh-Hant", "ru"}
)

//go:embed en ja zh-Hant ru
var files embed.FS

// LeadView is what an email shows of one lead. Labels are already localized.
type LeadView struct {
	ID               string
	URL              string
	Company          string
	Kind             string // localized label
	LeadType         string // localized label
	CallToAction     string // localized label, empty for profile leads
	Source           string // localized label
	Country          string
	Need             string
	EmailValidity    string // localized label
	PhoneValidity    string // localized label
	ContactRequested bool
	Spam             bool
	CreatedAt        time.Time
}

// Periods the emails state when the data leaves ExpireDays or AlertHours
// zero: the defaults of LEADWORKER_EXPIRE_AFTER and
// LEADWORKER_CONTACT_ALERT_AFTER.
const (
	DefaultExpireDays = 14
	DefaultAlertHours = 72
)

// NewLeadData fills the new_lead email.
type NewLeadData struct {
	RecipientName string
	Lead          LeadView
	// ExpireDays is how many days the lead waits for an answer before it
	// expires (LEADWORKER_EXPIRE_AFTER in whole days); 0 means
	// DefaultExpireDays.
	ExpireDays int
	// AlertHours is how many hours the partner has to answer a contact
	// request (LEADWORKER_CONTACT_ALERT_AFTER in whole hours); 0 means
	// DefaultAlertHours. Only contact-requested leads mention it.
	AlertHours int
}

// DigestData fills the digest email. Leads are listed in the order given:
// the caller puts potential spam last.
type DigestData struct {
	RecipientName string
	Day           string // the day's date, YYYY-MM-DD, in the recipient's time zone
	Total         int    // leads the recipient got that day, individual ones included
	Leads         []LeadView
	// Part and Parts number a digest sent in several parts (Part of
	// Parts); a digest in one part has Parts 0 or 1 and says nothing of it.
	Part, Parts int
	// ExpireDays is how many days a lead waits for an answer before it
	// expires (LEADWORKER_EXPIRE_AFTER in whole days); 0 means
	// DefaultExpireDays.
	ExpireDays int
}

// ClosingData fills the closing notice.
type ClosingData struct {
	RecipientName string
	Reason        string // "declined" or "expired"
	ToCustomer    bool   // true: the customer; false: the vendor employee who sent the lead
	LeadID        string
	Company       string // the customer's company
	PartnerName   string
	// ExpireDays is how many days the lead waited for an answer before it
	// expired (LEADWORKER_EXPIRE_AFTER in whole days); 0 means
	// DefaultExpireDays. Only expired-lead notices mention it.
	ExpireDays int
}

// ReminderData fills the reminder: Stage is "first" (the lead is still
// unanswered a day after it arrived) or "expiry" (it expires soon).
type ReminderData struct {
	RecipientName string
	Stage         string
	ToCustomer    bool // the closing notice would go to the customer (else to the originator)
	Lead          LeadView
	ExpiresAt     time.Time // when the lead expires if nobody answers
	// WaitedHours is how long the lead has waited when the first reminder
	// goes out (LEADWORKER_REMIND_AFTER in whole hours); 0 means 24.
	WaitedHours int
	// LeftHours is how long before expiry the second reminder goes out
	// (LEADWORKER_REMIND_BEFORE_EXPIRY in whole hours); 0 means 48.
	LeftHours int
}

// Email is a rendered email.
type Email struct {
	Subject string
	Text    string
	HTML    string
}

// set is one locale's parsed templates and labels.
type set struct {
	text   *texttemplate.Template
	html   *htmltemplate.Template
	labels map[string]string
}

var sets = mustLoad()

func mustLoad() map[string]*set {
	out := map[string]*set{}
	for _, loc := range Locales {
		s, err := load(loc)
		if err != nil {
			panic(fmt.Sprintf("templates: %s: %v", loc, err))
		}
		out[loc] = s
	}
	return out
}

func load(loc string) (*set, error) {
	s := &set{labels: map[string]string{}}
	raw, err := fs.ReadFile(files, loc+"/labels.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &s.labels); err != nil {
		return nil, fmt.Errorf("labels.json: %w", err)
	}
	p, ok := periods[loc]
	if !ok {
		return nil, fmt.Errorf("no day and hour wording for the locale")
	}
	funcs := map[string]any{
		"label": s.label,
		"date":  formatDate,
		// days and hours state a period as it reads after "within" in the
		// locale; 0 (an unset field) stands for the default period.
		"days":  func(n int) string { return p.days(orDefault(n, DefaultExpireDays)) },
		"hours": func(n int) string { return p.hours(orDefault(n, DefaultAlertHours)) },
		// period states hours (def when unset) as whole days when they
		// are, else as hours, read as days and hours are.
		"period": func(hours, def int) string {
			if hours = orDefault(hours, def); hours%24 == 0 {
				return p.days(hours / 24)
			}
			return p.hours(hours)
		},
	}
	if s.text, err = texttemplate.New(loc).Funcs(funcs).ParseFS(files, loc+"/*.txt"); err != nil {
		return nil, err
	}
	if s.html, err = htmltemplate.New(loc).Funcs(funcs).ParseFS(files, loc+"/*.html"); err != nil {
		return nil, err
	}
	return s, nil
}

// label returns the localized label for key, or the key itself.
func (s *set) label(key string) string {
	if v, ok := s.labels[key]; ok {
		return v
	}
	return key
}

func formatDate(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// periods holds, per locale, how a number of days and of hours reads where
// the emails state a period: after "within" ("以内", "內", and in ru "в
// течение", which takes the genitive: "в течение 1 дня", "21 дня", "2 дней",
// "14 дней").
var periods = map[string]struct{ days, hours func(n int) string }{
	"en":      {enPlural("day", "days"), enPlural("hour", "hours")},
	"ja":      {counted("日"), counted("時間")},
	"zh-Hant": {counted("天"), counted("小時")},
	"ru":      {ruPlural("дня", "дней", "дней"), ruPlural("часа", "часов", "часов")},
}

// orDefault returns n, or def if n is not positive (the field was not set).
func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// counted writes "n unit", for languages without plural forms.
func counted(unit string) func(int) string {
	return func(n int) string { return fmt.Sprintf("%d %s", n, unit) }
}

// enPlural writes "1 day" and "n days".
func enPlural(one, other string) func(int) string {
	return func(n int) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, other)
	}
}

// ruPlural writes n with the form of the noun that the Russian plural rule
// picks: one (1, 21, 31, … but not 11), few (2–4, 22–24, … but not 12–14)
// or many (0, 5–20, 25–30, …). The forms are given in the case the sentence
// needs.
func ruPlural(one, few, many string) func(int) string {
	return func(n int) string {
		return fmt.Sprintf("%d %s", n, ruForm(n, one, few, many))
	}
}

// ruForm picks one, few or many for n by the Russian plural rule.
func ruForm(n int, one, few, many string) string {
	if n < 0 {
		n = -n
	}
	switch n10, n100 := n%10, n%100; {
	case n10 == 1 && n100 != 11:
		return one
	case n10 >= 2 && n10 <= 4 && (n100 < 12 || n100 > 14):
		return few
	}
	return many
}

// Label returns the localized label for key (such as "kind.customer_inquiry")
// in locale, falling back to en and then to the key.
func Label(locale, key string) string {
	return sets[Resolve(locale)].label(key)
}

// Resolve returns locale if templates exist for it, else "en".
func Resolve(locale string) string {
	if slices.Contains(Locales, locale) {
		return locale
	}
	return "en"
}

// Render renders the email name in locale (unknown locales fall back to en).
// The subject is reduced to one line without control characters, so nothing
// in it can start a new mail header.
func Render(name, locale string, data any) (Email, error) {
	s := sets[Resolve(locale)]
	var subject, text, html bytes.Buffer
	if err := s.text.ExecuteTemplate(&subject, name+".subject", data); err != nil {
		return Email{}, fmt.Errorf("render %s subject (%s): %w", name, locale, err)
	}
	if err := s.text.ExecuteTemplate(&text, name+".txt", data); err != nil {
		return Email{}, fmt.Errorf("render %s text (%s): %w", name, locale, err)
	}
	if err := s.html.ExecuteTemplate(&html, name+".html", data); err != nil {
		return Email{}, fmt.Errorf("render %s html (%s): %w", name, locale, err)
	}
	return Email{Subject: mailer.HeaderSafe(subject.String()), Text: text.String(), HTML: html.String()}, nil
}
