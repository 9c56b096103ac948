package worker_test

import (
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedListing stores 30 leads for P-100 (one a minute, some variations) and
// 5 for P-200, and moves a few through the lifecycle.
func seedListing(e *env) {
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i := range 30 {
		e.must(201, "POST", "/v1/leads", lead(fmt.Sprintf("L-100-%02d", i), func(l map[string]any) {
			l["created_at"] = base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
			if i%3 == 0 {
				l["kind"], l["lead_type"] = "sales_qualified", "profile"
				delete(l, "call_to_action")
			}
			if i%5 == 0 {
				l["quality"] = "low"
				l["customer"].(map[string]any)["country"] = "TW"
			}
		}))
	}
	for i := range 5 {
		e.must(201, "POST", "/v1/leads", lead(fmt.Sprintf("L-200-%02d", i), func(l map[string]any) { l["partner_id"] = "P-200" }))
	}
	e.must(200, "POST", "/v1/leads/L-100-01/accept", acceptBody)
	e.must(200, "POST", "/v1/leads/L-100-02/decline", decline.body)
	e.must(200, "PUT", "/v1/leads/L-100-04/favorite", nil)
}

func ids(page map[string]any) []string {
	var out []string
	for _, it := range page["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func TestListingFilters(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seedListing(e)
	tests := []struct {
		query string
		want  []string
	}{
		{"partner_id=P-200&limit=2", []string{"L-200-04", "L-200-03"}},
		{"partner_id=P-100&status=accepted", []string{"L-100-01"}},
		{"partner_id=P-100&outcome=declined", []string{"L-100-02"}},
		{"partner_id=P-100&favorite=true", []string{"L-100-04"}},
		{"partner_id=P-100&kind=sales_qualified&quality=low", []string{"L-100-15", "L-100-00"}},
		{"partner_id=P-100&country=TW&lead_type=offer", []string{"L-100-25", "L-100-20", "L-100-10", "L-100-05"}},
		{"partner_id=P-100&call_to_action=contact_me&created_from=2026-11-01T09:26:00Z", []string{"L-100-29", "L-100-28", "L-100-26"}},
		{"partner_id=P-100&created_from=2026-11-01T09:02:00Z&created_to=2026-11-01T09:03:00Z", []string{"L-100-03", "L-100-02"}},
		{"status=received&source=azure_marketplace&partner_id=P-100&created_to=2026-11-01T09:01:00Z", []string{"L-100-00"}},
		{"source=appsource", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := ids(e.must(200, "GET", "/v1/leads?"+tt.query, nil))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCursorPagingWhileLeadsArrive pages through a partner's leads while new
// ones (newer and older than the cursor) keep arriving: every lead that
// existed at the start is seen exactly once, in newest-first order.
func TestCursorPagingWhileLeadsArrive(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seedListing(e)
	seen := map[string]int{}
	var order []string
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{"partner_id": {"P-100"}, "limit": {"7"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		res := e.must(200, "GET", "/v1/leads?"+q.Encode(), nil)
		for _, id := range ids(res) {
			seen[id]++
			order = append(order, id)
		}
		// A newer lead and a lead with the same created_at as the newest.
		e.must(201, "POST", "/v1/leads", lead(fmt.Sprintf("L-NEW-%02d", page)))
		e.must(201, "POST", "/v1/leads", lead(fmt.Sprintf("L-100-29-%02d", page), func(l map[string]any) {
			l["created_at"] = "2026-11-01T09:29:00Z"
		}))
		if cursor = res["next_cursor"].(string); cursor == "" {
			break
		}
	}
	for i := range 30 {
		if id := fmt.Sprintf("L-100-%02d", i); seen[id] != 1 {
			t.Errorf("%s seen %d times", id, seen[id])
		}
	}
	var originals []string
	for _, id := range order {
		if len(id) == len("L-100-00") && strings.HasPrefix(id, "L-100-") {
			originals = append(originals, id)
		}
	}
	if !slices.IsSortedFunc(originals, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Fatalf("not newest first: %v", originals)
	}
}

func TestCSVExport(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seedListing(e)
	e.must(201, "POST", "/v1/leads", lead("L-CSV", func(l map[string]any) {
		l["partner_id"] = "P-300"
		l["customer"] = map[string]any{"company": "=HYPERLINK(\"http://x\")", "name": "Пётр, \"Петя\"", "phone": "+7 495 000 00 00"}
		l["need"] = "line one\nline two"
	}))
	res := e.do("GET", "/v1/leads?partner_id=P-100&status=received", nil, "Accept", "text/csv")
	if res.Status != 200 {
		t.Fatalf("export: %d %s", res.Status, res.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	header := strings.Join(rows[0], ",")
	if !strings.Contains(header, "LeadId") || !strings.Contains(header, "LeadCreationDateTime") {
		t.Fatalf("header: %s", header)
	}
	if len(rows) != 1+28 { // 30 leads less one accepted and one declined
		t.Fatalf("%d rows, want header + 28", len(rows))
	}
	col := func(name string) int {
		for i, h := range rows[0] {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	if rows[1][col("LeadId")] != "L-100-29" || rows[1][col("LeadCreationDateTime")] != "2026-11-01T09:29:00Z" {
		t.Fatalf("first row: %v", rows[1])
	}
	res = e.do("GET", "/v1/leads?format=csv&partner_id=P-300", nil)
	rows, _ = csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
	row := rows[1]
	if row[col("CustomerCompany")] != "'=HYPERLINK(\"http://x\")" || row[col("ContactPhone")] != "'+7 495 000 00 00" ||
		row[col("ContactName")] != "Пётр, \"Петя\"" || row[col("Need")] != "line one\nline two" {
		t.Fatalf("P-300 row: %q", row)
	}
}
