package store

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
)

// TestDigestSentScript checks digest_sent.lua: every lead of the digest is
// marked as sent (or undeliverable, with the error), leaves the digest and
// the pending set; each partner's feed gets one entry; due:digests loses
// the digest only when it is empty; a missing lead is skipped, not created.
// DigestSent runs on the store, the raw script on a twin with the same
// seed: the raw reply is checked and both must leave the same keys.
func TestDigestSentScript(t *testing.T) {
	t.Parallel()
	cases := []digestSentCase{
		{name: "sent", digest: []string{"A", "B"}, sent: []string{"A", "B"}, feeds: []string{"P-1", "P-2"}},
		{name: "undeliverable", digest: []string{"A", "B"}, sent: []string{"A", "B"}, feeds: []string{"P-1", "P-2"},
			failure: "550 no such user"},
		{name: "a lead joined since", digest: []string{"A", "B", "C"}, sent: []string{"A", "B"}, feeds: []string{"P-1", "P-2"}},
		{name: "missing lead", digest: []string{"A", "ghost"}, sent: []string{"A", "ghost"}, feeds: []string{"P-1"}},
		{name: "no leads", digest: nil, sent: nil, feeds: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			onBackends(t, tc.run)
		})
	}
}

// digestSentCase records the end of claimRcpt's digest of claimDay, which
// holds digest, for the leads sent (A and C of partner P-1, B of P-2), with
// a feed entry for each partner of feeds.
type digestSentCase struct {
	name                string
	digest, sent, feeds []string
	failure             string
}

// The digest was sent at digestSentAt to digestSentTo, the partner's
// default contact it fell back to.
var digestSentAt = claimSendAt.Add(1234 * time.Millisecond)

const digestSentTo = "fallback@p.example"

const digestMember = claimRcpt + "|" + claimDay

// seed stores A, B and C, puts the case's leads in the digest and the
// digest (and another) in due:digests.
func (tc digestSentCase) seed(e *scriptEnv) {
	at := scriptT0.Add(-time.Hour)
	e.create(testIntake("A", at), testIntake("B", at.Add(time.Minute), partner("P-2")), testIntake("C", at.Add(2*time.Minute)))
	for i, id := range tc.digest {
		e.must(e.rdb.ZAdd(e.ctx, e.keys.digest(claimRcpt, claimDay), zAt(id, at.Add(time.Duration(i)*time.Minute))).Err())
	}
	e.must(e.rdb.ZAdd(e.ctx, e.keys.dueDigests(), zAt(digestMember, claimSendAt), zAt("other|"+claimDay, claimSendAt)).Err())
}

// entries are the feed entries of the case's partners.
func (tc digestSentCase) entries() map[string]leadworker.FeedEntry {
	out := map[string]leadworker.FeedEntry{}
	for _, pid := range tc.feeds {
		out[pid] = leadworker.FeedEntry{Type: leadworker.FeedDigest, LeadIDs: []string{pid}, Recipient: digestSentTo, At: digestSentAt}
	}
	return out
}

func (tc digestSentCase) run(e *scriptEnv) {
	tw, before := e.seedBoth(tc.seed)
	var leads []*leadworker.Lead
	for _, id := range tc.sent {
		leads = append(leads, e.lead(id))
	}
	hashes, digest := e.leadHashes(tc.sent), e.zset(e.keys.digest(claimRcpt, claimDay))
	e.must(e.store.DigestSent(e.ctx, claimRcpt, claimDay, digestSentTo, leads, digestSentAt, tc.failure, tc.entries()))
	if reply, err := tc.raw(tw); err != nil || reply != 1 {
		e.t.Errorf("reply %d %v, want 1", reply, err)
	}
	e.wantSameAs(tw)
	tc.wantEffects(e, before, hashes, digest)
}

// raw runs digest_sent.lua on e as its header says.
func (tc digestSentCase) raw(e *scriptEnv) (int, error) {
	k := e.keys
	ks := []string{k.digest(claimRcpt, claimDay), k.dueDigests(), k.pending(), k.sealedDigest(claimRcpt, claimDay)}
	args := []any{digestMember, digestSentAt.Format(time.RFC3339Nano), digestSentTo, tc.failure, FeedLimit, len(tc.sent)}
	for _, id := range tc.sent {
		ks, args = append(ks, k.lead(id)), append(args, id)
	}
	entries := tc.entries()
	for _, pid := range slices.Sorted(maps.Keys(entries)) {
		e := entries[pid]
		ks, args = append(ks, k.feed(pid)), append(args, feedJSON(&e))
	}
	return digestSentScript.Run(e.ctx, e.rdb, ks, args...).Int()
}

// wantEffects checks the keys after the script, against the snapshot, the
// sent leads' hashes and the digest before.
func (tc digestSentCase) wantEffects(e *scriptEnv, before snapshot, hashes map[string]map[string]string, digest []string) {
	e.t.Helper()
	k := e.keys
	touched := []string{}
	for _, id := range tc.sent {
		if len(hashes[id]) > 0 {
			touched = append(touched, k.lead(id), k.pending())
			e.wantDigestNotification(k.lead(id), hashes[id], tc.failure)
		}
	}
	left := slices.DeleteFunc(digest, func(m string) bool {
		id, _, _ := strings.Cut(m, "=")
		return slices.Contains(tc.sent, id)
	})
	if len(tc.digest) > 0 {
		touched = append(touched, k.digest(claimRcpt, claimDay))
	}
	e.wantZset(k.digest(claimRcpt, claimDay), left...)
	if len(left) == 0 {
		touched = append(touched, k.dueDigests())
		e.wantZset(k.dueDigests(), zm("other|"+claimDay, claimSendAt))
	}
	for pid, entry := range tc.entries() {
		touched = append(touched, k.feed(pid))
		e.wantList(k.feed(pid), feedJSON(&entry))
	}
	e.wantTouched(before, touched...)
	for _, id := range tc.sent {
		if e.rdb.ZScore(e.ctx, k.pending(), "notify:"+id).Err() == nil {
			e.t.Errorf("notify:%s is still pending", id)
		}
	}
}

// wantDigestNotification checks a lead's hash: as before, with the
// digest's notification record.
func (e *scriptEnv) wantDigestNotification(key string, before map[string]string, failure string) {
	e.t.Helper()
	h := e.hash(key)
	want := `{"via":"digest","recipient":"` + digestSentTo + `","sent_at":"` + digestSentAt.Format(time.RFC3339Nano) + `"}`
	if failure != "" {
		want = `{"via":"digest","recipient":"` + digestSentTo + `","error":"` + failure + `"}`
	}
	if !sameJSON(h[fNotify], want) {
		e.t.Errorf("%s ntf %s, want %s", key, h[fNotify], want)
	}
	if !maps.Equal(with(h, fNotify, ""), with(before, fNotify, "")) {
		e.t.Errorf("%s:\n got %v\nwant %v plus ntf", key, h, before)
	}
}
