//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// testRedisRestart posts 3,000 leads while redis-server (AOF on,
// appendfsync everysec) is stopped with SIGTERM for 8 s and started again on
// the same port with the same data. While it is down intake must answer
// 503, never 500; the replicas must recover by themselves, without a
// restart; every lead that got a 2xx must be stored and announced exactly
// once. The client sends again what got a 503, as the API asks.
func testRedisRestart(t *testing.T, bin string) {
	const (
		leads     = 3000
		down      = 8 * time.Second
		threshold = 100
	)
	r := newRig(t, bin, map[string]string{"LEADWORKER_DIGEST_THRESHOLD": fmt.Sprint(threshold)})
	partners := manyPartners("RR", 20)
	for _, p := range partners {
		r.putPartner(t, p)
	}
	pids := []int{r.daemons[0].pid(), r.daemons[1].pid()}
	in := newIntake()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	done := r.load(ctx, in, chunk(pastDayLeads("RR", leads, partners), 100), 2, 500*time.Millisecond)

	time.Sleep(3 * time.Second)
	inBefore := in.count()
	r.redis.terminate(t)
	downAt := time.Now()
	probe := watchReady(r)
	time.Sleep(down)
	r.redis.restart(t)
	upAt := time.Now()
	notReady := probe()
	var recovered time.Duration
	for _, d := range r.daemons {
		if err := d.waitReady(r.hc, time.Minute); err != nil {
			t.Fatalf("%s did not recover after Redis came back: %v\n%s", d.name, err, r.logs())
		}
		recovered = max(recovered, time.Since(upAt))
	}
	if err := <-done; err != nil {
		t.Fatalf("load: %v\n%s", err, r.logs())
	}
	settled := r.waitSettled(t, in.ids, 4*time.Minute, recoveryStall)
	for i, d := range r.daemons {
		if d.exited() || d.pid() != pids[i] {
			t.Errorf("%s was restarted or exited; it should have recovered by itself", d.name)
		}
	}
	if n := in.item(http.StatusInternalServerError) + in.request(http.StatusInternalServerError); n > 0 {
		t.Errorf("intake answered 500 %d times while Redis was down, want 503", n)
	}
	o := r.mail.outcome(in.ids())
	records, odd := r.checkRecords(t, partners, in.ids())
	for _, s := range append(odd, r.mail.problems()...) {
		t.Errorf("%s", s)
	}
	report(t, "Redis restarted (AOF on) during load", o, 0,
		fmt.Sprintf("redis-server stopped with SIGTERM %s into the load with %d leads in, started again %s later",
			secs(downAt.Sub(start)), inBefore, secs(upAt.Sub(downAt))),
		"intake: "+in.summary(),
		fmt.Sprintf("/readyz answered 503 %d times meanwhile", notReady),
		fmt.Sprintf("both replicas ready %s after Redis was back, same processes", secs(recovered)),
		fmt.Sprintf("all announced %s after Redis was back", secs(settled.Sub(upAt))),
		fmt.Sprintf("%d individual emails, %d digests (threshold %d)", o.individual, o.digests, threshold), records)
}

// watchReady polls /readyz on every replica every 250 ms until the
// returned function is called, which returns how many answers were 503.
func watchReady(r *rig) func() int {
	n := 0 // read only once the goroutine is done
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			for _, d := range r.daemons {
				if code, _ := d.readyz(r.hc); code == http.StatusServiceUnavailable {
					n++
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return func() int {
		close(stop)
		<-done
		return n
	}
}
