package templates

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// within is how each locale's emails state a period: "within 7 days",
// "7 日以内", "7 天內", "в течение 7 дней" (genitive after "в течение").
var within = map[string]struct {
	days, hours map[int]string
}{
	"en": {
		days:  map[int]string{7: "within 7 days", 21: "within 21 days", 1: "within 1 day"},
		hours: map[int]string{48: "within 48 hours", 24: "within 24 hours", 1: "within 1 hour"},
	},
	"ja": {
		days:  map[int]string{7: "7 日以内", 21: "21 日以内", 1: "1 日以内"},
		hours: map[int]string{48: "48 時間以内", 24: "24 時間以内", 1: "1 時間以内"},
	},
	"zh-Hant": {
		days:  map[int]string{7: "7 天內", 21: "21 天內", 1: "1 天內"},
		hours: map[int]string{48: "48 小時內", 24: "24 小時內", 1: "1 小時內"},
	},
	"ru": {
		days:  map[int]string{7: "в течение 7 дней", 21: "в течение 21 дня", 1: "в течение 1 дня"},
		hours: map[int]string{48: "в течение 48 часов", 24: "в течение 24 часов", 1: "в течение 1 часа"},
	},
}

// countPhrase counts the occurrences of phrase in s that are not the tail of
// a longer number ("1 day" in "21 days" does not count).
func countPhrase(s, phrase string) int {
	n := 0
	for i := 0; ; {
		j := strings.Index(s[i:], phrase)
		if j < 0 {
			return n
		}
		at := i + j
		if r, _ := utf8.DecodeLastRuneInString(s[:at]); at == 0 || !unicode.IsDigit(r) {
			n++
		}
		i = at + len(phrase)
	}
}

func TestConfiguredPeriods(t *testing.T) {
	flame := LeadView{ID: "L-1", URL: "https://portal.example/referrals/leads/L-1", Company: "Contoso",
		Kind: "k", LeadType: "t", Source: "s", EmailValidity: "v", PhoneValidity: "v", ContactRequested: true}
	plain := flame
	plain.ContactRequested = false
	expires := time.Date(2026, 12, 4, 9, 37, 0, 0, time.UTC)
	for _, c := range []struct{ days, hours int }{{7, 48}, {21, 24}, {1, 1}} {
		// Each email, and how often its text and html state the expiry
		// period and the contact-request period.
		emails := []struct {
			desc        string
			name        string
			data        any
			days, hours int
		}{
			{"new_lead contact requested", NewLead, NewLeadData{Lead: flame, ExpireDays: c.days, AlertHours: c.hours}, 1, 1},
			{"new_lead", NewLead, NewLeadData{Lead: plain, ExpireDays: c.days, AlertHours: c.hours}, 1, 0},
			{"digest", Digest, DigestData{Day: "2026-11-20", Total: 3, Leads: []LeadView{plain, flame}, ExpireDays: c.days}, 1, 0},
			{"closing customer expired", Closing, ClosingData{Reason: "expired", ToCustomer: true, LeadID: "L-1", Company: "Contoso", PartnerName: "Fabrikam", ExpireDays: c.days}, 1, 0},
			{"closing originator expired", Closing, ClosingData{Reason: "expired", LeadID: "L-1", Company: "Contoso", PartnerName: "Fabrikam", ExpireDays: c.days}, 1, 0},
			{"closing customer declined", Closing, ClosingData{Reason: "declined", ToCustomer: true, LeadID: "L-1", Company: "Contoso", PartnerName: "Fabrikam", ExpireDays: c.days}, 0, 0},
			// Reminders state the expiry date, not the period.
			{"reminder first", Reminder, ReminderData{Stage: "first", Lead: flame, ExpiresAt: expires}, 0, 0},
			{"reminder expiry", Reminder, ReminderData{Stage: "expiry", Lead: flame, ExpiresAt: expires}, 0, 0},
		}
		for _, locale := range Locales {
			w := within[locale]
			for _, m := range emails {
				t.Run(fmt.Sprintf("%s/%s/%dd%dh", locale, m.desc, c.days, c.hours), func(t *testing.T) {
					e, err := Render(m.name, locale, m.data)
					if err != nil {
						t.Fatal(err)
					}
					for part, body := range map[string]string{"text": e.Text, "html": e.HTML} {
						if got := countPhrase(body, w.days[c.days]); got != m.days {
							t.Errorf("%s states %q %d times, want %d:\n%s", part, w.days[c.days], got, m.days, body)
						}
						if got := countPhrase(body, w.hours[c.hours]); got != m.hours {
							t.Errorf("%s states %q %d times, want %d:\n%s", part, w.hours[c.hours], got, m.hours, body)
						}
					}
					for part, body := range map[string]string{"subject": e.Subject, "text": e.Text, "html": e.HTML} {
						for _, def := range []string{"14", "72"} {
							if strings.Contains(body, def) {
								t.Errorf("%s still contains the default %q:\n%s", part, def, body)
							}
						}
					}
				})
			}
		}
	}
}

// Setting the defaults explicitly renders what zero values render.
func TestDefaultPeriods(t *testing.T) {
	lead := LeadView{ID: "L-1", URL: "https://portal.example/referrals/leads/L-1", Company: "Contoso", ContactRequested: true}
	for _, locale := range Locales {
		for _, pair := range [][2]struct {
			name string
			data any
		}{
			{{NewLead, NewLeadData{Lead: lead}}, {NewLead, NewLeadData{Lead: lead, ExpireDays: DefaultExpireDays, AlertHours: DefaultAlertHours}}},
			{{Digest, DigestData{Leads: []LeadView{lead}}}, {Digest, DigestData{Leads: []LeadView{lead}, ExpireDays: DefaultExpireDays}}},
			{{Closing, ClosingData{Reason: "expired"}}, {Closing, ClosingData{Reason: "expired", ExpireDays: DefaultExpireDays}}},
		} {
			zero, err := Render(pair[0].name, locale, pair[0].data)
			if err != nil {
				t.Fatal(err)
			}
			set, err := Render(pair[1].name, locale, pair[1].data)
			if err != nil {
				t.Fatal(err)
			}
			if zero != set {
				t.Errorf("%s/%s: zero periods render differently from the defaults:\n%+v\n%+v", locale, pair[0].name, zero, set)
			}
		}
	}
}

func TestRuPlural(t *testing.T) {
	// The nominative forms show the three-way rule; the emails use the
	// genitive ones, where few and many coincide.
	days := ruPlural("день", "дня", "дней")
	for n, want := range map[int]string{
		0: "0 дней", 1: "1 день", 2: "2 дня", 4: "4 дня", 5: "5 дней", 11: "11 дней", 12: "12 дней",
		14: "14 дней", 20: "20 дней", 21: "21 день", 22: "22 дня", 25: "25 дней", 101: "101 день",
		111: "111 дней", 112: "112 дней", 122: "122 дня",
	} {
		if got := days(n); got != want {
			t.Errorf("ruPlural(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int]string{1: "1 час", 2: "2 часа", 5: "5 часов", 21: "21 час", 24: "24 часа", 48: "48 часов", 72: "72 часа"} {
		if got := ruPlural("час", "часа", "часов")(n); got != want {
			t.Errorf("ruPlural(%d) = %q, want %q", n, got, want)
		}
	}
	// What the ru emails say after "в течение".
	for _, c := range []struct {
		fn   func(int) string
		n    int
		want string
	}{
		{periods["ru"].days, 1, "1 дня"}, {periods["ru"].days, 2, "2 дней"}, {periods["ru"].days, 14, "14 дней"},
		{periods["ru"].days, 21, "21 дня"}, {periods["ru"].hours, 1, "1 часа"}, {periods["ru"].hours, 24, "24 часов"},
		{periods["ru"].hours, 72, "72 часов"}, {periods["en"].days, 1, "1 day"}, {periods["en"].hours, 72, "72 hours"},
		{periods["ja"].days, 14, "14 日"}, {periods["zh-Hant"].hours, 72, "72 小時"},
	} {
		if got := c.fn(c.n); got != c.want {
			t.Errorf("%d: got %q, want %q", c.n, got, c.want)
		}
	}
}

// TestReminderPeriods checks that reminders state the configured waits:
// whole days as days, anything else as hours, and the defaults when unset.
func TestReminderPeriods(t *testing.T) {
	t.Parallel()
	lead := LeadView{ID: "L-1", URL: "https://portal.example/referrals/leads/L-1", Company: "Contoso"}
	tests := []struct {
		stage  string
		waited int
		left   int
		want   map[string]string
	}{
		{"first", 0, 0, map[string]string{"en": "more than 1 day ago", "ja": "1 日以上前", "zh-Hant": "已超過 1 天", "ru": "более 1 дня назад"}},
		{"first", 36, 0, map[string]string{"en": "more than 36 hours ago", "ja": "36 時間以上前", "zh-Hant": "已超過 36 小時", "ru": "более 36 часов назад"}},
		{"first", 72, 0, map[string]string{"en": "more than 3 days ago", "ja": "3 日以上前", "zh-Hant": "已超過 3 天", "ru": "более 3 дней назад"}},
		{"expiry", 0, 0, map[string]string{"en": "in about 2 days", "ja": "約 2 日後", "zh-Hant": "約 2 天後", "ru": "осталось около 2 дней"}},
		{"expiry", 0, 24, map[string]string{"en": "in about 1 day", "ja": "約 1 日後", "zh-Hant": "約 1 天後", "ru": "осталось около 1 дня"}},
		{"expiry", 0, 12, map[string]string{"en": "in about 12 hours", "ja": "約 12 時間後", "zh-Hant": "約 12 小時後", "ru": "осталось около 12 часов"}},
	}
	for _, tt := range tests {
		for _, locale := range Locales {
			t.Run(fmt.Sprintf("%s/%s/%dh/%dh", locale, tt.stage, tt.waited, tt.left), func(t *testing.T) {
				e, err := Render(Reminder, locale, ReminderData{Stage: tt.stage, Lead: lead, WaitedHours: tt.waited, LeftHours: tt.left})
				if err != nil {
					t.Fatal(err)
				}
				for part, body := range map[string]string{"text": e.Text, "html": e.HTML} {
					if !strings.Contains(body, tt.want[locale]) {
						t.Errorf("%s does not say %q:\n%s", part, tt.want[locale], body)
					}
				}
			})
		}
	}
}
