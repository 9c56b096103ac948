package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
)

// TestAnnouncedScript checks announced.lua: an announcement's end is
// recorded once (ntf, the feed entry, trimmed to FeedLimit), its pending
// member goes, and the send lock is released only for the token holding it;
// a lead already sent keeps its record and a missing lead is not created.
// DoneAll runs on the store, the raw script on a twin with the same seed:
// the raw reply is checked and both must leave the same keys.
func TestAnnouncedScript(t *testing.T) {
	t.Parallel()
	for _, tc := range announcedCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, tc.run)
		})
	}
}

// announcedCase records the end of lead id's announcement (A: created and
// claimed on its own with lock token "tok") with token.
type announcedCase struct {
	name     string
	id       string
	seed     func(*scriptEnv) // after A was claimed
	token    string
	noEntry  bool // the announcement has no feed entry
	reply    int
	recorded bool // ntf and the feed entry are written
	released bool // the lock is released
}

func announcedCases() []announcedCase {
	lock := func(token string) func(*scriptEnv) {
		return func(e *scriptEnv) { e.must(e.rdb.Set(e.ctx, e.keys.lock("notify:A"), token, 0).Err()) }
	}
	return []announcedCase{
		{name: "sent", id: "A", token: "tok", reply: 1, recorded: true, released: true},
		{name: "no feed entry", id: "A", token: "tok", noEntry: true, reply: 1, recorded: true, released: true},
		{name: "feed at its limit", id: "A", seed: fullFeed, token: "tok", reply: 1, recorded: true, released: true},
		{name: "lock of another worker", id: "A", seed: lock("other"), token: "tok", reply: 1, recorded: true},
		{name: "no token", id: "A", token: "", reply: 1, recorded: true},
		{name: "undelivered before", id: "A", token: "tok", reply: 1, recorded: true, released: true,
			seed: func(e *scriptEnv) { e.must(e.rdb.HSet(e.ctx, e.keys.lead("A"), fNotify, `{"error":"550"}`).Err()) }},
		{name: "already sent", id: "A", token: "tok", reply: 0, released: true, seed: func(e *scriptEnv) {
			e.must(e.store.DoneAll(e.ctx, []Announcement{announcement(e.lead("A"), scriptT0.Add(-time.Minute))}, "tok"))
			lock("tok")(e)
		}},
		{name: "missing lead", id: "ghost", token: "tok", reply: 0, released: true, seed: func(e *scriptEnv) {
			e.must(e.rdb.ZAdd(e.ctx, e.keys.pending(), zAt("notify:ghost", scriptT0)).Err())
			e.must(e.rdb.Set(e.ctx, e.keys.lock("notify:ghost"), "tok", 0).Err())
		}},
	}
}

// fullFeed fills partner P-1's feed with FeedLimit entries, old-0 newest.
func fullFeed(e *scriptEnv) {
	e.must(e.rdb.RPush(e.ctx, e.keys.feed("P-1"), anys(oldEntries(FeedLimit))...).Err())
}

func oldEntries(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("old-%d", i)
	}
	return out
}

// lead returns a stored lead, or a bare one of P-1 when it is missing.
func (e *scriptEnv) lead(id string) *leadworker.Lead {
	l, err := e.store.Get(e.ctx, id)
	if err != nil {
		return &leadworker.Lead{Intake: leadworker.Intake{ID: id, PartnerID: "P-1"}}
	}
	return l
}

// announcement is l's announcement, sent at sent, with its feed entry.
func announcement(l *leadworker.Lead, sent time.Time) Announcement {
	ntf := leadworker.Notification{Via: "individual", Recipient: claimRcpt, SentAt: &sent}
	entry := &leadworker.FeedEntry{Type: leadworker.FeedNewLead, LeadIDs: []string{l.ID}, Recipient: claimRcpt, At: sent}
	return Announcement{Lead: l, Notification: ntf, Entry: entry}
}

func (tc announcedCase) seedLead(e *scriptEnv) {
	e.create(testIntake("A", scriptT0))
	e.claim([]*leadworker.Lead{e.lead("A")}, 10, "tok")
	if tc.seed != nil {
		tc.seed(e)
	}
}

func (tc announcedCase) run(e *scriptEnv) {
	tw, before := e.seedBoth(tc.seedLead)
	a := announcement(e.lead(tc.id), scriptT0)
	if tc.noEntry {
		a.Entry = nil
	}
	was := announcedBefore{hash: e.hash(e.keys.lead(tc.id)), feed: e.list(e.keys.feed("P-1")),
		pending: e.rdb.ZScore(e.ctx, e.keys.pending(), "notify:"+tc.id).Err() == nil}
	e.must(e.store.DoneAll(e.ctx, []Announcement{a}, tc.token))
	k := tw.keys
	reply, err := announcedScript.Run(e.ctx, e.rdb, []string{k.lead(tc.id), k.pending(), k.feed("P-1"), k.lock("notify:" + tc.id)},
		mustJSON(a.Notification), "notify:"+tc.id, feedJSON(a.Entry), FeedLimit, tc.token).Int()
	if err != nil || reply != tc.reply {
		e.t.Errorf("reply %d %v, want %d", reply, err, tc.reply)
	}
	e.wantSameAs(tw)
	tc.wantEffects(e, before, a, was)
}

// announcedBefore is the state announced.lua works on, before it ran.
type announcedBefore struct {
	hash    map[string]string
	feed    []string
	pending bool // the lead's pending member was there
}

// wantEffects checks the keys after the script, against the snapshot and
// the state before.
func (tc announcedCase) wantEffects(e *scriptEnv, before snapshot, a Announcement, was announcedBefore) {
	e.t.Helper()
	k, hash, feed := e.keys, was.hash, was.feed
	var touched []string
	if was.pending {
		touched = append(touched, k.pending())
	}
	if tc.released {
		touched = append(touched, k.lock("notify:"+tc.id))
	}
	if tc.recorded {
		touched = append(touched, k.lead(tc.id))
		hash = with(hash, fNotify, mustJSON(a.Notification))
		if a.Entry != nil {
			touched = append(touched, k.feed("P-1"))
			feed = append([]string{feedJSON(a.Entry)}, feed...)[:min(len(feed)+1, FeedLimit)]
		}
	}
	e.wantTouched(before, touched...)
	e.wantHash(k.lead(tc.id), hash)
	e.wantList(k.feed("P-1"), feed...)
	if e.rdb.ZScore(e.ctx, k.pending(), "notify:"+tc.id).Err() == nil {
		e.t.Errorf("notify:%s is still pending", tc.id)
	}
}
