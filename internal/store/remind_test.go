package store

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestRemindScript checks remind.lua: the first stage moves a received lead
// from due:remind1 to due:remind2 (rs=2) and, when asked, records the
// pending reminder:<id>:first; the expiry stage takes it out of due:remind2
// (recording reminder:<id>:expiry when asked); a lead no longer received,
// or missing, just leaves the index. Remind returns the leads whose
// reminder the script recorded (its reply 1); the raw reply is checked on a
// twin with the same seed, and both must leave the same keys.
func TestRemindScript(t *testing.T) {
	t.Parallel()
	cases := []remindCase{
		{name: "first, reminded", stage: tasks.StageFirst, remind: true, moved: true, pending: "reminder:L-1:first"},
		{name: "first, not reminded", stage: tasks.StageFirst, moved: true},
		{name: "expiry, reminded", seed: seedReminded, stage: tasks.StageExpiry, remind: true, pending: "reminder:L-1:expiry"},
		{name: "expiry, not reminded", seed: seedReminded, stage: tasks.StageExpiry},
		{name: "first, accepted", seed: seedStale("L-1", DueRemindFirst, seedAccepted), stage: tasks.StageFirst, remind: true},
		{name: "expiry, declined", seed: seedStale("L-1", DueRemindExpiry, seedDeclined), stage: tasks.StageExpiry, remind: true},
		{name: "first, missing lead", id: "ghost", seed: seedStale("ghost", DueRemindFirst, nil), stage: tasks.StageFirst, remind: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, tc.run)
		})
	}
}

// remindCase runs one stage on lead id (L-1 unless named: a received
// customer inquiry in due:remind1 before seed).
type remindCase struct {
	name    string
	id      string
	seed    func(*scriptEnv)
	stage   string
	remind  bool   // a reminder is asked for
	moved   bool   // the lead moves to due:remind2 with rs=2
	pending string // the pending reminder recorded, or ""
}

// remindCreated is when L-1 was created; the clock is at remindNow.
var (
	remindCreated = scriptT0.Add(-2 * 24 * time.Hour)
	remindNow     = scriptT0.Add(time.Minute)
)

// seedStale runs seed (which takes L-1 out of the reminder indexes, if
// any) and puts a stale entry for lead id into idx.
func seedStale(id string, idx Index, seed func(*scriptEnv)) func(*scriptEnv) {
	return func(e *scriptEnv) {
		if seed != nil {
			seed(e)
		}
		e.must(e.rdb.ZAdd(e.ctx, e.keys.index(idx), zAt(id, remindCreated)).Err())
	}
}

func (tc remindCase) from() Index {
	if tc.stage == tasks.StageFirst {
		return DueRemindFirst
	}
	return DueRemindExpiry
}

func (tc remindCase) seedLead(e *scriptEnv) {
	e.create(testIntake("L-1", remindCreated))
	if tc.seed != nil {
		tc.seed(e)
	}
}

func (tc remindCase) run(e *scriptEnv) {
	id := tc.id
	if id == "" {
		id = "L-1"
	}
	tw, before := e.seedBoth(tc.seedLead)
	e.clock.Advance(remindNow.Sub(e.clock.Now()))
	l, hash, index := e.lead(id), e.hash(e.keys.lead(id)), e.zset(e.keys.index(tc.from()))
	var due []*leadworker.Lead
	if tc.remind {
		due = []*leadworker.Lead{l}
	}
	recorded := b2i(tc.pending != "") // the reply: 1 when a reminder is recorded
	sent, err := e.store.Remind(e.ctx, tc.from(), []string{id}, tc.stage, due)
	e.must(err)
	if len(sent) != recorded || (recorded == 1 && sent[0] != l) {
		e.t.Errorf("Remind returned %v, want %d leads", sent, recorded)
	}
	k := tw.keys
	reply, err := remindScript.Run(e.ctx, e.rdb, []string{k.lead(id), k.index(tc.from()), k.dueRemind(2), k.pending()},
		id, tc.stage, flag(tc.remind), ms(remindNow)).Int()
	if err != nil || reply != recorded {
		e.t.Errorf("reply %d %v, want %d", reply, err, recorded)
	}
	e.wantSameAs(tw)
	tc.wantEffects(e, id, before, hash, index)
}

// wantEffects checks the keys after the script, against the snapshot, the
// lead's hash and the index it was in before.
func (tc remindCase) wantEffects(e *scriptEnv, id string, before snapshot, hash map[string]string, index []string) {
	e.t.Helper()
	k := e.keys
	touched := []string{k.index(tc.from())}
	e.wantZset(k.index(tc.from()), slices.DeleteFunc(index, func(m string) bool { return strings.HasPrefix(m, id+"=") })...)
	if tc.moved {
		touched = append(touched, k.lead(id), k.dueRemind(2))
		hash = with(hash, fRemindStage, "2")
		e.wantZset(k.dueRemind(2), zm(id, remindCreated))
	} else if tc.from() != DueRemindExpiry {
		e.wantZset(k.dueRemind(2))
	}
	if tc.pending != "" {
		touched = append(touched, k.pending())
		if got := e.rdb.ZScore(e.ctx, k.pending(), tc.pending).Val(); got != float64(remindNow.UnixMilli()) {
			e.t.Errorf("pending %s scored %v, want %d", tc.pending, got, remindNow.UnixMilli())
		}
	}
	e.wantTouched(before, touched...)
	e.wantHash(k.lead(id), hash)
}
