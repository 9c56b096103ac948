package jobs_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/samples"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/leadworker/leadworker/jobs"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
)

// The expiry benchmarks measure the expire job against the target:
// with 1,000,000 stored leads of which 100,000 are due, the job (state
// change, contact erasure, closing-notice enqueue) finishes in ≤ 3 s, and
// with none due in ≤ 10 ms. Two bare go-redis baselines run on an
// equivalent data set in the same process:
//
//	BenchmarkBareSweep/due-100k  sorted-set pages of 1,000 + pipelined EVALSHA
//	                             of a minimal check-and-set script: what the
//	                             job costs at least
//	BenchmarkExpire/due-100k     jobs.Maintenance.Run(ctx, "expire", now, false)
//	BenchmarkExpire/due-0        the same, nothing due
//	BenchmarkBareScan/keys-1M    SCAN over every key (cost ∝ all leads)
//	BenchmarkBareScan/keys+check-1M  the same plus HMGET st/at/inf of every
//	                             lead, which a scan-based sweep needs
//
// Run them (one iteration each is enough; -count 3 repeats every measurement
// without loading the data again):
//
//	go test -run '^$' -bench 'Expire|BareSweep|BareScan' -benchtime 1x -timeout 30m ./jobs
//
// Loading is slow (1,000,000 leads through Store.CreateBatch), so each
// top-level benchmark starts one redis-server (hash-max-listpack-value 256,
// as docs/OPERATIONS.md recommends for production) and loads the 900,000 leads that
// are not due once, on first use by a sub-benchmark; all its sub-benchmarks
// and all -count repetitions share it. Every iteration of a due-100k
// sub-benchmark then stores, with the timer stopped, 100,000 new due leads
// under ids never used before (round r has ids D<r>-<n>), so any b.N and
// -benchtime is correct: each timed run finds exactly 100,000 due leads in a
// store of 1,000,000 received leads (plus the leads archived by earlier
// iterations, which no index that the sweep reads still holds). -benchtime
// 3x runs 1+3 iterations per sub-benchmark (go runs N=1 first).
//
// Besides s/op and leads/s the benchmarks report the CPU seconds Redis
// (INFO cpu) and the Go process (getrusage) spent in the timed section, and
// log Redis's busiest commands (INFO commandstats) of the last iteration, to
// show where the time goes. BenchmarkExpire/due-100k reports x-bare, its
// time over the mean bare sweep measured earlier in the same process.
const (
	benchExpireYoung   = 900_000 // received leads not due, loaded once
	benchExpireDue     = 100_000 // due leads stored before every iteration
	benchExpireAfter   = 14 * 24 * time.Hour
	benchExpireWorkers = 4 // goroutines storing batches
	benchExpirePrefix  = "bx:"
	benchExpireBareKey = "bare:lead:"
	benchExpireBareIdx = "bare:due"
)

// benchExpireRedisArgs is the configuration of every redis-server started
// here: production's recommended hash-max-listpack-value.
var benchExpireRedisArgs = []string{"--hash-max-listpack-value", "256"}

// benchExpireBareSecs collects the bare sweep's s/op for the x-bare ratio.
var benchExpireBareSecs []float64

var (
	benchExpireCustomers = samples.Customers
	benchExpireNeeds     = samples.Needs
	benchExpireKinds     = []leadworker.Kind{leadworker.KindCustomerInquiry, leadworker.KindMarketingQualified, leadworker.KindSalesQualified}
	benchExpireCTAs      = []leadworker.CallToAction{leadworker.CTAContactMe, leadworker.CTAGetItNow, leadworker.CTAFreeTrial, leadworker.CTATestDrive}
)

// benchExpireIntake returns the i-th realistic lead under id: customer
// company, name, email and phone (so erasure has work), a short need, a mix
// of profile and offer leads and of kinds, sales-qualified ones with an
// originator (their notice goes there). Due leads are all expirable: their
// offer leads are contact_me. Young leads mix in informational offers, which
// expiry never reads.
func benchExpireIntake(id string, i int, created time.Time, due bool) leadworker.Intake {
	c := benchExpireCustomers[i%len(benchExpireCustomers)]
	c.Email = fmt.Sprintf("buyer%d@customer-%s.example", i, strings.ToLower(c.Country))
	c.Phone = fmt.Sprintf("+81-3-%04d-%04d", i/10000%10000, i%10000)
	in := leadworker.Intake{
		ID: id, PartnerID: fmt.Sprintf("P-%03d", i%50), Kind: benchExpireKinds[i%len(benchExpireKinds)],
		LeadType: leadworker.LeadTypeProfile, Source: "solution_provider", Customer: c,
		Need: benchExpireNeeds[i%len(benchExpireNeeds)], Quality: "high", EmailValidity: "valid",
		PhoneValidity: "unknown", ContactRequested: i%3 == 0, CreatedAt: &created,
	}
	if i%4 == 1 {
		in.LeadType, in.Kind, in.Location, in.Source = leadworker.LeadTypeOffer, leadworker.KindCustomerInquiry, "tokyo", "appsource"
		in.CallToAction = benchExpireCTAs[i/4%len(benchExpireCTAs)]
		if due {
			in.CallToAction = leadworker.CTAContactMe
		}
	}
	if in.Kind == leadworker.KindSalesQualified {
		in.Originator = &leadworker.Person{Name: "Vendor seller", Email: fmt.Sprintf("seller%d@vendor.example", i%100)}
	}
	return in
}

// benchExpireYoungLead is the i-th lead that is not due: created between 12
// days and 1 hour before base, so it stays young for a day after loading.
func benchExpireYoungLead(i int, base time.Time) leadworker.Intake {
	created := base.Add(-time.Hour - time.Duration(i%(12*24*3600))*time.Second)
	return benchExpireIntake(fmt.Sprintf("Y-%07d", i), i, created, false)
}

// benchExpireDueLead is the i-th due lead of round r: created 15 to 30 days
// before now.
func benchExpireDueLead(r, i int, now time.Time) leadworker.Intake {
	created := now.Add(-15*24*time.Hour - time.Duration(i%(15*24*3600))*time.Second)
	return benchExpireIntake(benchExpireDueID(r, i), i, created, true)
}

func benchExpireDueID(r, i int) string { return fmt.Sprintf("D%d-%06d", r, i) }

// benchExpireParallel calls batch for [start, end) windows of up to
// store.MaxBatch covering [0, n) on benchExpireWorkers goroutines and returns
// the first error.
func benchExpireParallel(n int, batch func(start, end int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range benchExpireWorkers {
		wg.Go(func() {
			for {
				start := int(next.Add(store.MaxBatch)) - store.MaxBatch
				if start >= n {
					return
				}
				if err := batch(start, min(start+store.MaxBatch, n)); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// benchExpireCreate stores n leads through Store.CreateBatch in batches of
// store.MaxBatch and fails unless every one is created.
func benchExpireCreate(s *store.Store, n int, lead func(i int) leadworker.Intake) error {
	ctx := context.Background()
	return benchExpireParallel(n, func(start, end int) error {
		ins := make([]leadworker.Intake, 0, end-start)
		for i := start; i < end; i++ {
			ins = append(ins, lead(i))
		}
		for k, res := range s.CreateBatch(ctx, ins) {
			if res.Err != nil || !res.Created {
				return fmt.Errorf("store lead %s: created %v, err %v", ins[k].ID, res.Created, res.Err)
			}
		}
		return nil
	})
}

// benchExpireCPU is a snapshot of the CPU time Redis and this process used.
type benchExpireCPU struct{ redis, proc float64 }

func benchExpireCPUNow(b *testing.B, rdb *redis.Client) benchExpireCPU {
	b.Helper()
	info, err := rdb.InfoMap(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var cpu benchExpireCPU
	for _, f := range []string{"used_cpu_user", "used_cpu_sys"} {
		v, err := strconv.ParseFloat(info["CPU"][f], 64)
		if err != nil {
			b.Fatalf("INFO cpu %s: %v", f, err)
		}
		cpu.redis += v
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	cpu.proc = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return cpu
}

func (c benchExpireCPU) since(before benchExpireCPU) benchExpireCPU {
	return benchExpireCPU{redis: c.redis - before.redis, proc: c.proc - before.proc}
}

// benchExpireResetStats zeroes Redis's command statistics.
func benchExpireResetStats(b *testing.B, rdb *redis.Client) {
	b.Helper()
	if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
}

// benchExpireCommandStats returns Redis's busiest commands since the last
// reset, by total time, as "command calls×µs-per-call=total" lines. Commands
// a script runs count both under their own name and in the script's
// EVALSHA.
func benchExpireCommandStats(b *testing.B, rdb *redis.Client) string {
	b.Helper()
	info, err := rdb.InfoMap(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	type stat struct {
		name  string
		calls int64
		usec  float64
	}
	var stats []stat
	for name, v := range info["Commandstats"] {
		st := stat{name: strings.TrimPrefix(name, "cmdstat_")}
		for _, kv := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(kv, "=")
			switch k {
			case "calls":
				st.calls, _ = strconv.ParseInt(val, 10, 64)
			case "usec":
				st.usec, _ = strconv.ParseFloat(val, 64)
			}
		}
		stats = append(stats, st)
	}
	slices.SortFunc(stats, func(x, y stat) int { return int(y.usec - x.usec) })
	var out strings.Builder
	for _, st := range stats[:min(6, len(stats))] {
		fmt.Fprintf(&out, "\n\t%-10s %8d calls × %6.2f µs = %6.3f s", st.name, st.calls, st.usec/float64(max(st.calls, 1)), st.usec/1e6)
	}
	return out.String()
}

// benchExpireReport reports the per-op metrics shared by the due-100k
// benchmarks.
func benchExpireReport(b *testing.B, cpu benchExpireCPU) float64 {
	secs := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(secs, "s/op")
	b.ReportMetric(benchExpireDue/secs, "leads/s")
	b.ReportMetric(cpu.redis/float64(b.N), "redis-cpu-s/op")
	b.ReportMetric(cpu.proc/float64(b.N), "go-cpu-s/op")
	return secs
}

// benchExpireLeads is the lead store of BenchmarkExpire.
type benchExpireLeads struct {
	rdb   *redis.Client
	store *store.Store
	insp  *asynq.Inspector
	m     *jobs.Maintenance
	round int // due rounds stored so far
}

// benchExpireLoadLeads stores the 900,000 young leads into the empty server
// behind rdb.
func benchExpireLoadLeads(b *testing.B, rdb *redis.Client) *benchExpireLeads {
	b.Helper()
	store := store.NewStore(rdb, benchExpirePrefix, clock.Real{})
	if err := store.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	m := jobs.NewMaintenance(store, tasks.NewQueue(asynq.NewClientFromRedisClient(rdb)), clock.Real{}, log,
		jobs.MaintenanceConfig{ExpireAfter: benchExpireAfter, OfferArchiveAfter: 6, AlertAfter: 72 * time.Hour})
	start, base := time.Now(), time.Now()
	if err := benchExpireCreate(store, benchExpireYoung, func(i int) leadworker.Intake { return benchExpireYoungLead(i, base) }); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d young leads through CreateBatch in %v", benchExpireYoung, time.Since(start).Round(time.Millisecond))
	benchExpireAnnounced(b, rdb)
	return &benchExpireLeads{rdb: rdb, store: store, insp: asynq.NewInspectorFromRedisClient(rdb), m: m}
}

// addDue stores the next round's 100,000 due leads and returns the round.
func (fx *benchExpireLeads) addDue(b *testing.B) int {
	b.Helper()
	fx.round++
	r, now := fx.round, time.Now()
	if err := benchExpireCreate(fx.store, benchExpireDue, func(i int) leadworker.Intake { return benchExpireDueLead(r, i, now) }); err != nil {
		b.Fatal(err)
	}
	benchExpireAnnounced(b, fx.rdb)
	return r
}

// benchExpireAnnounced empties the store's pending set (keys.go:
// <prefix>pending), which intake fills with a "notify:<id>" entry per lead
// until its announcement is done. The stored leads are hours to weeks old,
// so in production their announcements (and earlier rounds' closing
// notices) are long done; leaving 1,000,000 entries would make the expire
// script's ZADD into that set slower than it is in production.
func benchExpireAnnounced(b *testing.B, rdb *redis.Client) {
	b.Helper()
	if n, err := rdb.Del(context.Background(), benchExpirePrefix+"pending").Result(); err != nil || n != 1 {
		b.Fatalf("DEL %spending: %d, %v (has the key layout of keys.go changed?)", benchExpirePrefix, n, err)
	}
}

// mailPending returns the number of pending tasks in asynq's mail queue.
func (fx *benchExpireLeads) mailPending(b *testing.B) int {
	b.Helper()
	queues, err := fx.insp.Queues()
	if err != nil {
		b.Fatal(err)
	}
	if !slices.Contains(queues, tasks.QueueMail) {
		return 0
	}
	info, err := fx.insp.GetQueueInfo(tasks.QueueMail)
	if err != nil {
		b.Fatal(err)
	}
	return info.Pending
}

// verify checks that the run expired exactly round r's leads, erased their
// contact data and enqueued their closing notices, then empties the mail
// queue for the next iteration.
func (fx *benchExpireLeads) verify(b *testing.B, rep *jobs.Report, r, pendingBefore int, at time.Time) {
	b.Helper()
	ctx := context.Background()
	if len(rep.Changes) != benchExpireDue {
		b.Fatalf("expire changed %d leads, want %d", len(rep.Changes), benchExpireDue)
	}
	seen := make(map[string]bool, benchExpireDue)
	for _, c := range rep.Changes {
		if c.Action != "expire" || !strings.HasPrefix(c.LeadID, fmt.Sprintf("D%d-", r)) || seen[c.LeadID] {
			b.Fatalf("unexpected change %+v", c)
		}
		seen[c.LeadID] = true
	}
	if n := fx.mailPending(b) - pendingBefore; n != benchExpireDue/100 {
		b.Fatalf("mail queue grew by %d closing-notice batches, want %d (one per 100 leads)", n, benchExpireDue/100)
	}
	if n, err := fx.pendingNotices(ctx); err != nil || n != benchExpireDue {
		b.Fatalf("%d closing notices recorded as pending (err %v), want %d", n, err, benchExpireDue)
	}
	for _, i := range []int{0, 1, 2, benchExpireDue / 2, benchExpireDue - 1} {
		id := benchExpireDueID(r, i)
		l, err := fx.store.Get(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if l.Status != leadworker.StatusArchived || l.Outcome != leadworker.OutcomeExpired ||
			l.Customer.Name != "" || l.Customer.Email != "" || l.Customer.Phone != "" || l.Customer.Company == "" {
			b.Fatalf("lead %s after expiry: status %s, outcome %s, customer %+v", id, l.Status, l.Outcome, l.Customer)
		}
	}
	if l, err := fx.store.Get(ctx, "Y-0000000"); err != nil || l.Status != leadworker.StatusReceived || l.Customer.Email == "" {
		b.Fatalf("young lead after expiry: %+v, %v", l, err)
	}
	if dry, err := fx.m.Run(ctx, tasks.JobExpire, at, true); err != nil || len(dry.Changes) != 0 {
		b.Fatalf("after the run a dry run still finds %d due leads (err %v)", len(dry.Changes), err)
	}
	if _, err := fx.insp.DeleteAllPendingTasks(tasks.QueueMail); err != nil {
		b.Fatal(err)
	}
}

// pendingNotices counts the closing notices recorded as work to do: the
// leads of every pending batch (keys.go: <prefix>closing-batch:<name>).
func (fx *benchExpireLeads) pendingNotices(ctx context.Context) (int64, error) {
	members, err := fx.rdb.ZRange(ctx, "bx:pending", 0, -1).Result()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, m := range members {
		if !strings.HasPrefix(m, "closing-batch:") {
			continue
		}
		ids, err := fx.rdb.Get(ctx, "bx:"+m).Result()
		if err != nil {
			return 0, fmt.Errorf("pending %s: %w", m, err)
		}
		n += int64(len(strings.Fields(ids)))
	}
	return n, nil
}

func (c benchExpireCPU) add(d benchExpireCPU) benchExpireCPU {
	return benchExpireCPU{redis: c.redis + d.redis, proc: c.proc + d.proc}
}

// benchExpireBareScript is the baseline's whole expiry of one lead: check
// the status and creation time, archive, erase the contact fields, leave the
// index. 0: expired; 1: not received (left the index); 2: not due.
//
// KEYS: lead, index. ARGV: id, cutoff ms.
var benchExpireBareScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'st') ~= 'received' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
if tonumber(redis.call('HGET', KEYS[1], 'at')) > tonumber(ARGV[2]) then return 2 end
redis.call('HSET', KEYS[1], 'st', 'archived', 'oc', 'expired')
redis.call('HDEL', KEYS[1], 'name', 'email', 'phone')
redis.call('ZREM', KEYS[2], ARGV[1])
return 0
`)

// benchExpireBareFields is a lead as the baseline stores it: about the
// fields and sizes of the lead store's hash.
func benchExpireBareFields(in leadworker.Intake) []any {
	inf := ""
	if in.IsInformational() {
		inf = "1"
	}
	cr := ""
	if in.ContactRequested {
		cr = "1"
	}
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	all := []string{
		"id", in.ID, "pid", in.PartnerID, "loc", in.Location, "kind", string(in.Kind), "type", string(in.LeadType),
		"cta", string(in.CallToAction), "src", in.Source, "co", in.Customer.Company, "name", in.Customer.Name,
		"email", in.Customer.Email, "phone", in.Customer.Phone, "cc", in.Customer.Country, "need", in.Need,
		"q", in.Quality, "ev", in.EmailValidity, "pv", in.PhoneValidity, "cr", cr,
		"at", strconv.FormatInt(in.CreatedAt.UnixMilli(), 10), "st", "received", "al", "none", "inf", inf,
		"upd", now, "bh", "0123456789abcdef",
	}
	if in.Originator != nil {
		all = append(all, "orig", fmt.Sprintf(`{"name":%q,"email":%q}`, in.Originator.Name, in.Originator.Email))
	}
	out := make([]any, 0, len(all))
	for i := 0; i < len(all); i += 2 {
		if all[i+1] != "" {
			out = append(out, all[i], all[i+1])
		}
	}
	return out
}

// benchExpireBareStore writes n leads as bare hashes, the expirable ones
// also into the index, one pipeline per batch.
func benchExpireBareStore(rdb *redis.Client, n int, lead func(i int) leadworker.Intake) error {
	ctx := context.Background()
	return benchExpireParallel(n, func(start, end int) error {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := start; i < end; i++ {
				in := lead(i)
				p.HSet(ctx, benchExpireBareKey+in.ID, benchExpireBareFields(in)...)
				if !in.IsInformational() {
					p.ZAdd(ctx, benchExpireBareIdx, redis.Z{Score: float64(in.CreatedAt.UnixMilli()), Member: in.ID})
				}
			}
			return nil
		})
		return err
	})
}

// benchExpireBare is the baseline's data set in its own redis-server.
type benchExpireBare struct {
	rdb   *redis.Client
	round int
}

func benchExpireLoadBare(b *testing.B, rdb *redis.Client) *benchExpireBare {
	b.Helper()
	if err := benchExpireBareScript.Load(context.Background(), rdb).Err(); err != nil {
		b.Fatal(err)
	}
	start, base := time.Now(), time.Now()
	if err := benchExpireBareStore(rdb, benchExpireYoung, func(i int) leadworker.Intake { return benchExpireYoungLead(i, base) }); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d young bare leads in %v", benchExpireYoung, time.Since(start).Round(time.Millisecond))
	return &benchExpireBare{rdb: rdb}
}

func (fx *benchExpireBare) addDue(b *testing.B) int {
	b.Helper()
	fx.round++
	r, now := fx.round, time.Now()
	if err := benchExpireBareStore(fx.rdb, benchExpireDue, func(i int) leadworker.Intake { return benchExpireDueLead(r, i, now) }); err != nil {
		b.Fatal(err)
	}
	return r
}

// benchExpireBareSweep expires every lead in the index due by cutoff:
// pages of 1,000 ids by score, one pipeline of EVALSHA per page.
func benchExpireBareSweep(ctx context.Context, rdb *redis.Client, cutoff time.Time) (int, error) {
	stop, changed := strconv.FormatInt(cutoff.UnixMilli(), 10), 0
	for offset := 0; ; {
		ids, err := rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: benchExpireBareIdx, ByScore: true,
			Start: "-inf", Stop: stop, Offset: int64(offset), Count: 1000}).Result()
		if err != nil || len(ids) == 0 {
			return changed, err
		}
		cmds := make([]*redis.Cmd, len(ids))
		if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = benchExpireBareScript.EvalSha(ctx, p, []string{benchExpireBareKey + id, benchExpireBareIdx}, id, stop)
			}
			return nil
		}); err != nil {
			return changed, err
		}
		for _, cmd := range cmds {
			switch cmd.Val() {
			case int64(0):
				changed++
			case int64(2):
				offset++
			}
		}
	}
}

// BenchmarkBareSweep is the baseline for BenchmarkExpire/due-100k: a bare
// go-redis sweep of an equivalent data set (1,000,000 received lead hashes
// and a sorted-set index by creation time, 100,000 due) that archives the
// due leads and erases their contact fields, without enqueueing anything.
func BenchmarkBareSweep(b *testing.B) {
	rdb := testenv.StartRedis(b, benchExpireRedisArgs...).Client()
	var fx *benchExpireBare
	b.Run("due-100k", func(b *testing.B) {
		b.StopTimer()
		if fx == nil {
			fx = benchExpireLoadBare(b, rdb)
		}
		ctx := context.Background()
		var cpu benchExpireCPU
		b.ResetTimer()
		for range b.N {
			r := fx.addDue(b)
			benchExpireResetStats(b, rdb)
			before, cutoff := benchExpireCPUNow(b, rdb), time.Now().Add(-benchExpireAfter)
			b.StartTimer()
			n, err := benchExpireBareSweep(ctx, rdb, cutoff)
			b.StopTimer()
			cpu = benchExpireCPUNow(b, rdb).since(before).add(cpu)
			if err != nil {
				b.Fatal(err)
			}
			if n != benchExpireDue {
				b.Fatalf("bare sweep expired %d leads, want %d", n, benchExpireDue)
			}
			h, err := rdb.HGetAll(ctx, benchExpireBareKey+benchExpireDueID(r, benchExpireDue/2)).Result()
			if err != nil || h["st"] != "archived" || h["email"] != "" || h["co"] == "" {
				b.Fatalf("bare lead after the sweep: %v, %v", h, err)
			}
			if b.N == 1 {
				b.Logf("round %d: Redis commands:%s", r, benchExpireCommandStats(b, rdb))
			}
		}
		benchExpireBareSecs = append(benchExpireBareSecs, benchExpireReport(b, cpu))
	})
}

// BenchmarkExpire measures the expire maintenance job on a store of
// 1,000,000 received leads, with 100,000 of them due (due-100k; target
// ≤ 3 s) and with none due (due-0; target ≤ 10 ms). See the comment at the
// top of this file for how to run it.
func BenchmarkExpire(b *testing.B) {
	rdb := testenv.StartRedis(b, benchExpireRedisArgs...).Client()
	var (
		once sync.Once
		fx   *benchExpireLeads
	)
	fixture := func(b *testing.B) *benchExpireLeads {
		b.Helper()
		once.Do(func() { fx = benchExpireLoadLeads(b, rdb) })
		if fx == nil {
			b.Fatal("loading the lead store failed in an earlier sub-benchmark")
		}
		return fx
	}
	b.Run("due-100k", func(b *testing.B) {
		b.StopTimer()
		fx := fixture(b)
		ctx := context.Background()
		var cpu benchExpireCPU
		b.ResetTimer()
		for range b.N {
			r := fx.addDue(b)
			pending := fx.mailPending(b)
			benchExpireResetStats(b, fx.rdb)
			before, at := benchExpireCPUNow(b, fx.rdb), time.Now()
			b.StartTimer()
			rep, err := fx.m.Run(ctx, tasks.JobExpire, at, false)
			b.StopTimer()
			cpu = benchExpireCPUNow(b, fx.rdb).since(before).add(cpu)
			if err != nil {
				b.Fatal(err)
			}
			stats := benchExpireCommandStats(b, fx.rdb)
			fx.verify(b, rep, r, pending, at)
			if b.N == 1 {
				b.Logf("round %d: expired %d leads, %d closing notices enqueued in %v; Redis commands:%s",
					r, len(rep.Changes), benchExpireDue, rep.Duration.Round(time.Millisecond), stats)
			}
		}
		secs := benchExpireReport(b, cpu)
		b.ReportMetric(benchExpireDue, "expired/op")
		if len(benchExpireBareSecs) > 0 {
			var sum float64
			for _, s := range benchExpireBareSecs {
				sum += s
			}
			b.ReportMetric(secs/(sum/float64(len(benchExpireBareSecs))), "x-bare")
		}
	})
	b.Run("due-0", func(b *testing.B) {
		b.StopTimer()
		fx := fixture(b)
		ctx, at := context.Background(), time.Now()
		b.ResetTimer()
		b.StartTimer()
		for range b.N {
			rep, err := fx.m.Run(ctx, tasks.JobExpire, at, false)
			if err != nil || len(rep.Changes) != 0 {
				b.Fatalf("expire with nothing due changed %d leads (err %v)", len(rep.Changes), err)
			}
		}
		b.StopTimer()
		b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/op")
	})
}

// BenchmarkBareScan shows the cost of finding due leads by SCAN over every
// key of a 1,000,000-lead store (the bare data set, 100,000 due): keys-1M
// only lists the keys, keys+check-1M also reads st/at/inf of every lead
// (HMGET pipelined per page), as a scan-based sweep must. Both cost the
// same whatever is due.
func BenchmarkBareScan(b *testing.B) {
	rdb := testenv.StartRedis(b, benchExpireRedisArgs...).Client()
	var fx *benchExpireBare
	fixture := func(b *testing.B) *benchExpireBare {
		if fx == nil {
			fx = benchExpireLoadBare(b, rdb)
			fx.addDue(b)
		}
		return fx
	}
	want := int64(benchExpireYoung + benchExpireDue + 1) // the lead hashes and the index
	for _, check := range []bool{false, true} {
		name := "keys-1M"
		if check {
			name = "keys+check-1M"
		}
		b.Run(name, func(b *testing.B) {
			b.StopTimer()
			fixture(b)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				cutoff := time.Now().Add(-benchExpireAfter).UnixMilli()
				b.StartTimer()
				keys, due, err := benchExpireScan(ctx, rdb, check, cutoff)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if keys < want || (check && due != benchExpireDue) {
					b.Fatalf("SCAN saw %d keys (want %d), %d due (want %d)", keys, want, due, benchExpireDue)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
			b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

// benchExpireScan walks every key with SCAN COUNT 1000 and, if check, reads
// each lead's st, at and inf and counts the due ones.
func benchExpireScan(ctx context.Context, rdb *redis.Client, check bool, cutoff int64) (keys int64, due int, err error) {
	var cursor uint64
	for {
		var page []string
		page, cursor, err = rdb.Scan(ctx, cursor, "", 1000).Result()
		if err != nil {
			return keys, due, err
		}
		keys += int64(len(page))
		if check {
			cmds := make([]*redis.SliceCmd, 0, len(page))
			if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range page {
					if strings.HasPrefix(k, benchExpireBareKey) {
						cmds = append(cmds, p.HMGet(ctx, k, "st", "at", "inf"))
					}
				}
				return nil
			}); err != nil {
				return keys, due, err
			}
			for _, cmd := range cmds {
				v := cmd.Val()
				at, _ := v[1].(string)
				if ms, err := strconv.ParseInt(at, 10, 64); err == nil && v[0] == "received" && v[2] == nil && ms <= cutoff {
					due++
				}
			}
		}
		if cursor == 0 {
			return keys, due, nil
		}
	}
}
