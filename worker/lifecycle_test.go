package worker_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// step is one lifecycle action through the API.
type step struct {
	method, path string
	body         any
}

var (
	accept  = step{"POST", "/accept", acceptBody}
	decline = step{"POST", "/decline", map[string]any{"reason": "Not our region", "notes": "Refer to the Osaka office"}}
	won     = step{"POST", "/close", map[string]any{"outcome": "won"}}
	lost    = step{"POST", "/close", map[string]any{"outcome": "lost"}}
	edit    = step{"PATCH", "/deal", map[string]any{"notes": "moved to Q2"}}
	fav     = step{"PUT", "/favorite", nil}
	unfav   = step{"DELETE", "/favorite", nil}
)

func TestLifecycleTransitions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name        string
		before      []step
		do          step
		want        int
		wantStatus  string
		wantOutcome string
		wantMessage string
	}{
		{"accept received", nil, accept, 200, "accepted", "", ""},
		{"decline received", nil, decline, 200, "archived", "declined", ""},
		{"close accepted as won", []step{accept}, won, 200, "archived", "won", ""},
		{"close accepted as lost", []step{accept}, lost, 200, "archived", "lost", ""},
		{"edit deal of accepted", []step{accept}, edit, 200, "accepted", "", ""},
		{"favorite received", nil, fav, 200, "received", "", ""},
		{"unfavorite accepted", []step{accept, fav}, unfav, 200, "accepted", "", ""},
		{"accept accepted", []step{accept}, accept, 409, "", "", "it is accepted; only a received lead can be accepted"},
		{"decline accepted", []step{accept}, decline, 409, "", "", "it is accepted; only a received lead can be declined"},
		{"close received", nil, won, 409, "", "", "only an accepted lead can be closed"},
		{"edit deal of received", nil, edit, 409, "", "", "only an accepted lead has a deal to edit"},
		{"accept declined", []step{decline}, accept, 409, "", "", "it is archived (declined); an archived lead takes no further action"},
		{"decline declined", []step{decline}, decline, 409, "", "", "archived (declined)"},
		{"close declined", []step{decline}, won, 409, "", "", "archived (declined)"},
		{"accept won", []step{accept, won}, accept, 409, "", "", "archived (won)"},
		{"decline won", []step{accept, won}, decline, 409, "", "", "archived (won)"},
		{"close won again", []step{accept, won}, lost, 409, "", "", "archived (won)"},
		{"edit deal of lost", []step{accept, lost}, edit, 409, "", "", "archived (lost)"},
		{"favorite archived", []step{decline}, fav, 409, "", "", "an archived lead takes no further action"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("L-T-%02d", i)
			e.must(201, "POST", "/v1/leads", lead(id))
			for _, s := range tt.before {
				e.must(200, s.method, "/v1/leads/"+id+s.path, s.body)
			}
			res := e.do(tt.do.method, "/v1/leads/"+id+tt.do.path, tt.do.body)
			if res.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", res.Status, tt.want, res.Body)
			}
			if tt.want != 200 {
				code, _, msg := res.Error(t)
				if code != "conflict" || !strings.Contains(msg, tt.wantMessage) {
					t.Fatalf("error %s %q, want conflict containing %q", code, msg, tt.wantMessage)
				}
				return
			}
			got := e.must(200, "GET", "/v1/leads/"+id, nil)
			if got["status"] != tt.wantStatus || fmt.Sprint(got["outcome"]) != orNil(tt.wantOutcome) {
				t.Fatalf("stored status %v outcome %v, want %s %s", got["status"], got["outcome"], tt.wantStatus, tt.wantOutcome)
			}
		})
	}
}

func orNil(s string) string {
	if s == "" {
		return "<nil>"
	}
	return s
}

func TestAcceptRecordsDealAndEditKeepsOtherFields(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(201, "POST", "/v1/leads", lead("L-D-1"))
	e.must(200, "POST", "/v1/leads/L-D-1/accept", acceptBody)
	got := e.must(200, "PATCH", "/v1/leads/L-D-1/deal", map[string]any{
		"deal_value": map[string]any{"amount": "30000.50", "currency": "EUR"}, "crm_id": "CRM-7"})
	deal := got["deal"].(map[string]any)
	if deal["deal_name"] != "VM migration" || deal["notes"] != "call on Tuesday" || deal["crm_id"] != "CRM-7" ||
		deal["deal_value"].(map[string]any)["amount"] != "30000.50" {
		t.Fatalf("deal after edit: %v", deal)
	}
	res := e.do("PATCH", "/v1/leads/L-D-1/deal", map[string]any{"deal_value": map[string]any{"amount": "-1", "currency": "EUR"}})
	if _, field, _ := res.Error(t); res.Status != 400 || field != "deal_value.amount" {
		t.Fatalf("bad edit: %d %s", res.Status, res.Body)
	}
	if got := e.must(200, "GET", "/v1/leads/L-D-1", nil); got["deal"].(map[string]any)["crm_id"] != "CRM-7" {
		t.Fatalf("a refused edit changed the deal: %v", got["deal"])
	}
}

func TestDeclineArchivesWithReason(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(201, "POST", "/v1/leads", lead("L-X-1"))
	got := e.must(200, "POST", "/v1/leads/L-X-1/decline", decline.body)
	if got["alert"] != "none" || got["archived_at"] == nil || got["decline"].(map[string]any)["reason"] != "Not our region" {
		t.Fatalf("declined lead: %v", got)
	}
}

// TestRacingActions races accept, decline and close on one lead: exactly one
// of accept and decline wins, close succeeds at most once and only after an
// accept, and the stored lead agrees with the winners.
func TestRacingActions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for round := range rounds {
		id := fmt.Sprintf("L-R-%03d", round)
		e.must(201, "POST", "/v1/leads", lead(id))
		wins := race(e, id, 50)
		got := e.must(200, "GET", "/v1/leads/"+id, nil)
		checkRace(t, id, wins, got)
	}
}

// race sends 50 concurrent actions and counts the successful ones by path.
func race(e *env, id string, n int) map[string]int {
	actions := []step{accept, decline, won}
	var mu sync.Mutex
	wins := map[string]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := actions[i%len(actions)]
			res := e.do(s.method, "/v1/leads/"+id+s.path, s.body)
			if res.Status != http.StatusOK && res.Status != http.StatusConflict {
				e.t.Errorf("%s: unexpected status %d: %s", s.path, res.Status, res.Body)
			}
			if res.Status == http.StatusOK {
				mu.Lock()
				wins[s.path]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return wins
}

func checkRace(t *testing.T, id string, wins map[string]int, got map[string]any) {
	t.Helper()
	state := fmt.Sprint(got["status"], "/", got["outcome"])
	switch {
	case wins["/accept"]+wins["/decline"] != 1:
		t.Fatalf("%s: %d accepts and %d declines won, want exactly one", id, wins["/accept"], wins["/decline"])
	case wins["/close"] > 1:
		t.Fatalf("%s: %d closes won", id, wins["/close"])
	case wins["/decline"] == 1 && (wins["/close"] != 0 || state != "archived/declined"):
		t.Fatalf("%s: decline won but state %s, closes %d", id, state, wins["/close"])
	case wins["/accept"] == 1 && wins["/close"] == 1 && state != "archived/won":
		t.Fatalf("%s: accept and close won but state %s", id, state)
	case wins["/accept"] == 1 && wins["/close"] == 0 && state != "accepted/<nil>":
		t.Fatalf("%s: accept won alone but state %s", id, state)
	}
}

// TestDealAmountIsKeptExactly checks that a deal amount sent as a JSON
// number is stored and answered exactly as written, as a string, and that
// another JSON kind is refused naming the field.
func TestDealAmountIsKeptExactly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(201, "POST", "/v1/leads", lead("L-AMT"))
	body := `{"deal_name":"Rollout","deal_value":{"amount":12000.10,"currency":"USD"},"estimated_purchase_date":"2027-03-31"}`
	e.must(200, "POST", "/v1/leads/L-AMT/accept", body)
	deal, _ := e.must(200, "GET", "/v1/leads/L-AMT", nil)["deal"].(map[string]any)
	if v, _ := deal["deal_value"].(map[string]any); v["amount"] != "12000.10" {
		t.Fatalf("deal value %v, want the amount 12000.10 as written", deal["deal_value"])
	}
	res := e.do("PATCH", "/v1/leads/L-AMT/deal", `{"deal_value":{"amount":true,"currency":"USD"}}`)
	if _, field, _ := res.Error(t); res.Status != 400 || field != "deal_value.amount" {
		t.Fatalf("a bool amount: %d %s, want 400 naming deal_value.amount", res.Status, res.Body)
	}
}

// TestLeadsShowTheirDeadlines checks accepted_at, expires_at and
// alert_until in the lead JSON and the CSV: a received contact request
// shows its answer deadline (created_at + 14 days) and the end of its
// urgent window (+ 72 hours); once accepted it shows when, and no deadline.
func TestLeadsShowTheirDeadlines(t *testing.T) {
	t.Parallel()
	e := setup(t)
	created := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	l := e.must(201, "POST", "/v1/leads", lead("L-DL", createdAt(created)))
	expires, until := created.Add(14*24*time.Hour).Format(time.RFC3339), created.Add(72*time.Hour).Format(time.RFC3339)
	if l["expires_at"] != expires || l["alert_until"] != until || l["accepted_at"] != nil {
		t.Fatalf("received lead: expires_at %v alert_until %v accepted_at %v; want %s, %s and none", l["expires_at"], l["alert_until"], l["accepted_at"], expires, until)
	}
	a := e.must(200, "POST", "/v1/leads/L-DL/accept", acceptBody)
	if a["accepted_at"] == nil || a["expires_at"] != nil || a["alert_until"] != until {
		t.Fatalf("accepted lead: accepted_at %v expires_at %v alert_until %v", a["accepted_at"], a["expires_at"], a["alert_until"])
	}
	res := e.do("GET", "/v1/leads?format=csv", nil)
	rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %v %d rows", err, len(rows))
	}
	got := map[string]string{}
	for i, name := range rows[0] {
		got[name] = rows[1][i]
	}
	if got["AcceptedDateTime"] == "" || got["ExpiresDateTime"] != "" || got["AlertUntilDateTime"] != until {
		t.Fatalf("CSV deadlines: %v", got)
	}
}
