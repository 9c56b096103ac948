package templates

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker/internal/browser"
)

// viewportWidth is the width every email must fit in without scrolling
// sideways: the common width of an email column.
const viewportWidth = 600

// longData is Sample's data with very long, unbroken customer text (a
// 300-character company name, long IDs, names and links) in the other
// branches of each template (spam lead, originator, expiry, …): it must
// wrap, not widen the email.
func longData(t *testing.T, name, locale string) any {
	t.Helper()
	data, err := Sample(name, locale)
	if err != nil {
		t.Fatal(err)
	}
	word := func(prefix string, n int) string {
		return (prefix + strings.Repeat("Unbreakable", n/11+1))[:n]
	}
	company, person := word("Contoso", 300), word("Hanako", 120)
	id := "L-" + strings.Repeat("20261120", 12)
	url := "https://portal.example/referrals/leads/" + id + "?utm_source=" + strings.Repeat("x", 200)
	long := func(l LeadView) LeadView {
		l.ID, l.URL, l.Company, l.Need = id, url, company, word("Need", 250)
		l.Country = word("Country", 80)
		return l
	}
	switch d := data.(type) {
	case NewLeadData:
		d.RecipientName, d.Lead = person, long(d.Lead)
		d.Lead.Spam = true
		return d
	case DigestData:
		d.RecipientName = person
		for i := range d.Leads {
			d.Leads[i] = long(d.Leads[i])
		}
		return d
	case ClosingData:
		d.RecipientName, d.LeadID, d.Company, d.PartnerName = person, id, company, word("Fabrikam", 200)
		d.Reason, d.ToCustomer = "expired", false
		return d
	case ReminderData:
		d.RecipientName, d.Lead = person, long(d.Lead)
		d.Stage, d.ToCustomer = "expiry", false
		return d
	}
	t.Fatalf("no long variant for %s (%T): add it to longData", name, data)
	return nil
}

// TestEmailsFitIn600px lays every email, in every locale, with the sample
// data and with very long customer text, out in headless Chromium in a
// 600 px wide viewport and fails if anything reaches beyond it
// horizontally. All of them load in one Chromium run.
func TestEmailsFitIn600px(t *testing.T) {
	t.Parallel()
	if _, err := browser.Path(); err != nil {
		t.Fatalf("this test lays the emails out in headless Chromium: %v", err)
	}
	type page struct{ name, html string }
	var pages []page
	for _, name := range Names {
		for _, locale := range Locales {
			sample, err := Sample(name, locale)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []struct {
				variant string
				data    any
			}{{"sample", sample}, {"long", longData(t, name, locale)}} {
				e, err := Render(name, locale, v.data)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, page{fmt.Sprintf("%s/%s/%s", name, locale, v.variant), e.HTML})
			}
		}
	}
	docs := make([]string, len(pages))
	for i, p := range pages {
		docs[i] = p.html
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	layouts, err := browser.Measure(ctx, docs, viewportWidth, 800)
	if err != nil {
		t.Fatal(err)
	}
	widest, tallest := 0, 0
	for i, p := range pages {
		l := layouts[i]
		widest, tallest = max(widest, l.ScrollWidth), max(tallest, l.ScrollHeight)
		if l.ClientWidth != viewportWidth {
			t.Errorf("%s: laid out %d px wide, want %d", p.name, l.ClientWidth, viewportWidth)
		}
		if l.Overflows() {
			t.Errorf("%s overflows a %d px wide viewport: the page is %d px wide; outside it:\n\t%s",
				p.name, viewportWidth, l.ScrollWidth, strings.Join(l.Outside, "\n\t"))
		}
	}
	t.Logf("laid out %d emails in a %d px wide viewport: widest %d px, tallest %d px", len(pages), viewportWidth, widest, tallest)
}
