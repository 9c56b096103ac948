package worker_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// The tests in this file run the daemon on the other Redis topologies the
// configuration accepts: a Cluster of three masters and a Sentinel-managed
// master that fails over.

const topoTokyo = "tokyo-sales@fabrikam-jp.example"

// topoAnnouncements waits until every lead in ids was announced to rcpt (on
// its own or in a digest, read from X-Leadworker-Leads), waits a little
// more for duplicates, and returns how often each lead was announced and
// which leads went out on their own.
func topoAnnouncements(e *env, rcpt string, ids []string, timeout time.Duration) (count map[string]int, alone []string) {
	e.t.Helper()
	read := func() (map[string]int, []string) {
		count, alone := map[string]int{}, []string(nil)
		for _, m := range mailsTo(e.t, e.smtp.Mails(), rcpt) {
			if !strings.HasSuffix(m.MessageID, ".new@portal.example>") && !strings.HasPrefix(m.MessageID, "<digest-") {
				continue // closing notices, reminders
			}
			leads := strings.Fields(m.Header.Get("X-Leadworker-Leads"))
			for _, id := range leads {
				count[id]++
			}
			if strings.HasSuffix(m.MessageID, ".new@portal.example>") {
				if len(leads) != 1 || m.MessageID != "<lead-"+leads[0]+".new@portal.example>" {
					e.t.Fatalf("new-lead email %s names leads %v", m.MessageID, leads)
				}
				alone = append(alone, leads[0])
			}
		}
		return count, alone
	}
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		count, _ := read()
		missing := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return count[id] > 0 })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("within %v, %d leads were not announced to %s: %v", timeout, len(missing), rcpt, missing)
		}
	}
	time.Sleep(700 * time.Millisecond)
	return read()
}

// topoOnce fails the test unless every lead in ids was announced exactly
// once.
func topoOnce(t *testing.T, count map[string]int, ids []string) {
	t.Helper()
	for _, id := range ids {
		if count[id] != 1 {
			t.Errorf("%s announced %d times, want once", id, count[id])
		}
	}
}

// topoMasters returns a client for each master of the cluster.
func topoMasters(t *testing.T, c *testenv.Cluster) []*redis.Client {
	var out []*redis.Client
	for _, addr := range c.Addrs {
		out = append(out, c.NodeClient(addr))
	}
	return out
}

func TestOnRedisCluster(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := testenv.StartCluster(t, 3)
	t.Logf("cluster of 3 masters ready in %v", time.Since(start).Round(time.Millisecond))
	// The daemon's scheduler runs the digests job every two seconds and no
	// other job (expire is run by hand below): a lead that joins a digest
	// while that digest's task is already sending is only picked up by the
	// next digests run, as it would be by the default once-a-minute cron.
	never := "0 0 1 1 *"
	e := startDaemon(t, c.URL(), "LEADWORKER_SCHEDULE", "on", "LEADWORKER_CRON_DIGESTS", "*/2 * * * * *", "LEADWORKER_CRON_EXPIRE", never,
		"LEADWORKER_CRON_ARCHIVE_OFFERS", never, "LEADWORKER_CRON_CONTACT_ALERTS", never, "LEADWORKER_CRON_REMINDERS", never)
	rdb := c.Client()
	ctx := context.Background()
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)

	// Fifty leads in one batch, a minute apart on a past Tokyo day: ten are
	// emailed on their own, the other forty wait for that day's digest,
	// whose time has passed.
	day := tokyoDay()
	var items, batch []string
	for i := range 50 {
		id := fmt.Sprintf("L-C-%02d", i)
		batch = append(batch, id)
		items = append(items, jsonOf(lead(id, createdAt(day.Add(time.Duration(i)*time.Minute)), func(l map[string]any) {
			if i%5 == 0 {
				l["quality"] = "low"
				l["customer"].(map[string]any)["country"] = "TW"
			}
		})))
	}
	results := e.must(200, "POST", "/v1/leads:batch", `{"leads":[`+strings.Join(items, ",")+`]}`)["results"].([]any)
	for i, r := range results {
		if st := r.(map[string]any)["status"].(float64); st != 201 {
			t.Fatalf("batch item %d: %v", i, r)
		}
	}
	count, alone := topoAnnouncements(e, topoTokyo, batch, 30*time.Second)
	topoOnce(t, count, batch)
	if len(alone) != 10 {
		t.Fatalf("%d leads emailed on their own, want 10: %v", len(alone), alone)
	}
	inDigest := slices.DeleteFunc(slices.Clone(batch), func(id string) bool { return slices.Contains(alone, id) })
	checkNotification(t, e, alone[0], "individual", topoTokyo)
	checkNotification(t, e, inDigest[0], "digest", topoTokyo)

	// Accept one, decline one: the declined lead's customer is told once.
	if got := e.must(200, "POST", "/v1/leads/L-C-01/accept", acceptBody); got["status"] != "accepted" {
		t.Fatalf("accepted lead: %v", got)
	}
	if got := e.must(200, "POST", "/v1/leads/L-C-02/decline", decline.body); got["outcome"] != "declined" {
		t.Fatalf("declined lead: %v", got)
	}
	waitFor(t, func() bool { return len(mailsTo(t, e.smtp.Mails(), "hanako@contoso.example")) > 0 })
	time.Sleep(500 * time.Millisecond)
	if notices := mailsTo(t, e.smtp.Mails(), "hanako@contoso.example"); len(notices) != 1 ||
		notices[0].MessageID != "<lead-L-C-02.closing@portal.example>" {
		t.Fatalf("closing notices to the customer: %d, want one about L-C-02", len(notices))
	}

	// Listing, filters and paging.
	var tw []string
	for i := 45; i >= 0; i -= 5 {
		tw = append(tw, fmt.Sprintf("L-C-%02d", i))
	}
	for query, want := range map[string][]string{
		"partner_id=P-100&country=TW&status=received&limit=100": tw,
		"partner_id=P-100&status=accepted":                      {"L-C-01"},
		"partner_id=P-100&outcome=declined":                     {"L-C-02"},
		"partner_id=P-100&quality=low&created_to=" + url.QueryEscape(day.Add(10*time.Minute).Format(time.RFC3339)): {"L-C-10", "L-C-05", "L-C-00"},
	} {
		if got := ids(e.must(200, "GET", "/v1/leads?"+query, nil)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", query, got, want)
		}
	}
	var paged []string
	for cursor := ""; ; {
		q := url.Values{"partner_id": {"P-100"}, "limit": {"7"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page := e.must(200, "GET", "/v1/leads?"+q.Encode(), nil)
		paged = append(paged, ids(page)...)
		if cursor = page["next_cursor"].(string); cursor == "" {
			break
		}
	}
	newestFirst := slices.Clone(batch)
	slices.Reverse(newestFirst)
	if fmt.Sprint(paged) != fmt.Sprint(newestFirst) {
		t.Fatalf("paging by 7 gave %v, want all 50 newest first", paged)
	}
	res := e.do("GET", "/v1/leads?partner_id=P-100&status=received&format=csv", nil)
	rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if res.Status != 200 || err != nil {
		t.Fatalf("CSV export: %d %v: %s", res.Status, err, res.Body)
	}
	if len(rows) != 1+48 || rows[0][0] != "LeadId" || rows[1][0] != "L-C-49" || rows[48][0] != "L-C-00" {
		t.Fatalf("CSV export: %d rows (want header + 48), starting %v", len(rows), rows[:min(2, len(rows))])
	}

	// Expiry through the maintenance tools, run 12 hours ahead: leads 13 days
	// and 18 hours old are announced now (their deadline is still ahead)
	// and expire then; a lead 13 days old does not.
	now := time.Now().UTC().Truncate(time.Second)
	var old []string
	for i := range 3 {
		id := fmt.Sprintf("L-OLD-%d", i)
		old = append(old, id)
		e.must(201, "POST", "/v1/leads", lead(id, createdAt(now.Add(-(13*24+18)*time.Hour).Add(time.Duration(i)*time.Minute)), func(l map[string]any) {
			l["customer"] = map[string]any{"company": "Old Customer KK", "name": fmt.Sprintf("Old Customer %d", i),
				"email": fmt.Sprintf("old%d@contoso.example", i), "phone": fmt.Sprintf("+81-3-1111-000%d", i), "country": "JP"}
		}))
	}
	e.must(201, "POST", "/v1/leads", lead("L-YOUNG", createdAt(now.Add(-13*24*time.Hour))))
	topoAnnouncements(e, topoTokyo, append(slices.Clone(old), "L-YOUNG"), 20*time.Second)
	pending := "{leadworker}:pending"
	waitFor(t, func() bool { return rdb.ZCard(ctx, pending).Val() == 0 })
	m := e.tools().Maintenance
	later := now.Add(12 * time.Hour)
	rep, err := m.Run(ctx, "expire", later, false)
	if err != nil {
		t.Fatalf("expire: %v", err)
	}
	if got := leadIDs(rep.Changes); fmt.Sprint(got) != fmt.Sprint(old) {
		t.Fatalf("expired %v, want %v", got, old)
	}
	if rep, err := m.Run(ctx, "expire", later, false); err != nil || len(rep.Changes) != 0 {
		t.Fatalf("second expire run: %v %v", rep, err)
	}
	expired := e.must(200, "GET", "/v1/leads/L-OLD-0", nil)
	if cust := expired["customer"].(map[string]any); expired["status"] != "archived" || expired["outcome"] != "expired" ||
		cust["name"] != nil || cust["email"] != nil || cust["company"] != "Old Customer KK" {
		t.Fatalf("expired lead: %v", expired)
	}
	if got := e.must(200, "GET", "/v1/leads/L-YOUNG", nil)["status"]; got != "received" {
		t.Fatalf("a lead 13 days old was expired: %v", got)
	}
	waitFor(t, func() bool {
		for i := range old {
			if len(mailsTo(t, e.smtp.Mails(), fmt.Sprintf("old%d@contoso.example", i))) == 0 {
				return false
			}
		}
		return true
	})
	waitFor(t, func() bool { return rdb.ZCard(ctx, pending).Val() == 0 })
	for i := range old {
		if n := len(mailsTo(t, e.smtp.Mails(), fmt.Sprintf("old%d@contoso.example", i))); n != 1 {
			t.Errorf("expired lead %d: its customer was told %d times", i, n)
		}
	}

	// The lead store's keys carry the hash tag: a lead and the index share
	// a slot, every store key lives on one master, none is untagged, and no
	// master keeps the expired leads' contact data.
	leadSlot := rdb.ClusterKeySlot(ctx, "{leadworker}:lead:L-C-00").Val()
	indexSlot := rdb.ClusterKeySlot(ctx, "{leadworker}:leads").Val()
	if leadSlot != indexSlot {
		t.Fatalf("lead key in slot %d, the leads index in slot %d", leadSlot, indexSlot)
	}
	if n := rdb.Exists(ctx, "{leadworker}:lead:L-C-00").Val(); n != 1 {
		t.Fatal("no {leadworker}:lead:L-C-00 key")
	}
	if n := rdb.ZCard(ctx, "{leadworker}:leads").Val(); n != 54 {
		t.Fatalf("the leads index holds %d members, want 54", n)
	}
	holders, asynqKeys := 0, 0
	for _, node := range topoMasters(t, c) {
		if untagged := node.Keys(ctx, "leadworker:*").Val(); len(untagged) > 0 {
			t.Errorf("%s holds untagged store keys %v", node.Options().Addr, untagged)
		}
		tagged := node.Keys(ctx, "{leadworker}:*").Val()
		if len(tagged) > 0 {
			holders++
		}
		for _, k := range tagged {
			if slot := rdb.ClusterKeySlot(ctx, k).Val(); slot != indexSlot {
				t.Errorf("%s is in slot %d, not %d", k, slot, indexSlot)
			}
		}
		asynqKeys += len(node.Keys(ctx, "asynq:*").Val())
		topoNoSecrets(t, ctx, node, "Old Customer 0", "old1@contoso.example", "+81-3-1111-0002")
	}
	if holders != 1 || asynqKeys == 0 {
		t.Fatalf("store keys on %d masters (want 1), %d asynq keys", holders, asynqKeys)
	}
}

// topoNoSecrets fails the test if any key of node holds one of secrets.
func topoNoSecrets(t *testing.T, ctx context.Context, node *redis.Client, secrets ...string) {
	t.Helper()
	for _, key := range node.Keys(ctx, "*").Val() {
		for _, v := range redisValues(ctx, node, key) {
			for _, s := range secrets {
				if strings.Contains(v, s) {
					t.Errorf("key %s still holds %q", key, s)
				}
			}
		}
	}
}

// topoAttempt is one intake request during the failover.
type topoAttempt struct {
	id     string
	status int // 0: the request itself failed
	body   string
	at     time.Time
	took   time.Duration
}

// topoPost posts a lead and never fails the test: it runs outside the test
// goroutine.
func topoPost(e *env, l map[string]any) (int, string, error) {
	raw, _ := json.Marshal(l)
	req, err := http.NewRequest("POST", e.base+"/v1/leads", bytes.NewReader(raw))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	client := &http.Client{Timeout: 20 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), nil
}

func TestOnRedisSentinelWithFailover(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := testenv.StartSentinel(t)
	t.Logf("master, replica and 3 sentinels ready in %v", time.Since(start).Round(time.Millisecond))
	// Every lead goes out on its own, so each has one Message-Id to count.
	e := startDaemon(t, s.URL(), "LEADWORKER_SCHEDULE", "off", "LEADWORKER_DIGEST_THRESHOLD", "10000")
	ctx := context.Background()
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	var before []string
	for i := range 20 {
		id := fmt.Sprintf("L-S-%02d", i)
		e.must(201, "POST", "/v1/leads", lead(id))
		before = append(before, id)
	}
	count, _ := topoAnnouncements(e, topoTokyo, before, 20*time.Second)
	topoOnce(t, count, before)
	oldMaster := s.Client(s.Master())
	waitFor(t, func() bool { return oldMaster.ZCard(ctx, "leadworker:pending").Val() == 0 })
	// Replication is asynchronous: a write the master acknowledged in its
	// last moments may not have reached the replica when it dies, and the
	// failover then loses it. That is Redis Sentinel's contract, not the
	// daemon's, so the test first lets the writes settle (the emails went
	// out, nothing is pending) and then makes sure the replica has every one
	// of them (WAIT: one replica acknowledged the whole replication stream)
	// before it kills the master.
	if n, err := oldMaster.Wait(ctx, 1, 2*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: %d replicas in sync, %v", n, err)
	}

	killedAt := time.Now()
	killed := s.StopMaster()
	var (
		mu       sync.Mutex
		attempts []topoAttempt
		stop     = make(chan struct{})
		done     = make(chan struct{})
		stopOnce sync.Once
	)
	halt := func() { stopOnce.Do(func() { close(stop) }); <-done }
	t.Cleanup(halt) // before the daemon closes
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	// Leads keep arriving through the outage from four clients; each lead
	// is sent again until it is acknowledged (201, or 200 if an earlier
	// attempt stored it). A short outage may never show: go-redis retries
	// its dials with backoff, so intake can wait out the failover instead
	// of answering 503.
	const posters = 4
	var wg sync.WaitGroup
	for p := range posters {
		wg.Go(func() {
			for i := 0; !stopped(); i++ {
				id := fmt.Sprintf("L-F%d-%03d", p, i)
				for !stopped() {
					sent := time.Now()
					status, body, err := topoPost(e, lead(id))
					if err != nil {
						body = err.Error()
					}
					mu.Lock()
					attempts = append(attempts, topoAttempt{id: id, status: status, body: body, at: time.Now(), took: time.Since(sent)})
					mu.Unlock()
					if status == 201 || status == 200 {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(done)
	}()
	newMaster := s.WaitFailover(30 * time.Second)
	failedOver := time.Now()
	t.Logf("failover from %s to %s took %v", killed, newMaster, failedOver.Sub(killedAt).Round(time.Millisecond))
	ackedSince := func(since time.Time) (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range attempts {
			if (a.status == 201 || a.status == 200) && a.at.After(since) {
				n++
			}
		}
		return n
	}
	waitFor(t, func() bool { return ackedSince(failedOver) >= 20 })
	halt()

	var after []string
	statuses := map[int]int{}
	var firstAck time.Time
	var slowest time.Duration
	for _, a := range attempts {
		statuses[a.status]++
		slowest = max(slowest, a.took)
		switch a.status {
		case 201:
			after = append(after, a.id)
			if firstAck.IsZero() {
				firstAck = a.at
			}
		case 503:
		case 200:
			// Only an attempt that answered 503 can have stored the lead
			// before: 503 promises nothing was changed.
			t.Errorf("%s: 200 on a retry, so an attempt that answered 503 had stored it: %s", a.id, a.body)
			after = append(after, a.id)
		default:
			t.Errorf("%s: intake answered %d during the failover, want 201 or 503: %s", a.id, a.status, a.body)
		}
	}
	t.Logf("intake during the failover: %v (status: count); the slowest answer took %v; first 201 %v after the kill",
		statuses, slowest.Round(time.Millisecond), firstAck.Sub(killedAt).Round(time.Millisecond))

	// Every acknowledged lead is stored and announced exactly once.
	all := append(slices.Clone(before), after...)
	for _, id := range all {
		if got := e.must(200, "GET", "/v1/leads/"+id, nil); got["id"] != id {
			t.Fatalf("GET %s: %v", id, got)
		}
	}
	for _, id := range before {
		checkNotification(t, e, id, "individual", topoTokyo)
	}
	count, _ = topoAnnouncements(e, topoTokyo, all, 30*time.Second)
	topoOnce(t, count, all)
	newClient := s.Client(newMaster)
	waitFor(t, func() bool { return newClient.ZCard(ctx, "leadworker:pending").Val() == 0 })
	if n := newClient.ZCard(ctx, "leadworker:leads").Val(); n != int64(len(all)) {
		t.Fatalf("the leads index holds %d leads, want the %d acknowledged", n, len(all))
	}

	// With the last data node gone too no failover is possible: intake and
	// reads answer 503, never 500, and say nothing was changed.
	s.StopMaster()
	for _, req := range []struct {
		method, path string
		body         any
	}{{"POST", "/v1/leads", lead("L-DOWN")}, {"GET", "/v1/leads/L-S-00", nil}, {"GET", "/v1/leads?partner_id=P-100", nil}} {
		sent := time.Now()
		res := e.do(req.method, req.path, req.body)
		if code, _, _ := res.Error(t); res.Status != 503 || code != "unavailable" {
			t.Errorf("%s %s with no master: %d %s, want 503 unavailable", req.method, req.path, res.Status, res.Body)
		}
		t.Logf("%s %s with no master answered %d in %v", req.method, req.path, res.Status, time.Since(sent).Round(time.Millisecond))
	}
}
