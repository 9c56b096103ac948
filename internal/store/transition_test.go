package store

import (
	"maps"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestTransitionScript checks transition.lua: each allowed change with its
// hash and index effects (rev up, upd and arc from the clock), the closing
// notice a decline owes, the refused changes (WrongState), a missing lead
// (NotFound) and a stale revision (Stale).
func TestTransitionScript(t *testing.T) {
	t.Parallel()
	t.Run("allowed", testTransitionAllowed)
	t.Run("refused", testTransitionRefused)
	t.Run("raw", testTransitionRaw)
}

// Times of the transition tests: the lead is created at transCreated, and
// the change happens at transNow (the clock is advanced to it).
var (
	transCreated = scriptT0.Add(-time.Hour)
	transNow     = scriptT0.Add(30 * time.Minute)
)

// Seeds for the transition tests, run on lead L-1 after it was created.
var (
	seedAccepted = func(e *scriptEnv) { _, err := e.store.Accept(e.ctx, "L-1", testDeal); e.must(err) }
	seedFavorite = func(e *scriptEnv) { _, err := e.store.SetFavorite(e.ctx, "L-1", true); e.must(err) }
	seedDeclined = func(e *scriptEnv) {
		_, err := e.store.Decline(e.ctx, "L-1", leadworker.Decline{Reason: "no"})
		e.must(err)
	}
	seedReminded = func(e *scriptEnv) { // moved to due:remind2 (rs=2), as remind.lua does
		_, err := e.store.Remind(e.ctx, DueRemindFirst, []string{"L-1"}, tasks.StageFirst, nil)
		e.must(err)
	}
)

// transitionCase is one change of lead L-1 (a customer inquiry asking for
// contact, unless in says otherwise).
type transitionCase struct {
	name    string
	in      func(*leadworker.Intake)
	seed    func(*scriptEnv)
	act     func(*scriptEnv) (*leadworker.Lead, error)
	set     []string // field/value pairs the change sets ("" deletes); the clock's upd is implied
	left    []Index  // the indexes the lead leaves
	pending string   // the pending member the change owes, or ""
}

var (
	accept  = func(e *scriptEnv) (*leadworker.Lead, error) { return e.store.Accept(e.ctx, "L-1", testDeal) }
	decline = func(e *scriptEnv) (*leadworker.Lead, error) {
		return e.store.Decline(e.ctx, "L-1", leadworker.Decline{Reason: "no"})
	}
	closeWon = func(e *scriptEnv) (*leadworker.Lead, error) {
		return e.store.Close(e.ctx, "L-1", leadworker.OutcomeWon)
	}
	favorite = func(on bool) func(e *scriptEnv) (*leadworker.Lead, error) {
		return func(e *scriptEnv) (*leadworker.Lead, error) { return e.store.SetFavorite(e.ctx, "L-1", on) }
	}
	editDeal = func(e *scriptEnv) (*leadworker.Lead, error) {
		name := "Renamed"
		return e.store.EditDeal(e.ctx, "L-1", leadworker.DealPatch{Name: &name})
	}
)

func testTransitionAllowed(t *testing.T) {
	t.Parallel()
	renamed := testDeal
	renamed.Name = "Renamed"
	now := ms(transNow)
	archived := []string{"st", "archived", "al", "none", "arc", now}
	cases := []transitionCase{
		{name: "accept", act: accept, set: []string{"st", "accepted", "deal", mustJSON(testDeal), "acc", ms(transNow), "rev", "1"},
			left: []Index{DueExpire, DueRemindFirst}},
		{name: "accept after the first reminder", seed: seedReminded, act: accept,
			set: []string{"st", "accepted", "deal", mustJSON(testDeal), "acc", ms(transNow), "rev", "1"}, left: []Index{DueExpire, DueRemindExpiry}},
		{name: "accept an informational lead", in: informationalContact, act: accept,
			set: []string{"st", "accepted", "deal", mustJSON(testDeal), "acc", ms(transNow), "rev", "1"}, left: []Index{DueOffers}},
		{name: "decline", act: decline, set: append([]string{"oc", "declined", "dec", `{"reason":"no"}`, "rev", "1"}, archived...),
			left: []Index{DueExpire, DueRemindFirst, DueAlerts}, pending: "closing:L-1"},
		{name: "decline after the first reminder", seed: seedReminded, act: decline,
			set:  append([]string{"oc", "declined", "dec", `{"reason":"no"}`, "rev", "1"}, archived...),
			left: []Index{DueExpire, DueRemindExpiry, DueAlerts}, pending: "closing:L-1"},
		{name: "close", seed: seedAccepted, act: closeWon, set: append([]string{"oc", "won", "rev", "2"}, archived...),
			left: []Index{DueAlerts}},
		{name: "edit the deal", seed: seedAccepted, act: editDeal, set: []string{"deal", mustJSON(renamed), "rev", "2"}},
		{name: "favorite", act: favorite(true), set: []string{"fav", "1", "rev", "1"}},
		{name: "favorite an accepted lead", seed: seedAccepted, act: favorite(true), set: []string{"fav", "1", "rev", "2"}},
		{name: "unfavorite", seed: seedFavorite, act: favorite(false), set: []string{"fav", "", "rev", "2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, tc.run)
		})
	}
}

// informationalContact makes an intake an informational offer lead whose
// customer asked to be contacted (test_drive).
func informationalContact(in *leadworker.Intake) {
	in.CallToAction, in.ContactRequested = leadworker.CTATestDrive, true
}

// seedLead creates lead L-1 as the case says, seeds it and advances the clock
// to transNow.
func (tc transitionCase) seedLead(e *scriptEnv) {
	var change []func(*leadworker.Intake)
	if tc.in != nil {
		change = append(change, tc.in)
	}
	e.create(testIntake("L-1", transCreated, change...))
	if tc.seed != nil {
		tc.seed(e)
	}
	e.clock.Advance(transNow.Sub(e.clock.Now()))
}

func (tc transitionCase) run(e *scriptEnv) {
	tc.seedLead(e)
	lead := e.keys.lead("L-1")
	hash, pending := e.hash(lead), e.zset(e.keys.pending())
	before := e.dump()
	l, err := tc.act(e)
	if err != nil {
		e.t.Fatalf("%s: %v", tc.name, err)
	}
	touched := []string{lead}
	for _, i := range tc.left {
		if e.rdb.ZScore(e.ctx, e.keys.index(i), "L-1").Err() == nil {
			e.t.Errorf("L-1 is still in %s", e.keys.index(i))
		}
		touched = append(touched, e.keys.index(i))
	}
	if tc.pending != "" {
		touched = append(touched, e.keys.pending())
		e.wantZset(e.keys.pending(), append(pending, zm(tc.pending, transNow))...)
	}
	e.wantTouched(before, touched...)
	e.wantHash(lead, with(hash, append([]string{"upd", ms(transNow)}, tc.set...)...))
	if stored, _ := e.store.Get(e.ctx, "L-1"); !sameLead(l, stored) {
		e.t.Errorf("returned lead %+v, want the stored one %+v", l, stored)
	}
}

// testTransitionRefused checks changes the lead's status forbids, and a
// missing lead: an error, and no key changed.
func testTransitionRefused(t *testing.T) {
	t.Parallel()
	ghost := func(e *scriptEnv) (*leadworker.Lead, error) { return e.store.Accept(e.ctx, "ghost", testDeal) }
	cases := []struct {
		name string
		seed func(*scriptEnv)
		act  func(*scriptEnv) (*leadworker.Lead, error)
		want string // the error code
		in   func(*leadworker.Intake)
	}{
		// An informational offer lead needs no answer: declining it would
		// tell its customer to choose another partner.
		{"decline an informational lead", nil, decline, leadworker.EConflict, informationalContact},
		{"accept an accepted lead", seedAccepted, accept, leadworker.EConflict, nil},
		{"decline an accepted lead", seedAccepted, decline, leadworker.EConflict, nil},
		{"close a received lead", nil, closeWon, leadworker.EConflict, nil},
		{"accept a declined lead", seedDeclined, accept, leadworker.EConflict, nil},
		{"decline a declined lead", seedDeclined, decline, leadworker.EConflict, nil},
		{"favorite a declined lead", seedDeclined, favorite(true), leadworker.EConflict, nil},
		{"close a closed lead", func(e *scriptEnv) { seedAccepted(e); _, err := closeWon(e); e.must(err) }, closeWon, leadworker.EConflict, nil},
		{"accept a missing lead", nil, ghost, leadworker.ENotFound, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, func(e *scriptEnv) {
				transitionCase{seed: tc.seed, in: tc.in}.seedLead(e)
				before := e.dump()
				if l, err := tc.act(e); leadworker.ErrorCode(err) != tc.want || l != nil {
					e.t.Errorf("%s: %v, %v; want a %s error", tc.name, l, err, tc.want)
				}
				e.wantTouched(before)
			})
		})
	}
}

// transitionRaw runs transition.lua on lead id as its header says: allowed
// statuses, expected revision, new status, now, no pending member, not an
// answer, no field to delete and the pairs set.
func (e *scriptEnv) transitionRaw(id, allowed, rev, to string, set ...any) (Result, map[string]string, int) {
	e.t.Helper()
	args := append([]any{allowed, rev, to, ms(e.clock.Now()), "", "", 0}, set...)
	reply, err := transitionScript.Run(e.ctx, e.rdb, e.keys.transition(id), args...).Slice()
	if err != nil {
		e.t.Fatal(err)
	}
	code, _ := reply[0].(int64)
	if len(reply) < 2 {
		return Result(code), nil, len(reply)
	}
	return Result(code), flatHash(reply[1]), len(reply)
}

// testTransitionRaw checks the script's replies: the code and the hash
// after the script, and that a refused change writes nothing.
func testTransitionRaw(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, id, allowed, rev string
		want                   Result
	}{
		{"stale revision", "L-1", "received", "7", Stale},
		{"stale revision 0 against 1", "L-1", "received", "0", Stale},
		{"wrong state", "L-1", "accepted", "", WrongState},
		{"wrong state wins over a stale revision", "L-1", "accepted archived", "7", WrongState},
		{"not found", "ghost", "received", "", NotFound},
		{"matching revision", "L-1", "received", "1", Changed},
		{"any revision", "L-1", "accepted received", "", Changed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, func(e *scriptEnv) {
				transitionCase{seed: seedFavorite}.seedLead(e) // rev 1
				lead := e.keys.lead("L-1")
				hash, before := e.hash(lead), e.dump()
				code, h, n := e.transitionRaw(tc.id, tc.allowed, tc.rev, "accepted", fDeal, "{}")
				switch {
				case code != tc.want:
					e.t.Errorf("code %d, want %d", code, tc.want)
				case code == NotFound && n != 1:
					e.t.Errorf("not found: reply of %d items, want {%d}", n, NotFound)
				case code != NotFound && !maps.Equal(h, e.hash(lead)):
					e.t.Errorf("reply hash %v, want the stored one %v", h, e.hash(lead))
				}
				if code != Changed {
					e.wantTouched(before)
					return
				}
				e.wantTouched(before, lead, e.keys.dueExpire(), e.keys.dueRemind(1))
				e.wantHash(lead, with(hash, "st", "accepted", fDeal, "{}", "rev", "2", "upd", ms(transNow)))
			})
		})
	}
}
