package store

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/redis/go-redis/v9"
)

// snapshot is every key under a test's prefix (without it), each rendered
// with its type, its whole contents and whether it expires.
type snapshot map[string]string

// dump returns the snapshot of every key the test's store has.
func (e *scriptEnv) dump() snapshot {
	e.t.Helper()
	out := snapshot{}
	for _, k := range e.keysUnder() {
		out[k] = e.render(e.keys.prefix + k)
	}
	return out
}

// render is one key as dump shows it.
func (e *scriptEnv) render(key string) string {
	e.t.Helper()
	typ, err := e.rdb.Type(e.ctx, key).Result()
	if err != nil {
		e.t.Fatal(err)
	}
	var v any
	switch typ {
	case "string":
		v = e.rdb.Get(e.ctx, key).Val()
	case "hash":
		v = e.hash(key)
	case "zset":
		v = e.rdb.ZRangeWithScores(e.ctx, key, 0, -1).Val()
	case "list":
		v = e.list(key)
	default:
		e.t.Fatalf("key %s has type %s, which no script writes", key, typ)
	}
	out := fmt.Sprintf("%s %v", typ, v)
	if e.rdb.PTTL(e.ctx, key).Val() > 0 {
		out += " (expires)"
	}
	return out
}

// changedSince lists the keys (without the prefix) that appeared,
// disappeared or changed since before.
func (e *scriptEnv) changedSince(before snapshot) []string {
	e.t.Helper()
	after := e.dump()
	var out []string
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// wantTouched checks that exactly the keys want (full names) changed since
// before, and nothing else.
func (e *scriptEnv) wantTouched(before snapshot, want ...string) {
	e.t.Helper()
	w := make([]string, len(want))
	for i, k := range want {
		w[i] = strings.TrimPrefix(k, e.keys.prefix)
	}
	slices.Sort(w)
	w = slices.Compact(w)
	if got := e.changedSince(before); !slices.Equal(got, w) {
		e.t.Errorf("keys changed: %q, want %q", got, w)
	}
}

// twin returns a store beside e's on the same server and clock, with keys
// of its own: the raw script runs there on the same seed as the Go wrapper
// runs on e, so the two can be compared.
func (e *scriptEnv) twin() *scriptEnv {
	prefix := strings.TrimSuffix(e.keys.prefix, ":") + "~twin:"
	s := NewStore(e.rdb, prefix, e.clock)
	tw := *e
	tw.store, tw.keys = s, s.keys
	return &tw
}

// seedBoth runs seed on e and on a twin, and returns the twin and e's
// snapshot after the seed.
func (e *scriptEnv) seedBoth(seed func(*scriptEnv)) (*scriptEnv, snapshot) {
	e.t.Helper()
	tw := e.twin()
	seed(e)
	seed(tw)
	return tw, e.dump()
}

// wantSameAs checks that e and other hold the same keys with the same
// contents.
func (e *scriptEnv) wantSameAs(other *scriptEnv) {
	e.t.Helper()
	if a, b := e.dump(), other.dump(); !maps.Equal(a, b) {
		e.t.Errorf("the Go wrapper left\n%v\nthe raw script left\n%v", a, b)
	}
}

// list returns a list's items.
func (e *scriptEnv) list(key string) []string {
	e.t.Helper()
	l, err := e.rdb.LRange(e.ctx, key, 0, -1).Result()
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// wantHash checks a hash's fields.
func (e *scriptEnv) wantHash(key string, want map[string]string) {
	e.t.Helper()
	if got := e.hash(key); !maps.Equal(got, want) {
		e.t.Errorf("%s:\n got %v\nwant %v", strings.TrimPrefix(key, e.keys.prefix), got, want)
	}
}

// wantZset checks a sorted set's members and scores, as zm renders them.
func (e *scriptEnv) wantZset(key string, want ...string) {
	e.t.Helper()
	if got := e.zset(key); !slices.Equal(got, want) {
		e.t.Errorf("%s = %q, want %q", strings.TrimPrefix(key, e.keys.prefix), got, want)
	}
}

// wantList checks a list's items.
func (e *scriptEnv) wantList(key string, want ...string) {
	e.t.Helper()
	if got := e.list(key); !slices.Equal(got, want) {
		e.t.Errorf("%s = %q, want %q", strings.TrimPrefix(key, e.keys.prefix), got, want)
	}
}

// zm is a sorted set member scored at t, as e.zset renders it.
func zm(member string, t time.Time) string { return member + "=" + formatScore(float64(t.UnixMilli())) }

// with returns a copy of h with the field/value pairs kv set; an empty value
// deletes the field.
func with(h map[string]string, kv ...string) map[string]string {
	out := maps.Clone(h)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// must fails the test on err.
func (e *scriptEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// testIntake is a customer inquiry for partner P-1: an offer lead whose
// customer asked to be contacted, created at created. Each change adjusts it.
func testIntake(id string, created time.Time, change ...func(*leadworker.Intake)) leadworker.Intake {
	in := leadworker.Intake{ID: id, PartnerID: "P-1", Kind: leadworker.KindCustomerInquiry, LeadType: leadworker.LeadTypeOffer,
		CallToAction: leadworker.CTAContactMe, ContactRequested: true, CreatedAt: &created,
		Customer: leadworker.Customer{Company: "Contoso", Name: "Hanako", Email: "h@contoso.example", Phone: "+81 3 0000", Country: "JP"}}
	for _, c := range change {
		c(&in)
	}
	return in
}

// informational makes an intake an informational offer lead (get_it_now)
// without a contact request.
func informational(in *leadworker.Intake) {
	in.CallToAction, in.ContactRequested = leadworker.CTAGetItNow, false
}

// qualified makes an intake a sales-qualified profile lead without a
// contact request, sent by originator (nil: nobody named).
func qualified(originator *leadworker.Person) func(*leadworker.Intake) {
	return func(in *leadworker.Intake) {
		in.Kind, in.LeadType, in.CallToAction, in.ContactRequested = leadworker.KindSalesQualified, leadworker.LeadTypeProfile, "", false
		in.Originator = originator
	}
}

// partner moves an intake to another partner.
func partner(pid string) func(*leadworker.Intake) {
	return func(in *leadworker.Intake) { in.PartnerID = pid }
}

// create stores each intake on its own and returns the leads.
func (e *scriptEnv) create(ins ...leadworker.Intake) []*leadworker.Lead {
	e.t.Helper()
	out := make([]*leadworker.Lead, len(ins))
	for i, in := range ins {
		res := e.store.Create(e.ctx, in)
		if res.Err != nil || !res.Created {
			e.t.Fatalf("create %s: %+v", in.ID, res)
		}
		out[i] = res.Lead
	}
	return out
}

// testDeal is a valid deal.
var testDeal = leadworker.Deal{Name: "Rollout", Value: leadworker.Money{Amount: "100", Currency: "USD"}, EstimatedPurchaseDate: "2027-01-01"}

// sameJSON reports whether two JSON texts hold the same value, whatever the
// order of their object keys (cjson encodes tables in no fixed order).
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

// flatHash turns a flat field/value reply into a map.
func flatHash(v any) map[string]string {
	flat, _ := v.([]any)
	h := map[string]string{}
	for i := 0; i+1 < len(flat); i += 2 {
		h[flat[i].(string)] = flat[i+1].(string)
	}
	return h
}

// sameLead reports whether two leads encode alike.
func sameLead(a, b *leadworker.Lead) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// zAt is a sorted set member scored at t.
func zAt(member string, t time.Time) redis.Z {
	return redis.Z{Score: float64(t.UnixMilli()), Member: member}
}

// nextRev is the revision after the one a lead hash holds.
func nextRev(h map[string]string) string {
	n, _ := strconv.Atoi(h[fRev])
	return strconv.Itoa(n + 1)
}

// b2i is a script's 0/1 reply for b.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
