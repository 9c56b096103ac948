package worker_test

// Storage baseline for BenchmarkIntakeBatch: the lead hashes alone, written
// by a bare go-redis pipeline. Run it next to the intake benchmark so both
// share the machine's conditions:
//
//	go test -run '^$' -bench '^(BenchmarkIntakeBatch|BenchmarkBareEnqueue|BenchmarkBarePipelineHashes)$' -benchtime 60000x ./worker

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkBarePipelineHashes is the storage baseline for intake: the hash
// of every lead exactly as BenchmarkBareStorePlusEnqueue writes it
// (benchHashFields of the same realistic leads), one HSET per lead, sent as
// one go-redis pipeline per page of benchBatchSize leads (the size of a
// POST /v1/leads:batch body) from 16 goroutines, as the other baselines.
// No validation, indexes, Lua, queue or HTTP. One op is one lead.
//
// Afterwards the server must hold exactly b.N keys, one hash per lead.
func BenchmarkBarePipelineHashes(b *testing.B) {
	client := benchRedis(b)
	run, created := benchRuns.Add(1), time.Now().Add(-time.Hour).Truncate(time.Second)
	pages := (b.N + benchBatchSize - 1) / benchBatchSize
	ctx, cpu := context.Background(), benchRedisCPU(b, client)
	b.ResetTimer()
	err := benchParallel(benchBareWorkers, pages, func(page int) error {
		return benchPipelineHashes(ctx, client, run, created, page*benchBatchSize, min((page+1)*benchBatchSize, b.N))
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	benchReportRedisCPU(b, client, cpu)
	benchCheckKeys(b, client, b.N)
	benchRate(b, b.N, "leads/s")
}

// benchPipelineHashes writes the hashes of leads [start, end) of run in one
// pipeline.
func benchPipelineHashes(ctx context.Context, client *redis.Client, run int64, created time.Time, start, end int) error {
	_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
		now := time.Now()
		for i := start; i < end; i++ {
			in := benchIntake(run, i, created)
			p.HSet(ctx, "bench:lead:"+in.ID, benchHashFields(in, now)...)
		}
		return nil
	})
	return err
}

// benchCheckKeys fails b unless the server holds want keys.
func benchCheckKeys(b *testing.B, client *redis.Client, want int) {
	b.Helper()
	n, err := client.DBSize(context.Background()).Result()
	if err != nil {
		b.Fatal(err)
	}
	if n != int64(want) {
		b.Fatalf("redis holds %d keys, want %d (one hash per lead)", n, want)
	}
}
