package store

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
)

// TestAlertScript checks alert.lua: a due contact_me alert switches to
// overdue and leaves due:alerts; a young one stays as it is; a stale entry
// for a missing lead, or for a lead whose alert is no longer contact_me, is
// dropped. Overdue runs on the store, the raw script on a twin with the same
// seed: the raw reply is checked and both must leave the same keys.
func TestAlertScript(t *testing.T) {
	t.Parallel()
	old := alertCutoff.Add(-time.Hour)
	stale := func(e *scriptEnv) { e.must(e.rdb.ZAdd(e.ctx, e.keys.dueAlerts(), zAt("L-1", old)).Err()) }
	cases := []alertCase{
		{"due", func(e *scriptEnv) { e.create(testIntake("L-1", old)) }, Changed, true, true},
		{"due at the cutoff", func(e *scriptEnv) { e.create(testIntake("L-1", alertCutoff)) }, Changed, true, true},
		{"due and accepted", func(e *scriptEnv) { e.create(testIntake("L-1", old)); seedAccepted(e) }, Changed, true, true},
		{"not due yet", func(e *scriptEnv) { e.create(testIntake("L-1", alertCutoff.Add(time.Second))) }, NotDue, false, false},
		{"missing lead", stale, NotFound, false, true},
		{"no alert", func(e *scriptEnv) { e.create(testIntake("L-1", old, qualified(nil))); stale(e) }, WrongState, false, true},
		{"already overdue", func(e *scriptEnv) {
			e.create(testIntake("L-1", old))
			e.must(e.store.Overdue(e.ctx, []string{"L-1"}, alertCutoff))
			stale(e)
		}, WrongState, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, tc.run)
		})
	}
}

// alertCase runs the alert script on lead L-1 (beside a due:alerts entry
// "other").
type alertCase struct {
	name    string
	seed    func(e *scriptEnv) // lead L-1 or its due:alerts entry
	want    Result
	changed bool // L-1 switches to contact_me_overdue
	leaves  bool // L-1 leaves due:alerts
}

func (tc alertCase) run(e *scriptEnv) {
	tw, before := e.seedBoth(func(e *scriptEnv) {
		tc.seed(e)
		e.must(e.rdb.ZAdd(e.ctx, e.keys.dueAlerts(), zAt("other", alertCutoff.Add(-time.Hour))).Err())
	})
	e.clock.Advance(alertNow.Sub(e.clock.Now())) // one clock for both
	hash, index := e.hash(e.keys.lead("L-1")), e.zset(e.keys.dueAlerts())
	e.must(e.store.Overdue(e.ctx, []string{"L-1"}, alertCutoff))
	code, err := alertScript.Run(e.ctx, e.rdb, []string{tw.keys.lead("L-1"), tw.keys.dueAlerts()},
		"L-1", ms(alertCutoff), ms(alertNow)).Int()
	if err != nil || Result(code) != tc.want {
		e.t.Errorf("reply %d %v, want %d", code, err, tc.want)
	}
	e.wantSameAs(tw)
	e.wantAlertEffects(before, hash, index, tc.changed, tc.leaves)
}

// The alert tests' cutoff, a day before the clock, at alertNow.
var (
	alertNow    = scriptT0.Add(time.Minute)
	alertCutoff = scriptT0.Add(-24 * time.Hour)
)

// wantAlertEffects checks the keys after the alert script ran on L-1,
// against the snapshot, L-1's hash and the due:alerts entries before.
func (e *scriptEnv) wantAlertEffects(before snapshot, hash map[string]string, index []string, changed, leaves bool) {
	e.t.Helper()
	var touched []string
	if changed {
		touched = append(touched, e.keys.lead("L-1"))
		hash = with(hash, "al", string(leadworker.AlertContactMeOverdue), "upd", ms(alertNow), "rev", nextRev(hash))
	}
	if leaves {
		touched = append(touched, e.keys.dueAlerts())
		index = slices.DeleteFunc(index, func(m string) bool { return strings.HasPrefix(m, "L-1=") })
	}
	e.wantTouched(before, touched...)
	e.wantHash(e.keys.lead("L-1"), hash)
	e.wantZset(e.keys.dueAlerts(), index...)
}
