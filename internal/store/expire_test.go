package store

import (
	"slices"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestExpireScript checks expire.lua on a page mixing due, too young,
// informational, accepted and missing leads: the code and notice party of
// each, the expired leads' erased contact data and kept notice address, the
// indexes they leave, the closing batch and its pending member; the dry run
// answers the same and changes no key; a second run changes nothing.
func TestExpireScript(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		ids := seedExpirePage(e)
		before, hashes := e.dump(), e.leadHashes(ids)
		name := tasks.ShortHash(ids...)
		want := expireWant(name)
		e.wantApplied("dry run", e.expirePage(ids, true), want)
		e.wantTouched(before)
		e.wantApplied("run", e.expirePage(ids, false), want)
		e.wantExpired(before, hashes, name)
		again := e.dump()
		for i := range want {
			want[i].Party = ""
			if want[i].Code == Changed {
				want[i].Code = WrongState
			}
		}
		e.wantApplied("second run", e.expirePage(ids, false), want)
		e.wantTouched(again)
	})
}

// expireCutoff is the expiry tests' cutoff; their clock is at expireNow.
var (
	expireCutoff = scriptT0.Add(-14 * 24 * time.Hour)
	expireNow    = scriptT0.Add(time.Minute)
)

// seller is the originator of the qualified leads in the sweep tests: its
// name is stored with JSON escapes (\u0026, \u003c) that cjson must decode.
var seller = &leadworker.Person{Name: "Jürgen & Søn <sales>", Email: "seller@vendor.example"}

// seedExpirePage stores the page's leads, moves the clock to expireNow and
// returns the page: due customer inquiry (ci), due qualified lead with an
// originator, at the cutoff and reminded once (sq), due qualified lead
// without one (mq), due customer inquiry without an email address (cx), too young (young), informational (info), accepted (acc)
// and missing with a stale due:expire entry (ghost).
func seedExpirePage(e *scriptEnv) []string {
	old := expireCutoff.Add(-time.Hour)
	marketing := func(in *leadworker.Intake) { in.Kind = leadworker.KindMarketingQualified }
	noEmail := func(in *leadworker.Intake) { in.Customer.Email = "" }
	e.create(testIntake("ci", old), testIntake("sq", expireCutoff, qualified(seller)),
		testIntake("mq", old, qualified(nil), marketing), testIntake("cx", old, noEmail), testIntake("young", expireCutoff.Add(time.Second)),
		testIntake("info", old, informational), testIntake("acc", old))
	_, err := e.store.Remind(e.ctx, DueRemindFirst, []string{"sq"}, tasks.StageFirst, nil)
	e.must(err)
	_, err = e.store.Accept(e.ctx, "acc", testDeal)
	e.must(err)
	e.must(e.rdb.ZAdd(e.ctx, e.keys.dueExpire(), zAt("ghost", old)).Err())
	e.clock.Advance(expireNow.Sub(e.clock.Now()))
	return []string{"ci", "sq", "mq", "cx", "young", "info", "acc", "ghost"}
}

// expireWant is what expiring the seeded page answers, in batch name.
func expireWant(name string) []Applied {
	a := func(c Result, party string) Applied { return Applied{Code: c, Party: party, Batch: name} }
	return []Applied{a(Changed, "customer"), a(Changed, "originator"), a(Changed, ""), a(Changed, ""), a(NotDue, ""),
		a(NotDue, ""), a(WrongState, ""), a(NotFound, "")}
}

func (e *scriptEnv) expirePage(ids []string, dry bool) []Applied {
	e.t.Helper()
	res, err := e.store.ExpirePage(e.ctx, ids, expireCutoff, dry)
	e.must(err)
	return res
}

func (e *scriptEnv) wantApplied(what string, got, want []Applied) {
	e.t.Helper()
	if !slices.Equal(got, want) {
		e.t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// leadHashes returns the hashes of the leads ids.
func (e *scriptEnv) leadHashes(ids []string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, id := range ids {
		out[id] = e.hash(e.keys.lead(id))
	}
	return out
}

// wantExpired checks the keys after the seeded page expired, against the
// snapshot and hashes before.
func (e *scriptEnv) wantExpired(before snapshot, hashes map[string]map[string]string, name string) {
	e.t.Helper()
	k, now := e.keys, ms(expireNow)
	e.wantTouched(before, k.lead("ci"), k.lead("sq"), k.lead("mq"), k.lead("cx"), k.dueExpire(), k.dueRemind(1), k.dueRemind(2),
		k.dueAlerts(), k.pending(), k.closingBatch(name))
	expired := []string{"name", "", "email", "", "phone", "", "st", "archived", "oc", "expired", "upd", now, "arc", now,
		"al", "none", "rev", "1"}
	e.wantHash(k.lead("ci"), with(hashes["ci"], append(expired, "nto", "h@contoso.example", "ntn", "Hanako")...))
	e.wantHash(k.lead("sq"), with(hashes["sq"], append(expired, "nto", seller.Email, "ntn", seller.Name)...))
	e.wantHash(k.lead("mq"), with(hashes["mq"], expired...))
	// No address, so no notice: the name is not kept aside either.
	e.wantHash(k.lead("cx"), with(hashes["cx"], expired...))
	young := zm("young", expireCutoff.Add(time.Second))
	e.wantZset(k.dueExpire(), young)
	e.wantZset(k.dueRemind(1), young)
	e.wantZset(k.dueRemind(2))
	e.wantZset(k.dueAlerts(), zm("acc", expireCutoff.Add(-time.Hour)), young)
	if got := e.rdb.Get(e.ctx, k.closingBatch(name)).Val(); got != " ci sq mq cx" {
		e.t.Errorf("closing batch %q, want %q", got, " ci sq mq cx")
	}
	if got := e.rdb.ZScore(e.ctx, k.pending(), tasks.ClosingBatchID(name)).Val(); got != float64(expireNow.UnixMilli()) {
		e.t.Errorf("pending closing batch scored %v, want %v", got, expireNow.UnixMilli())
	}
}

// TestExpireScriptSurvivesABadOriginator checks that a qualified lead whose
// stored originator does not decode expires with no notice party, and the
// rest of its page expires too: the script does not stop midway, leaving
// some leads changed and the indexes not.
func TestExpireScriptSurvivesABadOriginator(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		old := expireCutoff.Add(-time.Hour)
		e.create(testIntake("bad", old, qualified(seller)), testIntake("ci", old))
		e.must(e.rdb.HSet(e.ctx, e.keys.lead("bad"), "orig", "{not json").Err())
		e.clock.Advance(expireNow.Sub(e.clock.Now()))
		res := e.expirePage([]string{"bad", "ci"}, false)
		if len(res) != 2 || res[0].Code != Changed || res[0].Party != "" || res[1].Code != Changed || res[1].Party != "customer" {
			e.t.Fatalf("expire: %+v", res)
		}
		e.wantZset(e.keys.dueExpire())
	})
}
