package store

import (
	"maps"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestIntakeScript checks intake.lua: a new lead gets its hash, its listing
// members, its due indexes and its pending announcement (alone or in a
// batch); the same body again answers Same with the stored lead, another
// body under the id answers Different, and neither changes anything.
func TestIntakeScript(t *testing.T) {
	t.Parallel()
	t.Run("hash", testIntakeHash)
	t.Run("indexes", testIntakeIndexes)
	t.Run("batch", testIntakeBatch)
	t.Run("same", testIntakeSame)
	t.Run("different", testIntakeDifferent)
}

// intakeCreated is when the intake tests' leads were created.
var intakeCreated = scriptT0.Add(-time.Hour)

// testIntakeHash checks every field a new customer inquiry stores.
func testIntakeHash(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		in := testIntake("L-1", intakeCreated)
		e.create(in)
		e.wantHash(e.keys.lead("L-1"), map[string]string{
			"st": "received", "at": ms(intakeCreated), "al": "contact_me", "kind": "customer_inquiry", "upd": ms(scriptT0),
			"id": "L-1", "pid": "P-1", "type": "offer", "cta": "contact_me", "co": "Contoso", "name": "Hanako",
			"email": "h@contoso.example", "phone": "+81 3 0000", "cc": "JP", "q": "high", "ev": "unknown", "pv": "unknown",
			"cr": "1", "bh": digest(&in),
		})
	})
}

// testIntakeIndexes checks which keys a new lead of each sort enters.
func testIntakeIndexes(t *testing.T) {
	t.Parallel()
	contact := func(in *leadworker.Intake) { in.ContactRequested = true }
	cases := []struct {
		name string
		in   leadworker.Intake
		due  []Index // the due indexes it enters, scored by its creation
	}{
		{"customer inquiry asking for contact", testIntake("L-1", intakeCreated), []Index{DueExpire, DueRemindFirst, DueAlerts}},
		{"qualified lead", testIntake("L-1", intakeCreated, qualified(nil)), []Index{DueExpire, DueRemindFirst}},
		{"informational offer lead", testIntake("L-1", intakeCreated, informational), []Index{DueOffers}},
		{"informational lead asking for contact", testIntake("L-1", intakeCreated, informational, contact), []Index{DueOffers, DueAlerts}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, func(e *scriptEnv) {
				before := e.dump()
				l := e.create(tc.in)[0]
				if res := e.store.Create(e.ctx, tc.in); res.Created || res.Batch != "" {
					e.t.Errorf("second intake: %+v", res)
				}
				touched := []string{e.keys.lead("L-1"), e.keys.all(), e.keys.partnerLeads("P-1"), e.keys.pending()}
				for _, i := range tc.due {
					touched = append(touched, e.keys.index(i))
					e.wantZset(e.keys.index(i), zm("L-1", intakeCreated))
				}
				e.wantTouched(before, touched...)
				e.wantZset(e.keys.all(), zm(listMember(l.CreatedAt, "L-1"), time.UnixMilli(0)))
				e.wantZset(e.keys.partnerLeads("P-1"), zm(listMember(l.CreatedAt, "L-1"), time.UnixMilli(0)))
				e.wantZset(e.keys.pending(), zm("notify:L-1", scriptT0))
			})
		})
	}
}

// testIntakeBatch checks leads taken in together: one pending member for
// the batch, whose key collects their ids, and nothing added on a repeat.
func testIntakeBatch(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		ins := []leadworker.Intake{testIntake("A", intakeCreated), testIntake("B", intakeCreated.Add(time.Second))}
		name := tasks.ShortHash("A", "B")
		before := e.dump()
		for _, r := range e.store.CreateBatch(e.ctx, ins) {
			if r.Err != nil || !r.Created || r.Batch != name {
				e.t.Fatalf("batch intake: %+v, want created in batch %s", r, name)
			}
		}
		k := e.keys
		e.wantTouched(before, k.lead("A"), k.lead("B"), k.all(), k.partnerLeads("P-1"), k.dueExpire(), k.dueRemind(1),
			k.dueAlerts(), k.pending(), k.notifyBatch(name))
		e.wantZset(k.pending(), zm("notify-batch:"+name, scriptT0))
		e.wantZset(k.dueExpire(), zm("A", intakeCreated), zm("B", intakeCreated.Add(time.Second)))
		if got := e.rdb.Get(e.ctx, k.notifyBatch(name)).Val(); got != " A B" {
			e.t.Errorf("batch ids %q, want %q", got, " A B")
		}
		again := e.dump()
		for _, r := range e.store.CreateBatch(e.ctx, ins) {
			if r.Err != nil || r.Created {
				e.t.Fatalf("batch intake again: %+v, want the stored lead", r)
			}
		}
		e.wantTouched(again)
	})
}

// intakeRaw runs intake.lua on one intake as its header says, alone (no
// batch key), and returns the reply.
func (e *scriptEnv) intakeRaw(in leadworker.Intake) []any {
	e.t.Helper()
	l := leadworker.NewLead(in, e.clock.Now())
	k := e.keys
	ks := []string{k.lead(l.ID), k.all(), k.partnerLeads(l.PartnerID), k.dueExpire(), k.dueOffers(), k.dueAlerts(), k.pending(), k.dueRemind(1)}
	args := append([]any{digest(&in), listMember(l.CreatedAt, l.ID), l.ID, ms(l.CreatedAt), "expire", "1", ms(e.clock.Now()),
		tasks.NotifyID(l.ID)}, leadFields(l)...)
	reply, err := intakeScript.Run(e.ctx, e.rdb, ks, args...).Slice()
	if err != nil {
		e.t.Fatal(err)
	}
	return reply
}

// testIntakeSame checks that the same body again, even after the lead
// changed, answers Same with the stored hash and changes nothing.
func testIntakeSame(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		in := testIntake("L-1", intakeCreated)
		e.create(in)
		_, err := e.store.Accept(e.ctx, "L-1", testDeal)
		e.must(err)
		e.clock.Advance(time.Hour)
		before := e.dump()
		reply := e.intakeRaw(in)
		code, _ := reply[0].(int64)
		if len(reply) != 2 || Result(code) != Same {
			e.t.Fatalf("reply %v, want {%d, hash}", reply, Same)
		}
		if h := flatHash(reply[1]); !maps.Equal(h, e.hash(e.keys.lead("L-1"))) {
			e.t.Errorf("reply hash %v, want the stored one", h)
		}
		res := e.store.Create(e.ctx, in)
		stored, _ := e.store.Get(e.ctx, "L-1")
		if res.Err != nil || res.Created || res.Lead.Status != leadworker.StatusAccepted || !sameLead(res.Lead, stored) {
			e.t.Errorf("intake again: %+v, want the stored (accepted) lead", res)
		}
		e.wantTouched(before)
	})
}

// testIntakeDifferent checks that another body under a known id answers
// Different, an EConflict error, and changes nothing (not even the other
// partner's listing).
func testIntakeDifferent(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		e.create(testIntake("L-1", intakeCreated))
		other := testIntake("L-1", intakeCreated, partner("P-2"), informational)
		before := e.dump()
		if reply := e.intakeRaw(other); len(reply) != 1 || reply[0] != int64(Different) {
			e.t.Errorf("reply %v, want {%d}", reply, Different)
		}
		res := e.store.Create(e.ctx, other)
		if leadworker.ErrorCode(res.Err) != leadworker.EConflict || res.Created || res.Lead != nil {
			e.t.Errorf("intake of another lead under the id: %+v, want an EConflict error", res)
		}
		e.wantTouched(before)
	})
}
