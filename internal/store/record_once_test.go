package store

import (
	"testing"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestRecordOnceScript checks record_once.lua through NoticeDone (field
// cn, deleting the kept nto and ntn) and ReminderDone (rm1, rm2): the
// outcome is recorded once, the feed entry pushed and the pending member
// cleared; a missing lead is not created; a second call answers 0 and
// changes nothing. The wrapper runs on the store, the raw script on a twin
// with the same seed: the raw reply is checked and both must leave the
// same keys.
func TestRecordOnceScript(t *testing.T) {
	t.Parallel()
	expired := func(e *scriptEnv) {
		_, err := e.store.ExpirePage(e.ctx, []string{"L-1"}, scriptT0, false)
		e.must(err)
		if h := e.hash(e.keys.lead("L-1")); h[fNoticeTo] == "" || h[fNoticeName] == "" {
			e.t.Fatalf("expired lead keeps no notice address: %v", h)
		}
	}
	remindedForExpiry := func(e *scriptEnv) {
		_, err := e.store.Remind(e.ctx, DueRemindExpiry, []string{"L-1"}, tasks.StageExpiry, []*leadworker.Lead{e.lead("L-1")})
		e.must(err)
	}
	cases := []recordCase{
		{name: "closing notice of an expired lead", seed: expired, notice: true, entry: true},
		{name: "closing notice of a declined lead", seed: seedDeclined, notice: true},
		{name: "first reminder", stage: tasks.StageFirst, entry: true, seed: func(e *scriptEnv) {
			_, err := e.store.Remind(e.ctx, DueRemindFirst, []string{"L-1"}, tasks.StageFirst, []*leadworker.Lead{e.lead("L-1")})
			e.must(err)
		}},
		{name: "expiry reminder", stage: tasks.StageExpiry, entry: true, seed: func(e *scriptEnv) { seedReminded(e); remindedForExpiry(e) }},
		{name: "notice recorded before", notice: true, entry: true, before: true, seed: func(e *scriptEnv) {
			seedDeclined(e)
			_, err := e.store.NoticeDone(e.ctx, e.lead("L-1"), "rejected", nil)
			e.must(err)
		}},
		{name: "missing lead", id: "ghost", notice: true, entry: true, seed: func(e *scriptEnv) {
			e.must(e.rdb.ZAdd(e.ctx, e.keys.pending(), zAt("closing:ghost", scriptT0)).Err())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, tc.run)
		})
	}
}

// recordCase records the end of lead id's (L-1 unless named) closing
// notice, or of its reminder of stage, as "sent".
type recordCase struct {
	name   string
	id     string
	seed   func(*scriptEnv) // after L-1 was created
	notice bool             // a closing notice, else a reminder
	stage  string
	entry  bool // with a feed entry
	before bool // the outcome was recorded before
}

// field, pending and drop are the script's ARGV for the case.
func (tc recordCase) field() string {
	if tc.notice {
		return fNotice
	}
	return reminderField[tc.stage]
}

func (tc recordCase) pending(id string) string {
	if tc.notice {
		return tasks.ClosingID(id)
	}
	return tasks.ReminderID(id, tc.stage)
}

func (tc recordCase) drop() []any {
	if tc.notice {
		return []any{fNoticeTo, fNoticeName}
	}
	return nil
}

func (tc recordCase) feedEntry(id string) *leadworker.FeedEntry {
	if !tc.entry {
		return nil
	}
	return &leadworker.FeedEntry{Type: leadworker.FeedClosing, LeadIDs: []string{id}, At: scriptT0}
}

func (tc recordCase) seedLead(e *scriptEnv) {
	e.create(testIntake("L-1", remindCreated))
	tc.seed(e)
}

func (tc recordCase) run(e *scriptEnv) {
	id := tc.id
	if id == "" {
		id = "L-1"
	}
	tw, before := e.seedBoth(tc.seedLead)
	hash, pending := e.hash(e.keys.lead(id)), e.rdb.ZScore(e.ctx, e.keys.pending(), tc.pending(id)).Err() == nil
	recorded := id != "ghost" && !tc.before
	tc.call(e, tw, id, recorded)
	e.wantSameAs(tw)
	tc.wantEffects(e, id, before, hash, pending, recorded)
	again := e.dump()
	tc.call(e, tw, id, false)
	e.wantSameAs(tw)
	e.wantTouched(again)
}

// call runs the wrapper on e and the raw script on tw, and checks what they
// answer.
func (tc recordCase) call(e, tw *scriptEnv, id string, recorded bool) {
	e.t.Helper()
	l := e.lead(id)
	if tc.notice {
		ok, err := e.store.NoticeDone(e.ctx, l, "sent", tc.feedEntry(id))
		if err != nil || ok != recorded {
			e.t.Errorf("NoticeDone: %t %v, want %t", ok, err, recorded)
		}
	} else {
		e.must(e.store.ReminderDone(e.ctx, l, tc.stage, "sent", tc.feedEntry(id)))
	}
	k := tw.keys
	args := append([]any{tc.field(), "sent", tc.pending(id), feedJSON(tc.feedEntry(id)), FeedLimit}, tc.drop()...)
	reply, err := recordOnceScript.Run(e.ctx, e.rdb, []string{k.lead(id), k.pending(), k.feed("P-1")}, args...).Int()
	if want := b2i(recorded); err != nil || reply != want {
		e.t.Errorf("reply %d %v, want %d", reply, err, want)
	}
}

// wantEffects checks the keys after the first call, against the snapshot,
// the lead's hash and whether its pending member was there before.
func (tc recordCase) wantEffects(e *scriptEnv, id string, before snapshot, hash map[string]string, pending, recorded bool) {
	e.t.Helper()
	k := e.keys
	var touched []string
	if pending {
		touched = append(touched, k.pending())
	}
	if recorded {
		touched = append(touched, k.lead(id))
		hash = with(hash, tc.field(), "sent")
		for _, f := range tc.drop() {
			hash = with(hash, f.(string), "")
		}
		if tc.entry {
			touched = append(touched, k.feed("P-1"))
			e.wantList(k.feed("P-1"), feedJSON(tc.feedEntry(id)))
		}
	}
	e.wantTouched(before, touched...)
	e.wantHash(k.lead(id), hash)
	if e.rdb.ZScore(e.ctx, k.pending(), tc.pending(id)).Err() == nil {
		e.t.Errorf("%s is still pending", tc.pending(id))
	}
}
