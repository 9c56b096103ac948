package worker_test

// Throughput benchmarks for lead intake, each on its own redis-server.
//
// Targets (the intake-throughput issue, measured on a 2-core machine):
//   - bare asynq enqueue:                ≈ 40,000 tasks/s  (BenchmarkBareEnqueue)
//   - bare HSET + enqueue per lead:      ≈ 24,000 leads/s  (BenchmarkBareStorePlusEnqueue)
//   - POST /v1/leads:batch:              ≥ 10,000 leads/s and ≥ 0.25× bare enqueue
//     (BenchmarkIntakeBatch)
//
// One benchmark op is one lead (or task), so pick N with -benchtime, e.g.
//
//	go test -run '^$' -bench 'IntakeBatch|BareEnqueue|BareStorePlusEnqueue' -benchtime 60000x ./worker
//
// Each also reports redis-cpu-%: how busy the redis-server was (percent of
// one core) while timed.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/samples"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/leadworker/leadworker/worker/httpapi"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
)

const (
	benchBatchSize    = store.MaxBatch // leads per POST /v1/leads:batch
	benchHTTPClients  = 4              // concurrent batch posters
	benchBareWorkers  = 16             // concurrent goroutines of the baselines
	benchPartnerCount = 50             // partners the leads are spread over
)

// benchRuns makes lead ids unique across every run of a benchmark function.
var benchRuns atomic.Int64

// benchCustomers and benchNeeds are the shared sample texts.
var (
	benchCustomers = samples.Customers
	benchNeeds     = samples.Needs
	benchOfferCTAs = []leadworker.CallToAction{leadworker.CTAContactMe, leadworker.CTAGetItNow, leadworker.CTAContactMe, leadworker.CTATestDrive}
	benchSources   = []string{"appsource", "azure_marketplace", "azure_portal"}
	benchKinds     = []leadworker.Kind{leadworker.KindCustomerInquiry, leadworker.KindMarketingQualified, leadworker.KindSalesQualified}
)

// benchIntake returns the i-th realistic lead of run: ~14 fields, customer
// company/name/email/phone/country, fixture-like need text, a mix of
// profile and offer leads, some with an originator.
func benchIntake(run int64, i int, created time.Time) leadworker.Intake {
	c := benchCustomers[i%len(benchCustomers)]
	c.Email = fmt.Sprintf("buyer%d@customer-%s.example", i, c.Country)
	c.Phone = fmt.Sprintf("+00-%04d-%04d", i/10000%10000, i%10000)
	in := leadworker.Intake{
		ID: fmt.Sprintf("L-%d-%07d", run, i), PartnerID: fmt.Sprintf("P-%03d", i%benchPartnerCount),
		Kind: benchKinds[i%len(benchKinds)], LeadType: leadworker.LeadTypeProfile, Source: "solution_provider",
		Customer: c, Need: benchNeeds[i%len(benchNeeds)], Quality: "high",
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

// benchRedis starts a redis-server for b and returns a client on it.
func benchRedis(b *testing.B) *redis.Client {
	b.Helper()
	return testenv.StartRedis(b).Client()
}

// benchAPIServer serves the API, as the daemon wires it, on client. It logs
// at info level, as the daemon does, to io.Discard.
func benchAPIServer(b *testing.B, client *redis.Client) *httptest.Server {
	b.Helper()
	store := store.NewStore(client, "bench:", clock.Real{})
	if err := store.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	api := httpapi.New(httpapi.Deps{Store: store, Queue: tasks.NewQueue(asynq.NewClientFromRedisClient(client)),
		Inspector: asynq.NewInspectorFromRedisClient(client), Log: log, Clock: clock.Real{}})
	srv := httptest.NewServer(api)
	b.Cleanup(srv.Close)
	return srv
}

// benchBatchBodies encodes n leads as POST /v1/leads:batch bodies.
func benchBatchBodies(b *testing.B, n int) [][]byte {
	b.Helper()
	run, created := benchRuns.Add(1), time.Now().Add(-time.Hour).Truncate(time.Second)
	var bodies [][]byte
	for start := 0; start < n; start += benchBatchSize {
		leads := make([]leadworker.Intake, 0, benchBatchSize)
		for i := start; i < min(start+benchBatchSize, n); i++ {
			leads = append(leads, benchIntake(run, i, created))
		}
		body, err := json.Marshal(map[string][]leadworker.Intake{"leads": leads})
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	return bodies
}

// benchPost posts one batch and returns the response body.
func benchPost(hc *http.Client, url string, body []byte) ([]byte, error) {
	resp, err := hc.Post(url+"/v1/leads:batch", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("batch answered %d: %.300s", resp.StatusCode, out)
	}
	return out, err
}

// benchCheckBatch fails b unless every item of a batch answer is a 201.
func benchCheckBatch(b *testing.B, answer []byte, want int) {
	b.Helper()
	var got struct {
		Results []struct {
			Index  int             `json:"index"`
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(answer, &got); err != nil {
		b.Fatalf("decode batch answer: %v", err)
	}
	if len(got.Results) != want {
		b.Fatalf("batch answer has %d results, want %d", len(got.Results), want)
	}
	for _, r := range got.Results {
		if r.Status != http.StatusCreated {
			b.Fatalf("item %d answered %d, want 201: %s", r.Index, r.Status, r.Error)
		}
	}
}

// benchCheckQueued fails b unless the notify queue holds want tasks: the API
// only logs a failed announcement, so a lost enqueue would go unseen.
func benchCheckQueued(b *testing.B, client *redis.Client, want int) {
	b.Helper()
	info, err := asynq.NewInspectorFromRedisClient(client).GetQueueInfo(tasks.QueueNotify)
	if err != nil {
		b.Fatal(err)
	}
	if info.Size != want {
		b.Fatalf("notify queue holds %d tasks, want %d", info.Size, want)
	}
}

// benchAnnounceTasks returns how many announcement tasks the batch intake
// of n leads enqueues: one per tasks.AnnounceBatch leads of each batch.
func benchAnnounceTasks(n int) int {
	count := 0
	for start := 0; start < n; start += benchBatchSize {
		count += (min(benchBatchSize, n-start) + tasks.AnnounceBatch - 1) / tasks.AnnounceBatch
	}
	return count
}

// benchParallel runs work(i) for i in [0, n) on workers goroutines and
// returns the first error.
func benchParallel(workers, n int, work func(i int) error) error {
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := work(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// benchRate reports n items per second of the timed part of b as unit.
func benchRate(b *testing.B, n int, unit string) {
	b.Helper()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, unit)
	}
}

// benchRedisCPU returns the CPU seconds the redis-server has used so far.
func benchRedisCPU(b *testing.B, c *redis.Client) float64 {
	b.Helper()
	info, err := c.InfoMap(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	user, _ := strconv.ParseFloat(info["CPU"]["used_cpu_user"], 64)
	sys, _ := strconv.ParseFloat(info["CPU"]["used_cpu_sys"], 64)
	return user + sys
}

// benchReportRedisCPU reports how busy the redis-server was during the timed
// part of b, in percent of one core, given its CPU seconds at the start.
func benchReportRedisCPU(b *testing.B, c *redis.Client, start float64) {
	b.Helper()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(100*(benchRedisCPU(b, c)-start)/s, "redis-cpu-%")
	}
}

// BenchmarkIntakeBatch measures leads/s through POST /v1/leads:batch: the
// real API (validation, Lua intake script, announcement enqueue, logging at
// info to io.Discard) behind httptest, fed batches of 1,000 realistic leads
// by 4 concurrent clients. One op is one lead. Request bodies are encoded,
// and answers checked (every item must be 201, every lead's announcement
// queued), outside the timer.
//
// Target: ≥ 10,000 leads/s on 2 cores, and ≥ 0.25× BenchmarkBareEnqueue.
func BenchmarkIntakeBatch(b *testing.B) {
	client := benchRedis(b)
	srv := benchAPIServer(b, client)
	tr := &http.Transport{MaxIdleConnsPerHost: benchHTTPClients}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}
	bodies := benchBatchBodies(b, b.N)
	answers := make([][]byte, len(bodies))
	cpu := benchRedisCPU(b, client)
	b.ResetTimer()
	err := benchParallel(benchHTTPClients, len(bodies), func(i int) (err error) {
		answers[i], err = benchPost(hc, srv.URL, bodies[i])
		return err
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	benchReportRedisCPU(b, client, cpu)
	for i, a := range answers {
		benchCheckBatch(b, a, min(benchBatchSize, b.N-i*benchBatchSize))
	}
	benchCheckQueued(b, client, benchAnnounceTasks(b.N))
	benchRate(b, b.N, "leads/s")
}

// benchNotifyTask is an announcement task as tasks.Queue.Notify builds it.
func benchNotifyTask(id string) (*asynq.Task, []asynq.Option) {
	payload := []byte(`{"lead_id":"` + id + `"}`)
	return asynq.NewTask(tasks.TypeNotify, payload), []asynq.Option{asynq.TaskID("notify:" + id),
		asynq.Queue(tasks.QueueNotify), asynq.MaxRetry(20), asynq.Timeout(2 * time.Minute)}
}

// BenchmarkBareEnqueue is the baseline for intake: b.N small announcement
// tasks (the shape tasks.Queue.Notify enqueues) through an asynq client on
// the same go-redis client, from 16 goroutines. One op is one task.
//
// Reference: ≈ 40,000 tasks/s on 2 cores.
func BenchmarkBareEnqueue(b *testing.B) {
	client := benchRedis(b)
	aq := asynq.NewClientFromRedisClient(client)
	run, ctx, cpu := benchRuns.Add(1), context.Background(), benchRedisCPU(b, client)
	b.ResetTimer()
	err := benchParallel(benchBareWorkers, b.N, func(i int) error {
		task, opts := benchNotifyTask(fmt.Sprintf("L-%d-%07d", run, i))
		_, err := aq.EnqueueContext(ctx, task, opts...)
		return err
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	benchReportRedisCPU(b, client, cpu)
	benchRate(b, b.N, "tasks/s")
}

// benchHashFields returns a lead's hash as the store writes it (the short
// field names of jobs/hash.go, empty values left out).
func benchHashFields(in leadworker.Intake, now time.Time) []any {
	at := fmt.Sprint(in.CreatedAt.UnixMilli())
	all := []string{"bh", "0123456789abcdef", "id", in.ID, "pid", in.PartnerID, "loc", in.Location,
		"kind", string(in.Kind), "type", string(in.LeadType), "cta", string(in.CallToAction),
		"src", in.Source, "co", in.Customer.Company, "name", in.Customer.Name, "email", in.Customer.Email,
		"phone", in.Customer.Phone, "cc", in.Customer.Country, "need", in.Need, "q", in.Quality,
		"ev", in.EmailValidity, "pv", in.PhoneValidity, "at", at, "st", "received", "al", "none",
		"upd", fmt.Sprint(now.UnixMilli())}
	if in.Originator != nil {
		all = append(all, "orig", `{"name":"`+in.Originator.Name+`","email":"`+in.Originator.Email+`"}`)
	}
	out := make([]any, 0, len(all))
	for i := 0; i < len(all); i += 2 {
		if all[i+1] != "" {
			out = append(out, all[i], all[i+1])
		}
	}
	return out
}

// BenchmarkBareStorePlusEnqueue is the baseline for intake with storage:
// per lead one go-redis pipeline holding an HSET of the lead's hash fields,
// then one asynq enqueue of its announcement, from 16 goroutines. No
// validation, indexes, Lua or HTTP. One op is one lead.
//
// Reference: ≈ 24,000 leads/s on 2 cores.
func BenchmarkBareStorePlusEnqueue(b *testing.B) {
	client := benchRedis(b)
	aq := asynq.NewClientFromRedisClient(client)
	run, created := benchRuns.Add(1), time.Now().Add(-time.Hour).Truncate(time.Second)
	ctx, cpu := context.Background(), benchRedisCPU(b, client)
	b.ResetTimer()
	err := benchParallel(benchBareWorkers, b.N, func(i int) error {
		in := benchIntake(run, i, created)
		if _, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
			return p.HSet(ctx, "bench:lead:"+in.ID, benchHashFields(in, time.Now())...).Err()
		}); err != nil {
			return err
		}
		task, opts := benchNotifyTask(in.ID)
		_, err := aq.EnqueueContext(ctx, task, opts...)
		return err
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	benchReportRedisCPU(b, client, cpu)
	benchRate(b, b.N, "leads/s")
}
