package templates

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// The sample data is built from testdata/fixtures, a copy of the shared
// fixtures (leads.jsonl, partners.json).

type fixtureLead struct {
	ID           string `json:"id"`
	PartnerID    string `json:"partner_id"`
	Kind         string `json:"kind"`
	LeadType     string `json:"lead_type"`
	Source       string `json:"source"`
	CallToAction string `json:"call_to_action"`
	Customer     struct {
		Company string `json:"company"`
		Name    string `json:"name"`
		Country string `json:"country"`
	} `json:"customer"`
	Need             string    `json:"need"`
	Quality          string    `json:"quality"`
	EmailValidity    string    `json:"email_validity"`
	PhoneValidity    string    `json:"phone_validity"`
	ContactRequested bool      `json:"contact_requested"`
	CreatedAt        time.Time `json:"created_at"`
	Location         string    `json:"location"`
	Originator       *struct {
		Name string `json:"name"`
	} `json:"originator"`
}

type fixtureContact struct {
	Name   string `json:"name"`
	Locale string `json:"locale"`
}

type fixturePartner struct {
	Default   fixtureContact            `json:"default"`
	Locations map[string]fixtureContact `json:"locations"`
}

type fixtures struct {
	leads    map[string]fixtureLead
	partners map[string]fixturePartner
}

func loadFixtures(t testing.TB) fixtures {
	t.Helper()
	fx := fixtures{leads: map[string]fixtureLead{}}
	f, err := os.Open(filepath.Join("testdata", "fixtures", "leads.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l fixtureLead
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("leads.jsonl: %v", err)
		}
		fx.leads[l.ID] = l
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "fixtures", "partners.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fx.partners); err != nil {
		t.Fatalf("partners.json: %v", err)
	}
	return fx
}

func (fx fixtures) lead(t testing.TB, id string) fixtureLead {
	t.Helper()
	l, ok := fx.leads[id]
	if !ok {
		t.Fatalf("fixture lead %s not found", id)
	}
	return l
}

// view turns a fixture lead into what an email shows, with labels in locale,
// the way the caller does it.
func view(locale string, l fixtureLead) LeadView {
	v := LeadView{
		ID:               l.ID,
		URL:              "https://portal.example/referrals/leads/" + l.ID,
		Company:          l.Customer.Company,
		Kind:             Label(locale, "kind."+l.Kind),
		LeadType:         Label(locale, "lead_type."+l.LeadType),
		Source:           Label(locale, "source."+l.Source),
		Country:          l.Customer.Country,
		Need:             l.Need,
		EmailValidity:    Label(locale, "validity."+l.EmailValidity),
		PhoneValidity:    Label(locale, "validity."+l.PhoneValidity),
		ContactRequested: l.ContactRequested,
		Spam:             l.Quality == "low" || l.EmailValidity == "spam",
		CreatedAt:        l.CreatedAt,
	}
	if l.CallToAction != "" {
		v.CallToAction = Label(locale, "cta."+l.CallToAction)
	}
	return v
}

// recipient is the name of the business-profile contact that gets the lead.
func (fx fixtures) recipient(l fixtureLead) string {
	p := fx.partners[l.PartnerID]
	if c, ok := p.Locations[l.Location]; ok {
		return c.Name
	}
	return p.Default.Name
}

// samplePlan picks, per locale, a partner of that locale and its leads.
var samplePlan = map[string]struct {
	partner  string
	newLead  string   // a contact_me offer lead with the flame
	spam     string   // a potential-spam lead
	digest   []string // three leads, the last one potential spam
	referred string   // a qualified lead with an originator
}{
	"en":      {"P-400", "L-400-0001", "L-400-0007", []string{"L-400-0000", "L-400-0002", "L-400-0007"}, "L-400-0002"},
	"ja":      {"P-100", "L-100-0001", "L-100-0007", []string{"L-100-0010", "L-100-0002", "L-100-0007"}, "L-100-0002"},
	"zh-Hant": {"P-200", "L-200-0002", "L-200-0007", []string{"L-200-0000", "L-200-0003", "L-200-0007"}, "L-200-0003"},
	"ru":      {"P-300", "L-300-0004", "L-300-0007", []string{"L-300-0000", "L-300-0006", "L-300-0007"}, "L-300-0006"},
}

type sample struct {
	golden string // file name stem under testdata/golden/<locale>/
	name   string // template name
	data   any
}

// samples returns the sample emails for locale, for every name in Names.
func samples(t testing.TB, fx fixtures, locale string) []sample {
	t.Helper()
	plan, ok := samplePlan[locale]
	if !ok {
		t.Fatalf("no sample plan for locale %s", locale)
	}
	partner := fx.partners[plan.partner].Default.Name
	var out []sample
	for _, name := range Names {
		switch name {
		case NewLead:
			nl := fx.lead(t, plan.newLead)
			out = append(out,
				sample{"new_lead", name, NewLeadData{RecipientName: fx.recipient(nl), Lead: view(locale, nl)}},
				// No recipient name: the neutral greeting.
				sample{"new_lead-spam", name, NewLeadData{Lead: view(locale, fx.lead(t, plan.spam))}})
		case Digest:
			d := DigestData{RecipientName: partner, Day: "2026-11-20", Total: 13}
			for _, id := range plan.digest {
				d.Leads = append(d.Leads, view(locale, fx.lead(t, id)))
			}
			out = append(out, sample{"digest", name, d})
		case Closing:
			inquiry := fx.lead(t, plan.newLead)   // customer inquiry: notice to the customer
			referred := fx.lead(t, plan.referred) // qualified lead: notice to the originator
			if inquiry.Kind != "customer_inquiry" || referred.Originator == nil {
				t.Fatalf("sample plan for %s: %s must be a customer inquiry and %s have an originator", locale, inquiry.ID, referred.ID)
			}
			for _, reason := range []string{"declined", "expired"} {
				out = append(out,
					sample{"closing-customer-" + reason, name, ClosingData{
						RecipientName: inquiry.Customer.Name, Reason: reason, ToCustomer: true,
						LeadID: inquiry.ID, Company: inquiry.Customer.Company, PartnerName: partner,
					}},
					sample{"closing-originator-" + reason, name, ClosingData{
						RecipientName: referred.Originator.Name, Reason: reason, ToCustomer: false,
						LeadID: referred.ID, Company: referred.Customer.Company, PartnerName: partner,
					}})
			}
		case Reminder:
			// The first reminder for the flame lead, the expiry warning for a
			// qualified lead; both expire 14 days after they arrived.
			for _, r := range []struct{ stage, lead string }{{"first", plan.newLead}, {"expiry", plan.referred}} {
				l := fx.lead(t, r.lead)
				out = append(out, sample{"reminder-" + r.stage, name, ReminderData{
					RecipientName: fx.recipient(l), Stage: r.stage, Lead: view(locale, l),
					ToCustomer: r.lead != plan.referred, ExpiresAt: l.CreatedAt.Add(14 * 24 * time.Hour),
				}})
			}
		default:
			t.Fatalf("no sample data for email %q: add it to samples", name)
		}
	}
	return out
}

// leadIDs returns the IDs (and links) of the leads an email is about.
func leadIDs(data any) (ids, urls []string) {
	switch d := data.(type) {
	case NewLeadData:
		return []string{d.Lead.ID}, []string{d.Lead.URL}
	case DigestData:
		for _, l := range d.Leads {
			ids, urls = append(ids, l.ID), append(urls, l.URL)
		}
		return ids, urls
	case ClosingData:
		return []string{d.LeadID}, nil
	case ReminderData:
		return []string{d.Lead.ID}, []string{d.Lead.URL}
	}
	return nil, nil
}

func TestGolden(t *testing.T) {
	fx := loadFixtures(t)
	for _, locale := range Locales {
		all := samples(t, fx, locale)
		for _, s := range all {
			t.Run(locale+"/"+s.golden, func(t *testing.T) {
				e, err := Render(s.name, locale, s.data)
				if err != nil {
					t.Fatal(err)
				}
				checkEmail(t, s, e)
				dir := filepath.Join("testdata", "golden", locale)
				for ext, got := range map[string]string{"subject": e.Subject + "\n", "txt": e.Text, "html": e.HTML} {
					path := filepath.Join(dir, s.golden+"."+ext)
					if *update {
						if err := os.MkdirAll(dir, 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
							t.Fatal(err)
						}
						continue
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("%v (run go test ./templates -update to create it)", err)
					}
					if got != string(want) {
						t.Errorf("%s differs from the golden file (run go test ./templates -update and review the diff):\n%s", path, firstDiff(string(want), got))
					}
				}
			})
		}
		// No golden file is left over from a sample that no longer exists.
		paths, err := filepath.Glob(filepath.Join("testdata", "golden", locale, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range paths {
			stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
			if !slices.ContainsFunc(all, func(s sample) bool { return s.golden == stem }) {
				t.Errorf("%s belongs to no sample: remove it", path)
			}
		}
	}
}

// checkEmail checks what every rendered email must have.
func checkEmail(t *testing.T, s sample, e Email) {
	t.Helper()
	if strings.TrimSpace(e.Subject) == "" || strings.TrimSpace(e.Text) == "" || strings.TrimSpace(e.HTML) == "" {
		t.Fatalf("empty part: %+v", e)
	}
	for part, body := range map[string]string{"subject": e.Subject, "text": e.Text, "html": e.HTML} {
		for _, bad := range []string{"<no value>", "%!", "{{", "}}"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", part, bad)
			}
		}
	}
	for _, want := range []string{`<meta charset="utf-8">`, "max-width:600px", "width:100%", "word-break:break-word", "overflow-wrap:anywhere", "</html>"} {
		if !strings.Contains(e.HTML, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	ids, urls := leadIDs(s.data)
	for _, id := range ids {
		if !strings.Contains(e.Text, id) || !strings.Contains(e.HTML, id) {
			t.Errorf("lead %s is not named in the text and html", id)
		}
	}
	for _, u := range urls {
		if !strings.Contains(e.Text, u) || !strings.Contains(e.HTML, `href="`+u+`"`) {
			t.Errorf("no link to %s in the text and html", u)
		}
	}
	if d, ok := s.data.(ReminderData); ok { // both stages name the expiry date
		if date := formatDate(d.ExpiresAt); !strings.Contains(e.Text, date) || !strings.Contains(e.HTML, date) {
			t.Errorf("the expiry date %s is not in the text and html", date)
		}
	}
	if d, ok := s.data.(DigestData); ok { // the given order is kept
		last := -1
		for _, l := range d.Leads {
			i := strings.Index(e.Text, l.ID)
			if i < last {
				t.Errorf("digest text lists %s out of order", l.ID)
			}
			last = i
		}
	}
}

// firstDiff describes the first line where want and got differ.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant: %q\ngot:  %q", i+1, w, g)
		}
	}
	return "(no line differs)"
}

func TestUnknownLocaleRendersEnglish(t *testing.T) {
	fx := loadFixtures(t)
	for _, locale := range []string{"fr", "", "xx-YY", "EN "} {
		for _, s := range samples(t, fx, "en") {
			t.Run(fmt.Sprintf("%q/%s", locale, s.golden), func(t *testing.T) {
				got, err := Render(s.name, locale, s.data)
				if err != nil {
					t.Fatal(err)
				}
				want, err := Render(s.name, "en", s.data)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("locale %q did not render en:\n%+v", locale, got)
				}
			})
		}
	}
}

func TestHTMLEscapesCustomerText(t *testing.T) {
	const (
		script = `<script>alert(1)</script>`
		img    = `"><img src=x onerror=alert(1)>`
	)
	lead := LeadView{
		ID: "L-1", URL: "https://portal.example/referrals/leads/L-1",
		Company: script, Need: img, Country: img, Kind: "k", LeadType: "t", Source: "s",
		EmailValidity: "v", PhoneValidity: "v", ContactRequested: true, Spam: true,
	}
	tests := []struct {
		name string
		data any
	}{
		{NewLead, NewLeadData{RecipientName: script, Lead: lead}},
		{Digest, DigestData{RecipientName: img, Day: "2026-11-20", Total: 11, Leads: []LeadView{lead, lead}}},
		{Closing, ClosingData{RecipientName: script, Reason: "declined", ToCustomer: true, LeadID: "L-1", Company: script, PartnerName: img}},
		{Closing, ClosingData{RecipientName: img, Reason: "expired", LeadID: "L-1", Company: img, PartnerName: script}},
		{Reminder, ReminderData{RecipientName: script, Stage: "first", Lead: lead, ExpiresAt: time.Date(2026, 12, 4, 9, 37, 0, 0, time.UTC)}},
		{Reminder, ReminderData{RecipientName: img, Stage: "expiry", Lead: lead, ExpiresAt: time.Date(2026, 12, 4, 9, 37, 0, 0, time.UTC)}},
	}
	for _, locale := range Locales {
		for _, tt := range tests {
			t.Run(locale+"/"+tt.name, func(t *testing.T) {
				e, err := Render(tt.name, locale, tt.data)
				if err != nil {
					t.Fatal(err)
				}
				lower := strings.ToLower(e.HTML)
				for _, bad := range []string{"<script", "<img", "onerror=alert(1)>"} {
					if strings.Contains(lower, bad) {
						t.Errorf("html contains %q:\n%s", bad, e.HTML)
					}
				}
				for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"} {
					if !strings.Contains(e.HTML, want) {
						t.Errorf("html lacks the escaped form %q", want)
					}
				}
				// Plain text is not HTML: it shows the text as given.
				if !strings.Contains(e.Text, script) || !strings.Contains(e.Text, img) {
					t.Errorf("text body does not show the customer text as given:\n%s", e.Text)
				}
			})
		}
	}
}

func TestSubjectIsOneHeaderSafeLine(t *testing.T) {
	const evil = "ACME\r\nBcc: evil@example.com"
	lead := LeadView{ID: "L-1\nX-Injected: 1", URL: "https://portal.example/referrals/leads/L-1", Company: evil, ContactRequested: true, Spam: true}
	tests := []struct {
		name string
		data any
	}{
		{NewLead, NewLeadData{RecipientName: evil, Lead: lead}},
		{Digest, DigestData{RecipientName: evil, Day: "2026-11-20\r\nBcc: evil@example.com", Total: 11, Leads: []LeadView{lead}}},
		{Closing, ClosingData{Reason: "declined", ToCustomer: true, LeadID: "L-1", Company: evil, PartnerName: evil}},
		{Closing, ClosingData{Reason: "expired", LeadID: "L-1\r\n", Company: evil, PartnerName: "Fabrikam\n"}},
		{Reminder, ReminderData{RecipientName: evil, Stage: "first", Lead: lead}},
		{Reminder, ReminderData{RecipientName: evil, Stage: "expiry", Lead: lead}},
	}
	for _, locale := range Locales {
		for _, tt := range tests {
			t.Run(locale+"/"+tt.name, func(t *testing.T) {
				e, err := Render(tt.name, locale, tt.data)
				if err != nil {
					t.Fatal(err)
				}
				if strings.ContainsAny(e.Subject, "\r\n") || strings.IndexFunc(e.Subject, unicode.IsControl) >= 0 {
					t.Errorf("subject is not one header-safe line: %q", e.Subject)
				}
				if e.Subject != strings.TrimSpace(e.Subject) || strings.Contains(e.Subject, "  ") {
					t.Errorf("subject has stray spaces: %q", e.Subject)
				}
			})
		}
	}
}

// requiredLabels are the label keys every locale defines, no more, no less.
var requiredLabels = []string{
	"kind.customer_inquiry", "kind.marketing_qualified", "kind.sales_qualified",
	"lead_type.profile", "lead_type.offer",
	"cta.get_it_now", "cta.free_trial", "cta.test_drive", "cta.contact_me",
	"source.appsource", "source.azure_marketplace", "source.azure_portal", "source.solution_provider",
	"validity.valid", "validity.invalid", "validity.spam", "validity.unknown",
}

func readLabels(t *testing.T, locale string) map[string]string {
	t.Helper()
	raw, err := fs.ReadFile(files, locale+"/labels.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s/labels.json: %v", locale, err)
	}
	return m
}

func TestLabels(t *testing.T) {
	en := readLabels(t, "en")
	if got, want := slices.Sorted(maps.Keys(en)), slices.Sorted(slices.Values(requiredLabels)); !slices.Equal(got, want) {
		t.Errorf("en/labels.json keys:\n got %q\nwant %q", got, want)
	}
	for _, locale := range Locales {
		t.Run(locale, func(t *testing.T) {
			m := readLabels(t, locale)
			if got, want := slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Keys(en)); !slices.Equal(got, want) {
				t.Errorf("keys differ from en:\n got %q\nwant %q", got, want)
			}
			for k, v := range m {
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s is empty", k)
				}
				if got := Label(locale, k); got != v {
					t.Errorf("Label(%q, %q) = %q, want %q", locale, k, got, v)
				}
			}
			// Product names stay as they are.
			for k, v := range map[string]string{"source.appsource": "AppSource", "source.azure_marketplace": "Azure Marketplace", "source.azure_portal": "Azure portal"} {
				if m[k] != v {
					t.Errorf("%s = %q, want %q", k, m[k], v)
				}
			}
			if locale != "en" {
				for _, k := range []string{"kind.customer_inquiry", "kind.marketing_qualified", "kind.sales_qualified", "validity.valid"} {
					if m[k] == en[k] {
						t.Errorf("%s is not translated: %q", k, m[k])
					}
				}
			}
		})
	}
	if got := Label("fr", "kind.sales_qualified"); got != en["kind.sales_qualified"] {
		t.Errorf("Label(fr) = %q, want the en label", got)
	}
	if got := Label("ja", "no.such.key"); got != "no.such.key" {
		t.Errorf("Label of an unknown key = %q, want the key", got)
	}
}

func TestSubjectsAreTranslated(t *testing.T) {
	fx := loadFixtures(t)
	enSubjects := map[string]string{}
	for _, s := range samples(t, fx, "en") {
		e, err := Render(s.name, "en", s.data)
		if err != nil {
			t.Fatal(err)
		}
		enSubjects[s.golden] = e.Subject
	}
	for _, locale := range Locales {
		for _, s := range samples(t, fx, locale) {
			t.Run(locale+"/"+s.golden, func(t *testing.T) {
				e, err := Render(s.name, locale, s.data)
				if err != nil {
					t.Fatal(err)
				}
				if strings.TrimSpace(e.Subject) == "" {
					t.Fatal("empty subject")
				}
				if locale == "en" {
					return
				}
				// The same data in en: only the template differs.
				en, err := Render(s.name, "en", s.data)
				if err != nil {
					t.Fatal(err)
				}
				if e.Subject == en.Subject {
					t.Errorf("subject is not translated: %q", e.Subject)
				}
				if e.Text == en.Text || e.HTML == en.HTML {
					t.Error("body is not translated")
				}
			})
		}
	}
	// The four closing variants have four different subjects, and so do the
	// two reminder stages.
	seen := map[string]string{}
	for golden, subj := range enSubjects {
		if strings.HasPrefix(golden, "closing-") || strings.HasPrefix(golden, "reminder-") {
			if other, dup := seen[subj]; dup {
				t.Errorf("%s and %s share the subject %q", golden, other, subj)
			}
			seen[subj] = golden
		}
	}
}

func TestMarkers(t *testing.T) {
	plain := LeadView{ID: "L-1", URL: "https://portal.example/referrals/leads/L-1", Company: "Contoso"}
	flame, spam := plain, plain
	flame.ContactRequested = true
	spam.Spam = true
	for _, locale := range Locales {
		t.Run(locale, func(t *testing.T) {
			render := func(l LeadView) Email {
				e, err := Render(NewLead, locale, NewLeadData{Lead: l})
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			p, f, s := render(plain), render(flame), render(spam)
			if strings.Contains(p.Subject, "🔥") || strings.Contains(p.Text, "🔥") || strings.Contains(p.Text, "⚠") {
				t.Errorf("plain lead has a marker: %q\n%s", p.Subject, p.Text)
			}
			if !strings.Contains(f.Subject, "🔥") || !strings.Contains(f.Text, "72") || !strings.Contains(f.HTML, "72") {
				t.Errorf("contact-requested lead lacks the flame or the 72-hour note: %q", f.Subject)
			}
			if s.Subject == p.Subject || !strings.HasPrefix(s.Subject, "[") || !strings.Contains(s.Text, "⚠") || !strings.Contains(s.HTML, "⚠") {
				t.Errorf("potential spam is not marked: %q", s.Subject)
			}
			for _, e := range []Email{p, f, s} {
				if !strings.Contains(e.Text, "14") || !strings.Contains(e.HTML, "14") {
					t.Error("the 14-day expiry is not mentioned")
				}
			}
			d, err := Render(Digest, locale, DigestData{Day: "2026-11-20", Total: 13, Leads: []LeadView{plain, flame, spam}})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(d.Text, "🔥") != 1 || strings.Count(d.Text, "⚠") != 1 || strings.Count(d.HTML, "🔥") != 1 || strings.Count(d.HTML, "⚠") != 1 {
				t.Errorf("digest marks are wrong:\n%s", d.Text)
			}
			expires := time.Date(2026, 12, 4, 9, 37, 0, 0, time.UTC)
			for _, stage := range []string{"first", "expiry"} {
				remind := func(l LeadView) Email {
					e, err := Render(Reminder, locale, ReminderData{Stage: stage, Lead: l, ExpiresAt: expires})
					if err != nil {
						t.Fatal(err)
					}
					return e
				}
				p, f, s := remind(plain), remind(flame), remind(spam)
				if strings.Contains(p.Subject+p.Text+p.HTML, "🔥") || strings.Contains(p.Text+p.HTML, "⚠") {
					t.Errorf("%s reminder: plain lead has a marker: %q\n%s", stage, p.Subject, p.Text)
				}
				// The html title repeats the subject, flame included.
				if !strings.Contains(f.Subject, "🔥") || strings.Count(f.Text, "🔥") != 1 || strings.Count(f.HTML, "🔥") != 2 {
					t.Errorf("%s reminder: contact-requested lead lacks the flame: %q\n%s", stage, f.Subject, f.Text)
				}
				if s.Subject == p.Subject || !strings.HasPrefix(s.Subject, "[") || strings.Count(s.Text, "⚠") != 1 || strings.Count(s.HTML, "⚠") != 1 {
					t.Errorf("%s reminder: potential spam is not marked: %q\n%s", stage, s.Subject, s.Text)
				}
				if stage == "expiry" && !strings.Contains(p.Subject, formatDate(expires)) {
					t.Errorf("expiry reminder: the subject lacks the date: %q", p.Subject)
				}
			}
		})
	}
}

// fuzzBaselines caches the renders of benign data that FuzzRender compares with.
var fuzzBaselines sync.Map

// Private-use characters that FuzzRender puts around each fuzzed value to
// find where it landed in the HTML; html/template leaves them alone.
const markOpen, markClose = "\uE000", "\uE001"

// FuzzRender feeds customer-supplied text into the new-lead, digest and
// reminder emails in every locale. The seed corpus runs in plain go test.
func FuzzRender(f *testing.F) {
	for _, seed := range [][3]string{
		{"Contoso 株式会社", "Teams のライセンス 200 席の見積もり", "東京営業部"},
		{"<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "</title><script>alert(1)</script>"},
		{"ACME\r\nBcc: evil@example.com", "line1\nline2\r\n.\r\n", "Bob\r\nSubject: hi"},
		{"{{.Lead.URL}}", `{{template "new_lead.subject" .}}`, "{{define \"x\"}}"},
		{"' onmouseover='alert(1)", "javascript:alert(1)", `<a href="javascript:alert(1)">x</a>`},
		{"]]><!--", "<!-- --><style>*{}</style>", "\x00\x1b[31m\u2028\u2029\u0085"},
		{"", "", ""},
		{"<", "<<>>", "&lt;"},
		{"0<", "0", "t;</td>"}, // raw text next to the template's own markup
		{"\xff\xfe<", "<\xc3", "ООО «Контосо» & Co"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, company, need, recipient string) {
		for _, s := range []string{company, need, recipient} {
			if strings.Contains(s, markOpen) || strings.Contains(s, markClose) {
				t.Skip("input contains the marks")
			}
		}
		// placeholder keeps the template's branches (empty or not) the same.
		placeholder := func(s string) string {
			if s == "" {
				return ""
			}
			return "x"
		}
		mark := func(s string) string {
			if s == "" {
				return ""
			}
			return markOpen + s + markClose
		}
		expires := time.Date(2026, 12, 4, 9, 37, 0, 0, time.UTC)
		build := func(company, need, recipient string) []struct {
			name string
			data any
		} {
			l := LeadView{
				ID: "L-1", URL: "https://portal.example/referrals/leads/L-1", Company: company, Need: need,
				Kind: "k", LeadType: "t", CallToAction: "c", Source: "s", Country: "JP",
				EmailValidity: "v", PhoneValidity: "v", ContactRequested: true,
			}
			spam := l
			spam.Spam, spam.ContactRequested = true, false
			return []struct {
				name string
				data any
			}{
				{NewLead, NewLeadData{RecipientName: recipient, Lead: l}},
				{NewLead, NewLeadData{RecipientName: recipient, Lead: spam}},
				{Digest, DigestData{RecipientName: recipient, Day: "2026-11-20", Total: 12, Leads: []LeadView{l, spam}}},
				{Reminder, ReminderData{RecipientName: recipient, Stage: "first", Lead: l, ExpiresAt: expires}},
				{Reminder, ReminderData{RecipientName: recipient, Stage: "expiry", Lead: spam, ExpiresAt: expires}},
			}
		}
		fuzzed := build(company, need, recipient)
		marked := build(mark(company), mark(need), mark(recipient))
		benign := build(placeholder(company), placeholder(need), placeholder(recipient))
		for _, locale := range Locales {
			for i, c := range fuzzed {
				e, err := Render(c.name, locale, c.data)
				if err != nil {
					t.Fatalf("%s/%s: %v", locale, c.name, err)
				}
				if strings.IndexFunc(e.Subject, unicode.IsControl) >= 0 {
					t.Errorf("%s/%s: subject has a control character: %q", locale, c.name, e.Subject)
				}
				key := fmt.Sprintf("%s/%d/%t%t%t", locale, i, company == "", need == "", recipient == "")
				b, ok := fuzzBaselines.Load(key)
				if !ok {
					if b, err = Render(c.name, locale, benign[i].data); err != nil {
						t.Fatalf("%s/%s (benign): %v", locale, c.name, err)
					}
					fuzzBaselines.Store(key, b)
				}
				// Escaped text adds no markup: every '<' comes from the template.
				if got, want := strings.Count(e.HTML, "<"), strings.Count(b.(Email).HTML, "<"); got != want {
					t.Errorf("%s/%s: html has %d '<', the template alone %d: customer text was not escaped", locale, c.name, got, want)
				}
				// Where a value landed, it is never raw: no '<' at all there.
				m, err := Render(c.name, locale, marked[i].data)
				if err != nil {
					t.Fatalf("%s/%s (marked): %v", locale, c.name, err)
				}
				rest, found := m.HTML, 0
				for {
					_, after, ok := strings.Cut(rest, markOpen)
					if !ok {
						break
					}
					value, after, ok := strings.Cut(after, markClose)
					if !ok {
						t.Fatalf("%s/%s: unbalanced marks in html", locale, c.name)
					}
					if strings.Contains(value, "<") {
						t.Errorf("%s/%s: html contains the raw text %q", locale, c.name, value)
					}
					rest, found = after, found+1
				}
				if company != "" && found == 0 {
					t.Errorf("%s/%s: the company is not in the html", locale, c.name)
				}
			}
		}
	})
}

// TestDigestPartsAreNumbered checks that a digest sent in several parts
// says which part it is in its subject and body, in every locale, and that
// a digest in one part says nothing of parts.
func TestDigestPartsAreNumbered(t *testing.T) {
	t.Parallel()
	lead := LeadView{ID: "L-1", URL: "https://portal.example/referrals/leads/L-1", Company: "Contoso"}
	render := func(locale string, part, parts int) Email {
		t.Helper()
		e, err := Render(Digest, locale, DigestData{Day: "2027-01-01", Total: 40, Leads: []LeadView{lead}, Part: part, Parts: parts})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, locale := range Locales {
		part, whole := render(locale, 3, 5), render(locale, 1, 1)
		for what, text := range map[string][2]string{"subject": {part.Subject, whole.Subject}, "text": {part.Text, whole.Text}, "html": {part.HTML, whole.HTML}} {
			if !strings.Contains(text[0], "3") || !strings.Contains(text[0], "5") {
				t.Errorf("%s: the %s of part 3 of 5 does not say so: %q", locale, what, text[0])
			}
			if what != "html" && strings.Contains(text[1], "5") { // the HTML's styles hold fives
				t.Errorf("%s: the %s of a digest in one part names parts", locale, what)
			}
		}
	}
}
