package store

import (
	"slices"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
)

// TestClaimScript checks claim.lua: the first threshold leads of a
// recipient's day go out on their own with their send lock taken, the next
// join that day's digest (digest zset, due:digests at the send time, ntf,
// pending member gone); the count key is kept with a TTL; a second claim
// repeats the decision; an ended announcement is "done", a lock held by
// another token "busy", a missing lead "gone".
func TestClaimScript(t *testing.T) {
	t.Parallel()
	t.Run("threshold", testClaimThreshold)
	t.Run("repeat", testClaimRepeat)
	t.Run("done", testClaimDone)
	t.Run("busy", testClaimBusy)
	t.Run("busy before the decision", testClaimBusyFirst)
	t.Run("gone", testClaimGone)
	t.Run("archived", testClaimArchived)
}

// testClaimArchived checks that a lead archived before its email went out
// is "archived": not counted, not locked, nothing written; and so is a lead
// decided alone whose email had not gone out yet.
func testClaimArchived(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		leads := e.claimLeads()[:2]
		e.claim(leads[1:], 2, "tok-1") // B is decided alone, its email not sent
		e.must(e.rdb.Del(e.ctx, e.keys.lock("notify:B")).Err())
		for _, id := range []string{"A", "B"} {
			_, err := e.store.Decline(e.ctx, id, leadworker.Decline{Reason: "no"})
			e.must(err)
		}
		before := e.dump()
		e.wantSlots(e.claim(leads, 2, "tok-2"), SlotArchived, SlotArchived)
		e.wantTouched(before)
	})
}

// The claim tests' recipient, day, digest and lock.
const (
	claimRcpt   = "ops@p.example"
	claimDay    = "2026-11-20"
	claimDigest = "digest|" + claimRcpt + "|" + claimDay
	claimTTL    = time.Minute
)

var claimSendAt = scriptT0.Add(8 * time.Hour)

// claimLeads creates leads A, B, C and D, a minute apart.
func (e *scriptEnv) claimLeads() []*leadworker.Lead {
	e.t.Helper()
	at := scriptT0.Add(-5 * time.Minute)
	return e.create(testIntake("A", at), testIntake("B", at.Add(time.Minute)), testIntake("C", at.Add(2*time.Minute)),
		testIntake("D", at.Add(3*time.Minute)))
}

// claim runs ClaimAll on leads for claimRcpt's claimDay and returns the
// slots; the last lead's claim names a later send time.
func (e *scriptEnv) claim(leads []*leadworker.Lead, threshold int, token string) []string {
	e.t.Helper()
	claims := make([]*Claim, len(leads))
	for i, l := range leads {
		claims[i] = &Claim{Lead: l, Rcpt: claimRcpt, Day: claimDay, SendAt: claimSendAt}
	}
	claims[len(claims)-1].SendAt = claimSendAt.Add(time.Hour)
	e.must(e.store.ClaimAll(e.ctx, claims, threshold, token, claimTTL))
	slots := make([]string, len(claims))
	for i, c := range claims {
		slots[i] = c.Slot
	}
	return slots
}

func (e *scriptEnv) wantSlots(got []string, want ...string) {
	e.t.Helper()
	if !slices.Equal(got, want) {
		e.t.Errorf("slots %q, want %q", got, want)
	}
}

func testClaimThreshold(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		leads := e.claimLeads()
		k, before := e.keys, e.dump()
		hashes := e.leadHashes([]string{"A", "B", "C", "D"})
		e.wantSlots(e.claim(leads, 2, "tok-1"), SlotIndividual, SlotIndividual, claimDigest, claimDigest)
		e.wantTouched(before, k.lead("A"), k.lead("B"), k.lead("C"), k.lead("D"), k.count(claimRcpt, claimDay),
			k.digest(claimRcpt, claimDay), k.dueDigests(), k.pending(), k.lock("notify:A"), k.lock("notify:B"))
		ntf := `{"via":"digest","recipient":"` + claimRcpt + `"}`
		e.wantHash(k.lead("A"), with(hashes["A"], "slot", SlotIndividual))
		e.wantHash(k.lead("B"), with(hashes["B"], "slot", SlotIndividual))
		e.wantHash(k.lead("C"), with(hashes["C"], "slot", claimDigest, "ntf", ntf))
		e.wantHash(k.lead("D"), with(hashes["D"], "slot", claimDigest, "ntf", ntf))
		e.wantZset(k.digest(claimRcpt, claimDay), zm("C", leads[2].CreatedAt), zm("D", leads[3].CreatedAt))
		e.wantZset(k.dueDigests(), zm(claimRcpt+"|"+claimDay, claimSendAt)) // the first send time stays
		e.wantZset(k.pending(), zm("notify:A", scriptT0), zm("notify:B", scriptT0))
		e.wantString(k.count(claimRcpt, claimDay), "4", 10*24*time.Hour)
		e.wantString(k.lock("notify:A"), "tok-1", claimTTL)
		e.wantString(k.lock("notify:B"), "tok-1", claimTTL)
	})
}

// wantString checks a string key's value and that it expires within ttl.
func (e *scriptEnv) wantString(key, want string, ttl time.Duration) {
	e.t.Helper()
	if got := e.rdb.Get(e.ctx, key).Val(); got != want {
		e.t.Errorf("%s = %q, want %q", key, got, want)
	}
	if got := e.rdb.PTTL(e.ctx, key).Val(); got <= 0 || got > ttl {
		e.t.Errorf("%s expires in %v, want at most %v", key, got, ttl)
	}
}

// testClaimRepeat checks that a lead keeps its slot, whatever the counter
// and threshold say later: a second claim only takes the locks again.
func testClaimRepeat(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		leads := e.claimLeads()
		e.claim(leads, 2, "tok-1")
		e.must(e.store.Unlock(e.ctx, []string{"A", "B"}, "tok-1"))
		before := e.dump()
		e.wantSlots(e.claim(leads, 10, "tok-2"), SlotIndividual, SlotIndividual, claimDigest, claimDigest)
		e.wantTouched(before, e.keys.lock("notify:A"), e.keys.lock("notify:B"))
		e.wantString(e.keys.lock("notify:A"), "tok-2", claimTTL)
		e.wantString(e.keys.count(claimRcpt, claimDay), "4", 10*24*time.Hour)
	})
}

// testClaimDone checks that a lead announced on its own is "done" once its
// notification is recorded, and the claim changes nothing.
func testClaimDone(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		leads := e.claimLeads()[:1]
		e.claim(leads, 2, "tok-1")
		sent := scriptT0
		e.must(e.store.DoneAll(e.ctx, []Announcement{{Lead: leads[0],
			Notification: leadworker.Notification{Via: "individual", Recipient: claimRcpt, SentAt: &sent}}}, "tok-1"))
		before := e.dump()
		e.wantSlots(e.claim(leads, 2, "tok-2"), SlotDone)
		e.wantTouched(before)
	})
}

// testClaimBusy checks that a lead whose lock another worker holds is
// "busy", and the claim changes nothing.
func testClaimBusy(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		leads := e.claimLeads()[:1]
		e.claim(leads, 2, "tok-1")
		before := e.dump()
		e.wantSlots(e.claim(leads, 2, "tok-2"), SlotBusy)
		e.wantTouched(before)
		e.wantString(e.keys.lock("notify:A"), "tok-1", claimTTL)
	})
}

// testClaimBusyFirst checks a first claim of a lead whose lock another
// worker holds: the decision is made (counted, slot individual) but the
// claim is "busy".
func testClaimBusyFirst(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		leads := e.claimLeads()[:1]
		e.must(e.rdb.Set(e.ctx, e.keys.lock("notify:A"), "other", claimTTL).Err())
		hash, before := e.hash(e.keys.lead("A")), e.dump()
		e.wantSlots(e.claim(leads, 2, "tok-1"), SlotBusy)
		e.wantTouched(before, e.keys.lead("A"), e.keys.count(claimRcpt, claimDay))
		e.wantHash(e.keys.lead("A"), with(hash, "slot", SlotIndividual))
		e.wantString(e.keys.count(claimRcpt, claimDay), "1", 10*24*time.Hour)
	})
}

// testClaimGone checks that a missing lead is "gone", not counted.
func testClaimGone(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		e.claimLeads()
		before := e.dump()
		e.wantSlots(e.claim([]*leadworker.Lead{{Intake: leadworker.Intake{ID: "ghost"}, CreatedAt: scriptT0}}, 2, "tok-1"), SlotGone)
		e.wantTouched(before)
	})
}
