package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/leadworker/leadworker/worker"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
)

// env is a running daemon on a real redis-server, reached over HTTP.
type env struct {
	t        *testing.T
	base     string
	token    string
	redis    *testenv.Redis // nil on a Cluster or Sentinel
	redisURL string
	smtp     *testenv.SMTP
	daemon   *worker.Daemon
	logs     *lockedWriter
}

// lockedWriter collects log output written from many goroutines.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// setup starts a redis-server and a daemon on a free port. Extra variables
// override the test configuration.
func setup(t *testing.T, vars ...string) *env {
	t.Helper()
	r := testenv.StartRedis(t)
	e := startDaemon(t, r.URL(), vars...)
	e.redis = r
	return e
}

// startDaemon starts a daemon on the Redis at redisURL (any topology) with
// an SMTP sink of its own.
func startDaemon(t *testing.T, redisURL string, vars ...string) *env {
	t.Helper()
	sink := testenv.StartSMTP(t)
	values := map[string]string{
		"LEADWORKER_REDIS_URL":        redisURL,
		"LEADWORKER_SMTP_URL":         "smtp://" + sink.Addr,
		"LEADWORKER_MAIL_FROM":        "leads@portal.example",
		"LEADWORKER_LEAD_URL":         "https://portal.example/referrals/leads/{id}",
		"LEADWORKER_HTTP_ADDR":        "127.0.0.1:0",
		"LEADWORKER_API_TOKENS":       "api-token-0123456789",
		"LEADWORKER_ADMIN_TOKENS":     "admin-token-0123456789",
		"LEADWORKER_SHUTDOWN_TIMEOUT": "2s",
		"LEADWORKER_LOG_LEVEL":        "info",
		// Tests drive maintenance themselves; a cron tick would send
		// reminders for their backdated leads.
		"LEADWORKER_SCHEDULE": "off",
	}
	for i := 0; i+1 < len(vars); i += 2 {
		values[vars[i]] = vars[i+1]
	}
	cfg, err := config.Load(func(k string) string { return values[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &lockedWriter{}
	log := worker.NewLogger(cfg, logs)
	log.SetLevel(logrus.InfoLevel)
	d := worker.New(cfg, log, clock.Real{})
	if err := d.Open(t.Context()); err != nil {
		t.Fatalf("open daemon: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return &env{t: t, base: "http://" + d.Addr(), token: values["LEADWORKER_API_TOKENS"], redisURL: redisURL,
		smtp: sink, daemon: d, logs: logs}
}

// redisValues returns every value a key holds, whatever its type.
func redisValues(ctx context.Context, c redis.Cmdable, key string) []string {
	switch c.Type(ctx, key).Val() {
	case "hash":
		var vals []string
		for _, v := range c.HGetAll(ctx, key).Val() {
			vals = append(vals, v)
		}
		return vals
	case "string":
		return []string{c.Get(ctx, key).Val()}
	case "list":
		return c.LRange(ctx, key, 0, -1).Val()
	case "zset":
		return c.ZRange(ctx, key, 0, -1).Val()
	case "set":
		return c.SMembers(ctx, key).Val()
	}
	return nil
}

// response is what a request got back.
type response struct {
	Status int
	Body   []byte
	Allow  string
}

// JSON decodes the body into a generic map.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// ErrorField returns error.code and error.field of an error response.
func (r response) Error(t *testing.T) (code, field, message string) {
	t.Helper()
	e, ok := r.JSON(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.Body)
	}
	f, _ := e["field"].(string)
	return e["code"].(string), f, e["message"].(string)
}

// do sends a request with the API token; body may be nil, a string or a
// value encoded as JSON.
func (e *env) do(method, path string, body any, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Body: raw, Allow: res.Header.Get("Allow")}
}

// must sends a request and fails the test unless it answers want.
func (e *env) must(want int, method, path string, body any) map[string]any {
	e.t.Helper()
	res := e.do(method, path, body)
	if res.Status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.Status, want, res.Body)
	}
	return res.JSON(e.t)
}

// lead returns a valid intake body; changes are applied on top.
// recentCreatedAt is an hour before the tests started: recent enough that no
// reminder or expiry is due whatever day they run, and the same for every
// call, so posting a lead twice is the same request.
var recentCreatedAt = time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)

func lead(id string, changes ...func(map[string]any)) map[string]any {
	l := map[string]any{
		"id": id, "partner_id": "P-100", "location": "tokyo",
		"kind": "customer_inquiry", "lead_type": "offer", "call_to_action": "contact_me",
		"source": "azure_marketplace",
		"customer": map[string]any{"company": "Contoso KK", "name": "Hanako Sato",
			"email": "hanako@contoso.example", "phone": "+81-3-0000-0000", "country": "JP"},
		"need": "Migrate 40 VMs to the cloud", "quality": "high",
		"email_validity": "valid", "phone_validity": "unknown", "contact_requested": true,
		"created_at": recentCreatedAt,
	}
	for _, c := range changes {
		c(l)
	}
	return l
}

var acceptBody = map[string]any{
	"deal_name": "VM migration", "deal_value": map[string]any{"amount": "25000", "currency": "USD"},
	"estimated_purchase_date": "2027-03-31", "notes": "call on Tuesday",
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// warnings returns the first n log lines at warning level or above, for
// failure messages.
func warnings(logs string, n int) string {
	var out []string
	for line := range strings.Lines(logs) {
		if len(out) < n && (strings.Contains(line, `"level":"warning"`) || strings.Contains(line, `"level":"error"`)) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}
