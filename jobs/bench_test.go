package jobs_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/samples"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/redis/go-redis/v9"
)

const (
	benchLeads        = 100_000 // leads stored per measurement
	benchPartnerCount = 50      // partners the leads are spread over
	benchPrefix       = "bench:"
	benchSampleEvery  = 100 // every 100th lead's hash is sampled with MEMORY USAGE
)

// benchCustomers and benchNeeds are the shared sample texts.
var (
	benchCustomers = samples.Customers
	benchNeeds     = samples.Needs
	// benchLongNeeds adds, every third lead, a need longer than Redis's
	// default hash-max-listpack-value of 64 bytes, which turns that lead's
	// hash from a listpack into a hashtable.
	benchLongNeeds = append(slices.Clone(benchNeeds[:2]),
		"We are evaluating Dynamics 365 Sales for 120 users and need a partner for the rollout in Q1",
		benchNeeds[2], benchNeeds[3],
		"Teams Phone を全社 300 名に展開したい。既存の PBX からの移行計画と見積もりをお願いします",
	)
	benchOfferCTAs = []leadworker.CallToAction{leadworker.CTAContactMe, leadworker.CTAGetItNow, leadworker.CTAContactMe, leadworker.CTATestDrive}
	benchSources   = []string{"appsource", "azure_marketplace", "azure_portal"}
	benchKinds     = []leadworker.Kind{leadworker.KindCustomerInquiry, leadworker.KindMarketingQualified, leadworker.KindSalesQualified}
)

// benchIntake returns the i-th realistic lead: ~14 fields, customer
// company/name/email/phone/country, fixture-like need text, a mix of
// profile and offer leads, some with an originator. It matches the leads of
// worker/bench_test.go.
func benchIntake(i int, created time.Time, needs []string) leadworker.Intake {
	c := benchCustomers[i%len(benchCustomers)]
	c.Email = fmt.Sprintf("buyer%d@customer-%s.example", i, c.Country)
	c.Phone = fmt.Sprintf("+00-%04d-%04d", i/10000%10000, i%10000)
	in := leadworker.Intake{
		ID: fmt.Sprintf("L-1-%07d", i), PartnerID: fmt.Sprintf("P-%03d", i%benchPartnerCount),
		Kind: benchKinds[i%len(benchKinds)], LeadType: leadworker.LeadTypeProfile, Source: "solution_provider",
		Customer: c, Need: needs[i%len(needs)], Quality: "high",
		EmailValidity: "valid", PhoneValidity: "unknown", ContactRequested: i%3 == 0, CreatedAt: &created,
	}
	if i%4 == 1 {
		in.LeadType, in.Kind, in.Location = leadworker.LeadTypeOffer, leadworker.KindCustomerInquiry, "tokyo"
		in.CallToAction, in.Source = benchOfferCTAs[i/4%len(benchOfferCTAs)], benchSources[i%len(benchSources)]
	}
	if in.Kind == leadworker.KindSalesQualified {
		in.Originator = &leadworker.Person{Name: "Vendor seller", Email: "seller@vendor.example"}
	}
	return in
}

// benchUsedMemory returns the server's used_memory.
func benchUsedMemory(b *testing.B, r *testenv.Redis, c *redis.Client) int64 {
	b.Helper()
	n, err := r.UsedMemory(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// benchStoreLeads stores n leads with needs through CreateBatch in batches
// of store.MaxBatch, failing b unless every one is created.
func benchStoreLeads(b *testing.B, s *store.Store, n int, needs []string) {
	b.Helper()
	ctx, created := context.Background(), time.Now().Add(-time.Hour).Truncate(time.Second)
	for start := 0; start < n; start += store.MaxBatch {
		ins := make([]leadworker.Intake, 0, store.MaxBatch)
		for i := start; i < min(start+store.MaxBatch, n); i++ {
			ins = append(ins, benchIntake(i, created, needs))
		}
		for i, res := range s.CreateBatch(ctx, ins) {
			if res.Err != nil || !res.Created {
				b.Fatalf("lead %s: created %v, err %v", ins[i].ID, res.Created, res.Err)
			}
		}
	}
}

// benchHashSample returns the mean MEMORY USAGE of a sample of the stored
// leads' hashes and the fraction of them encoded as listpacks.
func benchHashSample(b *testing.B, c *redis.Client, n int) (bytes, listpack float64) {
	b.Helper()
	ctx, count := context.Background(), 0
	var sum, lp int64
	for i := 0; i < n; i += benchSampleEvery {
		key := benchPrefix + "lead:" + fmt.Sprintf("L-1-%07d", i)
		size, err := c.MemoryUsage(ctx, key, 0).Result()
		if err != nil {
			b.Fatalf("MEMORY USAGE %s: %v", key, err)
		}
		if c.ObjectEncoding(ctx, key).Val() == "listpack" {
			lp++
		}
		sum, count = sum+size, count+1
	}
	return float64(sum) / float64(count), float64(lp) / float64(count)
}

// benchMeasureBytes stores benchLeads leads into the FLUSHALL'ed server and
// returns the growth of used_memory.
func benchMeasureBytes(b *testing.B, r *testenv.Redis, c *redis.Client, s *store.Store, needs []string) int64 {
	b.Helper()
	ctx := context.Background()
	if err := c.FlushAll(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	if err := s.Load(ctx); err != nil {
		b.Fatal(err)
	}
	before := benchUsedMemory(b, r, c)
	benchStoreLeads(b, s, benchLeads, needs)
	return benchUsedMemory(b, r, c) - before
}

// BenchmarkRedisBytesPerLead measures how much Redis memory (used_memory,
// INFO memory) one stored lead costs, hash plus every index entry, by
// storing 100,000 realistic leads with CreateBatch into a flushed
// redis-server. It also reports the mean MEMORY USAGE of a sampled lead hash
// and the fraction of hashes that stay listpack-encoded. Each op is one full
// measurement on a FLUSHALL'ed server, so any b.N is correct, but one is
// enough:
//
//	go test -run '^$' -bench RedisBytesPerLead -benchtime 1x ./jobs
//
// The fixtures' need texts all fit in 64 bytes, so the two Redis settings
// only differ for the long-need variants, where every third lead's need is
// longer (as real needs, up to 4,000 characters, often are).
//
// Target: ≤ 1.5 KiB (1,536 bytes) per stored lead.
func BenchmarkRedisBytesPerLead(b *testing.B) {
	settings := []struct {
		name string
		args []string
	}{
		{"default", nil},
		{"listpack-value-256", []string{"--hash-max-listpack-value", "256"}},
	}
	for _, needs := range []struct {
		name  string
		texts []string
	}{{"", benchNeeds}, {"long-need/", benchLongNeeds}} {
		for _, cfg := range settings {
			b.Run(needs.name+cfg.name, func(b *testing.B) { benchBytesPerLead(b, needs.texts, cfg.args...) })
		}
	}
}

func benchBytesPerLead(b *testing.B, needs []string, redisArgs ...string) {
	r := testenv.StartRedis(b, redisArgs...)
	c := r.Client()
	s := store.NewStore(c, benchPrefix, clock.Real{})
	var grown int64
	b.ResetTimer()
	for range b.N {
		grown += benchMeasureBytes(b, r, c, s, needs)
	}
	b.StopTimer()
	hash, listpack := benchHashSample(b, c, benchLeads)
	b.ReportMetric(float64(grown)/float64(b.N)/benchLeads, "bytes/lead")
	b.ReportMetric(hash, "hash-bytes/lead")
	b.ReportMetric(100*listpack, "listpack-%")
}
