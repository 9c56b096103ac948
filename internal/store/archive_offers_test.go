package store

import (
	"testing"
	"time"

	"github.com/leadworker/leadworker"
)

// TestArchiveOffersScript checks archive_offers.lua on a page mixing due
// informational offer leads (one showing a contact_me alert), a too young
// one, an old lead that is not informational, an accepted one and a missing
// one: the code of each, the archived leads' fields (no outcome), the offer
// and alert indexes they leave; the dry run answers the same and changes no
// key; a second run changes nothing.
func TestArchiveOffersScript(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		ids := seedOffersPage(e)
		before, hashes := e.dump(), e.leadHashes(ids)
		want := []Applied{{Code: Changed}, {Code: Changed}, {Code: NotDue}, {Code: NotDue}, {Code: WrongState}, {Code: NotFound}}
		e.wantApplied("dry run", e.archiveOffers(ids, true), want)
		e.wantTouched(before)
		e.wantApplied("run", e.archiveOffers(ids, false), want)
		e.wantOffersArchived(before, hashes)
		again := e.dump()
		want[0], want[1] = Applied{Code: WrongState}, Applied{Code: WrongState}
		e.wantApplied("second run", e.archiveOffers(ids, false), want)
		e.wantTouched(again)
	})
}

// offersCutoff is the six-month rule's cutoff in these tests; the clock is
// at expireNow.
var offersCutoff = scriptT0.AddDate(0, -6, 0)

// seedOffersPage stores the page's leads and returns it: a due
// informational lead (offer), a due one showing the contact_me alert
// (alert), a too young one (young), an old customer inquiry (normal), an
// accepted informational lead (acc) and a missing one with a stale
// due:offers entry (ghost).
func seedOffersPage(e *scriptEnv) []string {
	old := offersCutoff.Add(-time.Hour)
	e.create(testIntake("offer", offersCutoff, informational), testIntake("alert", old, informationalContact),
		testIntake("young", offersCutoff.Add(time.Second), informational), testIntake("normal", old),
		testIntake("acc", old, informational))
	_, err := e.store.Accept(e.ctx, "acc", testDeal)
	e.must(err)
	e.must(e.rdb.ZAdd(e.ctx, e.keys.dueOffers(), zAt("ghost", old)).Err())
	e.clock.Advance(expireNow.Sub(e.clock.Now()))
	return []string{"offer", "alert", "young", "normal", "acc", "ghost"}
}

func (e *scriptEnv) archiveOffers(ids []string, dry bool) []Applied {
	e.t.Helper()
	res, err := e.store.ArchiveOffersPage(e.ctx, ids, offersCutoff, dry)
	e.must(err)
	return res
}

// wantOffersArchived checks the keys after the seeded page was archived.
func (e *scriptEnv) wantOffersArchived(before snapshot, hashes map[string]map[string]string) {
	e.t.Helper()
	k, now := e.keys, ms(expireNow)
	e.wantTouched(before, k.lead("offer"), k.lead("alert"), k.dueOffers(), k.dueAlerts())
	archived := []string{"st", "archived", "upd", now, "arc", now, "al", "none", "rev", "1"}
	e.wantHash(k.lead("offer"), with(hashes["offer"], archived...))
	e.wantHash(k.lead("alert"), with(hashes["alert"], archived...))
	if l, _ := e.store.Get(e.ctx, "alert"); l.Outcome != leadworker.OutcomeNone || l.Customer.Email == "" {
		e.t.Errorf("archived offer lead has outcome %q and email %q, want none and the email kept", l.Outcome, l.Customer.Email)
	}
	e.wantZset(k.dueOffers(), zm("young", offersCutoff.Add(time.Second)))
	e.wantZset(k.dueAlerts(), zm("normal", offersCutoff.Add(-time.Hour)))
}
