package httpapi

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
)

// FuzzCSVRow puts arbitrary customer text into an exported row: the CSV
// must read back as one row of the same width, no cell may start with a
// character a spreadsheet reads as a formula, and nothing but that guard
// may change the text.
func FuzzCSVRow(f *testing.F) {
	for _, seed := range []string{"Contoso", "=HYPERLINK(\"http://x\")", "+81-3-0000", "-1+1", "@SUM(A1)", "\t=1", "a,b\n\"c\"", "東京", ""} {
		f.Add(seed, seed)
	}
	f.Fuzz(func(t *testing.T, company, need string) {
		l := &leadworker.Lead{Intake: leadworker.Intake{ID: "L-1", PartnerID: "P-1", Customer: leadworker.Customer{Company: company}, Need: need},
			CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write(csvHeader)
		_ = w.Write(csvRow(l))
		w.Flush()
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(rows) != 2 || len(rows[1]) != len(csvHeader) {
			t.Fatalf("export does not read back as one row: %v %d", err, len(rows))
		}
		for i, cell := range rows[1] {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("column %s starts with a formula character: %q", csvHeader[i], cell)
			}
		}
		got, want := rows[1][7], company
		if strings.HasPrefix(got, "'") && got != want {
			got = got[1:]
		}
		if got != strings.ReplaceAll(want, "\r\n", "\n") && got != want {
			t.Fatalf("company %q came back as %q", company, rows[1][7])
		}
	})
}
