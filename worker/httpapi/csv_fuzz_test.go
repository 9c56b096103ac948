package httpapi

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadworker/leadworker"
)

// FuzzCSVRow puts arbitrary customer text into an exported row: the CSV
// must read back as one row of the same width, no cell may start with a
// character a spreadsheet reads as a formula, and nothing but that guard
// may change the text.
func FuzzCSVRow(f *testing.F) {
	for _, seed := range []string{"Contoso", "Acme;=HYPERLINK(\"http://x\")", " =1+1", "＝1+1", "=HYPERLINK(\"http://x\")", "+81-3-0000", "-1+1", "@SUM(A1)", "\t=1", "a,b\n\"c\"", "東京", ""} {
		f.Add(seed, seed)
	}
	f.Fuzz(func(t *testing.T, company, need string) {
		l := &leadworker.Lead{Intake: leadworker.Intake{ID: "L-1", PartnerID: "P-1", Customer: leadworker.Customer{Company: company}, Need: need},
			CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		writeCSVRow(w, csvHeader)
		writeCSVRow(w, csvRow(l))
		_ = w.Flush()
		out := buf.String()
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(rows) != 2 || len(rows[1]) != len(csvHeader) {
			t.Fatalf("export does not read back as one row: %v %d", err, len(rows))
		}
		for i, cell := range rows[1] {
			first, _ := utf8.DecodeRuneInString(strings.TrimLeftFunc(cell, unicode.IsSpace))
			if cell != "" && (strings.ContainsRune(formulaStart, rune(cell[0])) || strings.ContainsRune(formulaStart, first)) {
				t.Fatalf("column %s starts with a formula character: %q", csvHeader[i], cell)
			}
			if strings.ContainsAny(cell, ";\t") && !strings.Contains(out, `"`+strings.ReplaceAll(cell, `"`, `""`)+`"`) {
				t.Fatalf("column %s holds a separator but is not quoted: %q", csvHeader[i], cell)
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
