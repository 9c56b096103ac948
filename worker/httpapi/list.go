package httpapi

import (
	"bufio"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
)

// listParams are the query parameters GET /v1/leads understands.
var listParams = map[string]func(f *store.Filter, v string) error{
	"partner_id":     func(f *store.Filter, v string) error { f.PartnerID = v; return nil },
	"status":         func(f *store.Filter, v string) error { f.Status = leadworker.Status(v); return nil },
	"outcome":        func(f *store.Filter, v string) error { f.Outcome = leadworker.Outcome(v); return nil },
	"kind":           func(f *store.Filter, v string) error { f.Kind = leadworker.Kind(v); return nil },
	"lead_type":      func(f *store.Filter, v string) error { f.LeadType = leadworker.LeadType(v); return nil },
	"call_to_action": func(f *store.Filter, v string) error { f.CallToAction = leadworker.CallToAction(v); return nil },
	"source":         func(f *store.Filter, v string) error { f.Source = v; return nil },
	"country":        func(f *store.Filter, v string) error { f.Country = v; return nil },
	"quality":        func(f *store.Filter, v string) error { f.Quality = v; return nil },
	"email_validity": func(f *store.Filter, v string) error { f.EmailValidity = v; return nil },
	"phone_validity": func(f *store.Filter, v string) error { f.PhoneValidity = v; return nil },
	"cursor":         func(f *store.Filter, v string) error { f.Cursor = v; return nil },
	"favorite":       parseFavorite,
	"created_from":   parseTimeParam("created_from", func(f *store.Filter) **time.Time { return &f.CreatedFrom }),
	"created_to":     parseTimeParam("created_to", func(f *store.Filter) **time.Time { return &f.CreatedTo }),
	"limit":          parseLimit,
	"format":         parseFormat,
}

func parseFormat(_ *store.Filter, v string) error {
	if v != "json" && v != "csv" {
		return leadworker.Invalidf("format", `format must be "json" or "csv"`)
	}
	return nil
}

func parseFavorite(f *store.Filter, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return leadworker.Invalidf("favorite", "favorite must be true or false")
	}
	f.Favorite = &b
	return nil
}

func parseLimit(f *store.Filter, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return leadworker.Invalidf("limit", "limit must be a whole number from 1 to %d", store.MaxListLimit)
	}
	f.Limit = n
	return nil
}

func parseTimeParam(name string, dst func(*store.Filter) **time.Time) func(*store.Filter, string) error {
	return func(f *store.Filter, v string) error {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return leadworker.Invalidf(name, "%s must be an RFC 3339 time such as 2026-11-20T00:00:00Z", name)
		}
		*dst(f) = &t
		return nil
	}
}

// parseFilter reads a listing filter from the query, refusing unknown or
// repeated parameters so a typo does not silently widen the listing.
func parseFilter(q url.Values) (store.Filter, error) {
	var f store.Filter
	for name, vals := range q {
		parse, ok := listParams[name]
		switch {
		case !ok:
			return f, leadworker.Invalidf(name, "unknown query parameter %q", name)
		case len(vals) != 1:
			return f, leadworker.Invalidf(name, "give %s at most once", name)
		}
		if err := parse(&f, vals[0]); err != nil {
			return f, err
		}
	}
	return f, f.Validate()
}

func wantsCSV(r *http.Request) bool {
	return r.URL.Query().Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv")
}

func (a *API) listLeads(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if wantsCSV(r) {
		a.exportCSV(w, r, f)
		return
	}
	page, err := a.Store.List(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	for _, l := range page.Items {
		a.present(l)
	}
	writeJSON(w, http.StatusOK, page)
}

// csvHeader is the export's header row.
var csvHeader = []string{"LeadId", "PartnerId", "Location", "Kind", "LeadType", "CallToAction", "Source",
	"CustomerCompany", "ContactName", "ContactEmail", "ContactPhone", "Country", "Need", "Quality",
	"EmailValidity", "PhoneValidity", "ContactRequested", "Status", "Outcome", "Alert", "Informational",
	"Favorite", "DealName", "DealValue", "DealCurrency", "LeadCreationDateTime", "UpdatedDateTime", "ArchivedDateTime",
	"AcceptedDateTime", "ExpiresDateTime", "AlertUntilDateTime"}

func csvRow(l *leadworker.Lead) []string {
	var dealName, amount, currency string
	if l.Deal != nil {
		dealName, amount, currency = l.Deal.Name, string(l.Deal.Value.Amount), l.Deal.Value.Currency
	}
	row := []string{l.ID, l.PartnerID, l.Location, string(l.Kind), string(l.LeadType), string(l.CallToAction),
		l.Source, l.Customer.Company, l.Customer.Name, l.Customer.Email, l.Customer.Phone, l.Customer.Country,
		l.Need, l.Quality, l.EmailValidity, l.PhoneValidity, strconv.FormatBool(l.ContactRequested),
		string(l.Status), string(l.Outcome), string(l.Alert), strconv.FormatBool(l.Informational),
		strconv.FormatBool(l.Favorite), dealName, amount, currency,
		l.CreatedAt.Format(time.RFC3339), l.UpdatedAt.Format(time.RFC3339), csvTime(l.ArchivedAt),
		csvTime(l.AcceptedAt), csvTime(l.ExpiresAt), csvTime(l.AlertUntil)}
	for i := range row {
		row[i] = neutralize(row[i])
	}
	return row
}

// csvTime is an optional time in a CSV cell: RFC 3339, or empty.
func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

// formulaStart holds what makes a spreadsheet read a cell as a formula when
// it comes first: = + - @ in ASCII and full width, tab and carriage return.
const formulaStart = "=+-@\t\r＝＋－＠"

// neutralize keeps a spreadsheet from reading a cell as a formula: a cell
// that starts with a formula character, leading white space aside, gets a
// leading quote.
func neutralize(cell string) string {
	first, _ := utf8.DecodeRuneInString(cell)
	afterSpace, _ := utf8.DecodeRuneInString(strings.TrimLeftFunc(cell, unicode.IsSpace))
	if cell != "" && (strings.ContainsRune(formulaStart, first) || strings.ContainsRune(formulaStart, afterSpace)) {
		return "'" + cell
	}
	return cell
}

// writeCSVRow writes one CSV row (RFC 4180). Every cell that holds a quote,
// a line break or a list separator a spreadsheet may use (, ; tab) is
// quoted, so "Acme;=1+1" stays one cell whatever the reader's separator.
func writeCSVRow(w *bufio.Writer, row []string) {
	for i, cell := range row {
		if i > 0 {
			_ = w.WriteByte(',')
		}
		if !strings.ContainsAny(cell, "\",;\t\r\n") {
			_, _ = w.WriteString(cell)
			continue
		}
		_ = w.WriteByte('"')
		_, _ = w.WriteString(strings.ReplaceAll(cell, `"`, `""`))
		_ = w.WriteByte('"')
	}
	_, _ = w.WriteString("\r\n")
}

// exportCSV streams every matching lead, page by page, newest first. A
// failure after the first row can only cut the stream short; it is logged.
func (a *API) exportCSV(w http.ResponseWriter, r *http.Request, f store.Filter) {
	f.Limit = store.MaxListLimit
	page, err := a.Store.List(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="leads.csv"`)
	cw := bufio.NewWriter(w)
	writeCSVRow(cw, csvHeader)
	for {
		for _, l := range page.Items {
			writeCSVRow(cw, csvRow(a.present(l)))
		}
		if err := cw.Flush(); err != nil || page.NextCursor == "" {
			return
		}
		f.Cursor = page.NextCursor
		if page, err = a.Store.List(r.Context(), f); err != nil {
			a.Log.WithError(err).Error("CSV export cut short")
			return
		}
	}
}
