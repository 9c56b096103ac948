package jobs_test

import (
	"slices"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
)

// TestDigestsJobQueuesDigestsPastTheirTime checks that a lead joining a
// digest whose send time has passed queues no task of its own, and that
// the digests job then reports and queues that digest (not one whose time
// is still ahead), which sends it; the next run finds nothing.
func TestDigestsJobQueuesDigestsPastTheirTime(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t)
	for i, id := range []string{"L-OLD-1", "L-OLD-2", "L-OLD-3"} { // 9 March: its digest was due on 10 March
		e.create(id, createdAt(jst("2091-03-09", 10, i)))
	}
	for i, id := range []string{"L-NEW-1", "L-NEW-2", "L-NEW-3"} { // 11 March: its digest goes at 08:00 on 12 March
		e.create(id, createdAt(jst("2091-03-11", 10, i)))
	}
	e.mustNotify("L-OLD-1", "L-OLD-2", "L-OLD-3", "L-NEW-1", "L-NEW-2", "L-NEW-3")
	oldDigest, newDigest := tasks.DigestID(tokyoContact, "2091-03-09"), tasks.DigestID(tokyoContact, "2091-03-11")
	e.wantQueued(tasks.QueueMail, newDigest)

	e.wantChanges("digests", e.run(tasks.JobDigests, t0, false), "digest 2091-03-09")
	e.wantQueued(tasks.QueueMail, oldDigest, newDigest)
	if err := e.runQueued(tasks.QueueMail, oldDigest); err != nil {
		t.Fatal(err)
	}
	e.wantNotification("L-OLD-3", ntf{via: "digest", rcpt: tokyoContact, sent: t0})
	if due := e.due(store.DueDigests, never); !slices.Equal(due, []string{tokyoContact + "|2091-03-11"}) {
		t.Fatalf("digests due %v, want only 11 March's", due)
	}
	e.wantChanges("digests a minute later", e.run(tasks.JobDigests, t0.Add(time.Minute), false))
}

// wantQueued checks every task id in a queue.
func (e *env) wantQueued(queue string, want ...string) {
	e.t.Helper()
	slices.Sort(want)
	if got := e.queued(queue); !slices.Equal(got, want) {
		e.t.Fatalf("queue %s holds %v, want %v", queue, got, want)
	}
}

// TestDigestsJobRequeuesLostWork checks that the digests job re-enqueues
// pending work older than a minute whose task was lost (announcements of a
// lead and of a batch, a declined lead's closing notice), reports each,
// and leaves younger work alone; running the re-enqueued tasks does the
// work, which is then no longer pending.
func TestDigestsJobRequeuesLostWork(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t)
	e.clock.Set(t0.Add(-2 * time.Minute))
	e.create("L-LOST")
	e.create("L-DEC")
	e.decline("L-DEC")
	results := e.store.CreateBatch(e.ctx, []leadworker.Intake{
		e.intake("L-B1", forPartner("P-100", "osaka")), e.intake("L-B2", forPartner("P-100", "osaka"))})
	batch := tasks.NotifyBatchID(results[0].Batch)
	e.clock.Set(t0.Add(-30 * time.Second))
	e.create("L-YOUNG")

	e.wantChanges("digests", e.run(tasks.JobDigests, t0, false), "requeue L-LOST notify:L-LOST",
		"requeue L-DEC notify:L-DEC", "requeue L-DEC closing:L-DEC", "requeue "+batch)
	e.wantQueued(tasks.QueueNotify, "notify:L-LOST", "notify:L-DEC", batch)
	e.wantQueued(tasks.QueueMail, "closing:L-DEC")
	for _, id := range []string{"notify:L-LOST", "notify:L-DEC", batch} {
		if err := e.runQueued(tasks.QueueNotify, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.runQueued(tasks.QueueMail, "closing:L-DEC"); err != nil {
		t.Fatal(err)
	}
	e.wantMails(mail{To: tokyoContact, ID: msgID("lead-L-LOST.new")}, mail{To: osakaContact, ID: msgID("lead-L-B1.new")},
		mail{To: osakaContact, ID: msgID("lead-L-B2.new")}, mail{To: customerEmail, ID: msgID("lead-L-DEC.closing")})
	e.wantPending("notify:L-YOUNG")
	e.wantChanges("digests a minute later", e.run(tasks.JobDigests, t0.Add(time.Minute), false), "requeue L-YOUNG notify:L-YOUNG")
}

// TestDigestToAnAddressWithAPipe checks that a recipient whose address
// holds "|" (legal in its local part) gets its digest: the due digest names
// the recipient and the day without ambiguity.
func TestDigestToAnAddressWithAPipe(t *testing.T) {
	t.Parallel()
	e := newQueueEnv(t)
	const rcpt = "sales|team@litware.example"
	if _, err := e.store.PutPreferences(e.ctx, "P-300", leadworker.Preferences{PreferredEmail: rcpt, TimeZone: "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"L-P-1", "L-P-2", "L-P-3"} {
		e.create(id, forPartner("P-300", ""), createdAt(jst("2091-03-09", 10, i)))
	}
	e.mustNotify("L-P-1", "L-P-2", "L-P-3")
	e.wantChanges("digests", e.run(tasks.JobDigests, t0, false), "digest 2091-03-09")
	id := tasks.DigestID(rcpt, "2091-03-09")
	e.wantQueued(tasks.QueueMail, id)
	if err := e.runQueued(tasks.QueueMail, id); err != nil {
		t.Fatal(err)
	}
	e.wantNotification("L-P-3", ntf{via: "digest", rcpt: rcpt, sent: t0})
	if due := e.due(store.DueDigests, never); len(due) != 0 {
		t.Fatalf("digests still due: %v", due)
	}
}
