package store

import (
	"slices"
	"testing"
	"time"
)

// TestSealDigestScript checks seal_digest.lua: the first seal of a day's
// digest is part 1, with the ids and the number of parts given; sealing
// again before the part is recorded returns that same part and changes
// nothing; once digest_sent.lua recorded it, the next seal is part 2; a
// part sealed again (too large for the server) keeps its number.
func TestSealDigestScript(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		k := e.keys
		sealed, counter := k.sealedDigest(claimRcpt, claimDay), k.digestParts(claimRcpt, claimDay)
		leads := e.claimLeads()
		e.claim(leads, 0, "tok") // A, B, C and D wait in the digest
		part, err := e.store.SealDigest(e.ctx, claimRcpt, claimDay, []string{"A", "B"}, 2)
		e.must(err)
		e.wantPart(part, 1, 2, "A", "B")
		e.wantString(sealed, "1 2 A B", 10*24*time.Hour)
		e.wantString(counter, "1", 10*24*time.Hour)

		before := e.dump()
		again, err := e.store.SealDigest(e.ctx, claimRcpt, claimDay, []string{"C", "D"}, 1)
		e.must(err)
		e.wantPart(again, 1, 2, "A", "B")
		e.wantTouched(before)
		read, err := e.store.SealedDigest(e.ctx, claimRcpt, claimDay)
		e.must(err)
		e.wantPart(read, 1, 2, "A", "B")

		e.must(e.store.DigestSent(e.ctx, claimRcpt, claimDay, claimRcpt, leads[:2], scriptT0, "", nil))
		if p, err := e.store.SealedDigest(e.ctx, claimRcpt, claimDay); p != nil || err != nil {
			e.t.Fatalf("sealed part after it was recorded: %+v %v", p, err)
		}
		next, err := e.store.SealDigest(e.ctx, claimRcpt, claimDay, []string{"C", "D"}, 1)
		e.must(err)
		e.wantPart(next, 2, 2, "C", "D")
		e.wantString(sealed, "2 2 C D", 10*24*time.Hour)

		// Too large for the server: sealed again, smaller, same number.
		smaller, err := e.store.ResealDigest(e.ctx, claimRcpt, claimDay, []string{"C"}, 2)
		e.must(err)
		e.wantPart(smaller, 2, 3, "C")
		e.wantString(sealed, "2 3 C", 10*24*time.Hour)
		e.wantString(counter, "2", 10*24*time.Hour)
	})
}

func (e *scriptEnv) wantPart(p *DigestPart, n, parts int, ids ...string) {
	e.t.Helper()
	if p == nil || p.N != n || p.Parts != parts || !slices.Equal(p.IDs, ids) {
		e.t.Fatalf("part %+v, want %d of %d with %v", p, n, parts, ids)
	}
}
