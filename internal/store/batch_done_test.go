package store

import (
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestBatchDoneScript checks batch_done.lua: a pending batch whose ids are
// unchanged since they were read is forgotten (its key and its pending
// member go); one that ids joined since stays as it is. BatchDone runs on
// the store, the raw script on a twin with the same seed: the raw reply is
// checked and both must leave the same keys.
func TestBatchDoneScript(t *testing.T) {
	t.Parallel()
	announce := tasks.NotifyBatchID(tasks.ShortHash("A", "B"))
	closing := tasks.ClosingBatchID(tasks.ShortHash("A", "B"))
	cases := []batchDoneCase{
		{"announcement batch", seedNotifyBatch, announce, " A B", true},
		{"closing batch", seedClosingBatch(false), closing, " A", true},
		{"closing batch with ids appended since", seedClosingBatch(true), closing, " A", false},
		{"batch whose ids are gone", seedGoneBatch(closing), closing, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, tc.run)
		})
	}
}

// batchDoneCase forgets the pending batch member, read as read.
type batchDoneCase struct {
	name      string
	seed      func(*scriptEnv)
	member    string
	read      string // the batch's ids as the caller read them
	forgotten bool
}

func (tc batchDoneCase) run(e *scriptEnv) {
	tw, before := e.seedBoth(tc.seed)
	if _, read, err := e.store.BatchIDs(e.ctx, tc.member); err != nil || (tc.forgotten && read != tc.read) {
		e.t.Fatalf("BatchIDs read %q %v, want %q", read, err, tc.read)
	}
	e.must(e.store.BatchDone(e.ctx, tc.member, tc.read))
	reply, err := batchDoneScript.Run(e.ctx, e.rdb, []string{tw.keys.prefix + tc.member, tw.keys.pending()}, tc.read, tc.member).Int()
	if want := b2i(tc.forgotten); err != nil || reply != want {
		e.t.Errorf("reply %d %v, want %d", reply, err, want)
	}
	e.wantSameAs(tw)
	if !tc.forgotten {
		e.wantTouched(before)
		return
	}
	touched := []string{e.keys.pending()}
	if _, ok := before[tc.member]; ok {
		touched = append(touched, e.keys.prefix+tc.member)
	}
	e.wantTouched(before, touched...)
	if e.rdb.Exists(e.ctx, e.keys.prefix+tc.member).Val() != 0 || e.rdb.ZScore(e.ctx, e.keys.pending(), tc.member).Err() == nil {
		e.t.Errorf("batch %s is still kept or pending", tc.member)
	}
}

// seedNotifyBatch takes leads A and B in together.
func seedNotifyBatch(e *scriptEnv) {
	for _, r := range e.store.CreateBatch(e.ctx, []leadworker.Intake{testIntake("A", scriptT0), testIntake("B", scriptT0)}) {
		e.must(r.Err)
	}
}

// seedClosingBatch expires A of the page A, B (B is too young) and, with
// more, B too a day later: B's id joins the same batch.
func seedClosingBatch(more bool) func(*scriptEnv) {
	return func(e *scriptEnv) {
		e.create(testIntake("A", expireCutoff), testIntake("B", expireCutoff.Add(time.Hour)))
		_, err := e.store.ExpirePage(e.ctx, []string{"A", "B"}, expireCutoff, false)
		e.must(err)
		if more {
			_, err = e.store.ExpirePage(e.ctx, []string{"A", "B"}, expireCutoff.Add(24*time.Hour), false)
			e.must(err)
		}
	}
}

// seedGoneBatch leaves member pending with no ids kept under its key.
func seedGoneBatch(member string) func(*scriptEnv) {
	return func(e *scriptEnv) {
		e.must(e.rdb.ZAdd(e.ctx, e.keys.pending(), zAt(member, scriptT0)).Err())
	}
}
