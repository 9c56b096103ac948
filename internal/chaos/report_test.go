//go:build chaos

package chaos

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// row is one scenario's line of the results table.
type row struct {
	scenario string
	o        outcome
	facts    []string
	failed   bool
}

// results collects the rows of the scenarios that ran, in order.
var results struct {
	mu   sync.Mutex
	rows []row
}

// report prints a scenario's line, adds it to the table and fails the test
// when an accepted lead was lost or announced in two different emails, or
// when more than maxResent emails came again with the same Message-ID (the
// documented gap, which only a crash opens).
func report(t *testing.T, scenario string, o outcome, maxResent int, facts ...string) {
	t.Helper()
	if o.lost > 0 || o.duplicated > 0 {
		t.Errorf("%s: %d lost, %d duplicated: %v", scenario, o.lost, o.duplicated, o.examples)
	}
	if o.resent > maxResent {
		t.Errorf("%s: %d emails came again with the same Message-ID, at most %d expected", scenario, o.resent, maxResent)
	}
	r := row{scenario: scenario, o: o, facts: facts, failed: t.Failed()}
	fmt.Printf("chaos: %s | leads in %d | announced %d | duplicated %d | lost %d | same email again %d | %s\n",
		scenario, o.in, o.announced, o.duplicated, o.lost, o.resent, strings.Join(facts, "; "))
	results.mu.Lock()
	results.rows = append(results.rows, r)
	results.mu.Unlock()
}

// printTable prints every reported scenario as a Markdown table.
func printTable() {
	results.mu.Lock()
	defer results.mu.Unlock()
	if len(results.rows) == 0 {
		return
	}
	fmt.Println()
	fmt.Println("| scenario | leads in | announced | duplicated | lost | same email again | result | facts |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
	for _, r := range results.rows {
		verdict := "pass"
		if r.failed {
			verdict = "**FAIL**"
		}
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %s | %s |\n", r.scenario, r.o.in, r.o.announced,
			r.o.duplicated, r.o.lost, r.o.resent, verdict, strings.Join(r.facts, "; "))
	}
	fmt.Println()
}
