//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Bearer tokens the daemons accept.
const (
	apiToken   = "chaos-api-token-0123456789abcdef"
	adminToken = "chaos-admin-token-0123456789abcdef"
)

// call sends a JSON request with a bearer token and returns the status and
// body; err is set only when there was no answer.
func call(ctx context.Context, hc *http.Client, method, url, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("encode %s %s: %w", method, url, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("%s %s: read the answer: %w", method, url, err)
	}
	return res.StatusCode, raw, nil
}

// leadView is what the checks read of a lead from GET /v1/leads/{id}.
type leadView struct {
	ID           string        `json:"id"`
	Status       string        `json:"status"`
	Outcome      string        `json:"outcome"`
	Alert        string        `json:"alert"`
	Notification *notification `json:"notification"`
}

// notification is a lead's record of its announcement.
type notification struct {
	Via       string     `json:"via"`
	Recipient string     `json:"recipient"`
	SentAt    *time.Time `json:"sent_at"`
	Error     string     `json:"error"`
}

// getLead reads one lead through replica i.
func (r *rig) getLead(ctx context.Context, i int, id string) (leadView, error) {
	var l leadView
	code, body, err := call(ctx, r.hc, "GET", r.base(i)+"/v1/leads/"+url.PathEscape(id), apiToken, nil)
	if err != nil {
		return l, err
	}
	if code != http.StatusOK {
		return l, fmt.Errorf("GET /v1/leads/%s: %d %.300s", id, code, body)
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return l, fmt.Errorf("GET /v1/leads/%s: %w", id, err)
	}
	return l, nil
}

// partnerLeads lists every lead of a partner through replica i.
func (r *rig) partnerLeads(ctx context.Context, i int, partner string) ([]leadView, error) {
	var all []leadView
	cursor := ""
	for {
		q := url.Values{"partner_id": {partner}, "limit": {"500"}, "cursor": {cursor}}
		code, body, err := call(ctx, r.hc, "GET", r.base(i)+"/v1/leads?"+q.Encode(), apiToken, nil)
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("list the leads of %s: %d %.300s", partner, code, body)
		}
		var page struct {
			Items      []leadView `json:"items"`
			NextCursor string     `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("list the leads of %s: %w", partner, err)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// runJob enqueues one run of a maintenance job through replica i.
func (r *rig) runJob(ctx context.Context, i int, job string) error {
	code, body, err := call(ctx, r.hc, "POST", r.base(i)+"/admin/v1/maintenance/"+job, adminToken, nil)
	if err != nil {
		return err
	}
	if code/100 != 2 {
		return fmt.Errorf("POST /admin/v1/maintenance/%s: %d %.300s", job, code, body)
	}
	return nil
}

// queueState sums the asynq queues the notifications go through.
type queueState struct {
	busy     int // pending, active, scheduled and retrying tasks
	archived int // tasks that exhausted their retries or failed for good
	detail   string
}

// queues reads GET /admin/v1/queues through replica i.
func (r *rig) queues(ctx context.Context, i int) (queueState, error) {
	var s queueState
	code, body, err := call(ctx, r.hc, "GET", r.base(i)+"/admin/v1/queues", adminToken, nil)
	if err != nil {
		return s, err
	}
	if code != http.StatusOK {
		return s, fmt.Errorf("GET /admin/v1/queues: %d %.300s", code, body)
	}
	var got struct {
		Queues []struct {
			Queue     string `json:"queue"`
			Pending   int    `json:"pending"`
			Active    int    `json:"active"`
			Scheduled int    `json:"scheduled"`
			Retry     int    `json:"retry"`
			Archived  int    `json:"archived"`
		} `json:"queues"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return s, fmt.Errorf("GET /admin/v1/queues: %w", err)
	}
	var parts []string
	for _, q := range got.Queues {
		if q.Queue == "maintenance" {
			continue
		}
		s.busy += q.Pending + q.Active + q.Scheduled + q.Retry
		s.archived += q.Archived
		parts = append(parts, fmt.Sprintf("%s: pending %d active %d scheduled %d retry %d archived %d",
			q.Queue, q.Pending, q.Active, q.Scheduled, q.Retry, q.Archived))
	}
	s.detail = strings.Join(parts, "; ")
	return s, nil
}

// metric sums the samples of a Prometheus counter on every running
// replica whose labels contain every one of labels.
func (r *rig) metric(ctx context.Context, name string, labels ...string) float64 {
	var sum float64
	for i, d := range r.daemons {
		if d.exited() {
			continue
		}
		code, body, err := call(ctx, r.hc, "GET", r.base(i)+"/metrics", "", nil)
		if err != nil || code != http.StatusOK {
			continue
		}
		sum += sumSamples(string(body), name, labels)
	}
	return sum
}

// sumSamples adds up the samples of metric name in a Prometheus text
// exposition whose labels contain every one of labels.
func sumSamples(text, name string, labels []string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		var v float64
		if i := strings.LastIndexByte(line, ' '); ok && i > 0 {
			if _, err := fmt.Sscan(line[i+1:], &v); err == nil {
				sum += v
			}
		}
	}
	return sum
}
