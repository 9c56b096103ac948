//go:build chaos

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// partner is a partner's contacts: a default contact and, optionally, one
// contact per location.
type partner struct {
	id        string
	email     string
	tz        string
	locations map[string]string // location → contact email
}

// spec is a lead to post.
type spec struct {
	id       string
	partner  string
	location string
	created  time.Time
	contact  bool // contact_requested
}

// body is the lead's intake JSON: a customer inquiry about a business
// profile, which needs an answer (so it is announced, reminded and can
// expire) and names a customer to send the closing notice to.
func (s spec) body() map[string]any {
	b := map[string]any{
		"id": s.id, "partner_id": s.partner,
		"kind": "customer_inquiry", "lead_type": "profile", "source": "appsource",
		"customer": map[string]any{"company": "Contoso " + s.id, "name": "Customer " + s.id,
			"email": "c-" + strings.ToLower(s.id) + "@customers.chaos.example", "country": "US"},
		"need": "Move the order system to the cloud", "quality": "high", "email_validity": "valid",
		"contact_requested": s.contact,
		"created_at":        s.created.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
	}
	if s.location != "" {
		b["location"] = s.location
	}
	return b
}

// intake records what the API answered: which leads were accepted, and
// every answer counted per lead and attempt.
type intake struct {
	mu        sync.Mutex
	accepted  map[string]bool
	items     map[int]int             // per lead and attempt: status → count
	refused   map[int]map[string]bool // status (not 2xx) → the leads that got it
	requests  map[int]int             // per request answered other than 200: status → count
	transport int                     // requests that got no answer
}

func newIntake() *intake {
	return &intake{accepted: map[string]bool{}, items: map[int]int{}, refused: map[int]map[string]bool{}, requests: map[int]int{}}
}

// ids returns the accepted leads, sorted.
func (in *intake) ids() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]string, 0, len(in.accepted))
	for id := range in.accepted {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// count returns how many leads were accepted.
func (in *intake) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.accepted)
}

// item returns how many lead answers had status code.
func (in *intake) item(code int) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.items[code]
}

// request returns how many requests were answered code as a whole.
func (in *intake) request(code int) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.requests[code]
}

// summary describes every answer that was not a 2xx.
func (in *intake) summary() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(in.items)) {
		switch {
		case code == http.StatusOK:
			parts = append(parts, fmt.Sprintf("%d leads sent again answered 200 (already stored)", in.items[code]))
		case code/100 != 2:
			parts = append(parts, fmt.Sprintf("%d answers %d for %d distinct leads", in.items[code], code, len(in.refused[code])))
		}
	}
	for _, code := range slices.Sorted(maps.Keys(in.requests)) {
		parts = append(parts, fmt.Sprintf("%d requests answered %d", in.requests[code], code))
	}
	if in.transport > 0 {
		parts = append(parts, fmt.Sprintf("%d requests without an answer", in.transport))
	}
	if len(parts) == 0 {
		return "every lead accepted at the first attempt"
	}
	return strings.Join(parts, ", ")
}

// post sends batch to replica i once. It returns the leads that were not
// accepted and should be sent again (no answer, 5xx); err reports an
// answer that retrying cannot fix (a 4xx), which is a harness bug.
func (r *rig) post(ctx context.Context, in *intake, i int, batch []spec) ([]spec, error) {
	bodies := make([]map[string]any, len(batch))
	for k, s := range batch {
		bodies[k] = s.body()
	}
	code, raw, err := call(ctx, r.hc, "POST", r.base(i)+"/v1/leads:batch", apiToken, map[string]any{"leads": bodies})
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case err != nil:
		in.transport++
		return batch, nil
	case code/100 == 5:
		in.requests[code]++
		return batch, nil
	case code != http.StatusOK:
		in.requests[code]++
		return nil, fmt.Errorf("POST /v1/leads:batch: %d %.500s", code, raw)
	}
	var res struct {
		Results []struct {
			Index  int             `json:"index"`
			Status int             `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || len(res.Results) != len(batch) {
		return nil, fmt.Errorf("POST /v1/leads:batch: %d results for %d leads (%v): %.500s", len(res.Results), len(batch), err, raw)
	}
	var rest []spec
	for k, item := range res.Results {
		in.items[item.Status]++
		switch {
		case item.Status/100 == 2:
			in.accepted[batch[k].id] = true
		case item.Status/100 == 5:
			if in.refused[item.Status] == nil {
				in.refused[item.Status] = map[string]bool{}
			}
			in.refused[item.Status][batch[k].id] = true
			rest = append(rest, batch[k])
		default:
			return nil, fmt.Errorf("lead %s answered %d: %s", batch[k].id, item.Status, item.Error)
		}
	}
	return rest, nil
}

// deliver posts batch, starting with replica i and alternating between the
// replicas, until every lead is accepted or ctx ends; as a client of the
// API does, it sends again exactly what was not accepted.
func (r *rig) deliver(ctx context.Context, in *intake, i int, batch []spec) error {
	for attempt := 0; ; attempt++ {
		rest, err := r.post(ctx, in, i+attempt, batch)
		if err != nil || len(rest) == 0 {
			return err
		}
		batch = rest
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d leads still not accepted after %d attempts, starting with %s: %w", len(batch), attempt+1, batch[0].id, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// load posts batches from workers goroutines, worker w taking batches w,
// w+workers, …, batch b through replica b first (so the batches alternate
// between the replicas), each worker pausing pace between its batches. The returned channel yields nil once every lead is
// accepted, or the first error.
func (r *rig) load(ctx context.Context, in *intake, batches [][]spec, workers int, pace time.Duration) <-chan error {
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := w; b < len(batches); b += workers {
				if err := r.deliver(ctx, in, b, batches[b]); err != nil {
					errs <- fmt.Errorf("batch %d: %w", b, err)
					return
				}
				time.Sleep(pace)
			}
		}()
	}
	done := make(chan error, 1)
	go func() {
		wg.Wait()
		close(errs)
		done <- <-errs // nil when the channel is empty
	}()
	return done
}

// chunk splits leads into batches of at most n.
func chunk(leads []spec, n int) [][]spec {
	var out [][]spec
	for len(leads) > 0 {
		k := min(n, len(leads))
		out = append(out, leads[:k])
		leads = leads[k:]
	}
	return out
}

// manyPartners returns n partners P-<tag>-00…, each announced to its own
// default contact, in a few time zones.
func manyPartners(tag string, n int) []partner {
	zones := []string{"UTC", "Asia/Tokyo", "America/New_York", "Europe/Berlin"}
	out := make([]partner, n)
	for i := range out {
		id := fmt.Sprintf("P-%s-%02d", tag, i)
		out[i] = partner{id: id, email: strings.ToLower(id) + "@partners.chaos.example", tz: zones[i%len(zones)]}
	}
	return out
}

// pastDayLeads returns n leads spread round robin over partners, created
// through the daytime of the day before yesterday (UTC): whatever the
// partner's time zone, that day's digest is already due, so leads past the
// threshold go out in a digest at once.
func pastDayLeads(tag string, n int, partners []partner) []spec {
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2).Add(6 * time.Hour)
	step := 12 * time.Hour / time.Duration(n)
	out := make([]spec, n)
	for i := range out {
		out[i] = spec{id: fmt.Sprintf("%s-%05d", tag, i), partner: partners[i%len(partners)].id, created: day.Add(time.Duration(i) * step)}
	}
	return out
}
