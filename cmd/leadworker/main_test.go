package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadworker/leadworker/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serveInBackground runs `leadworker serve` and returns a stop function
// that signals it and returns its exit code.
func serveInBackground(t *testing.T, env map[string]string) (stderr *syncBuffer, stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve"}, func(k string) string { return env[k] }, &bytes.Buffer{}, stderr)
	}()
	stop = func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop within 15s of its signal")
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	return stderr, stop
}

func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return
		}
	}
	t.Fatalf("serve did not answer on %s", addr)
}

func postLead(t *testing.T, addr, token string) int {
	t.Helper()
	body := `{"id":"L-1","partner_id":"P-1","kind":"customer_inquiry","lead_type":"profile","customer":{"company":"Contoso"}}`
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/leads", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestServeWithEmbeddedRedis(t *testing.T) {
	addr := freeAddr(t)
	stderr, stop := serveInBackground(t, map[string]string{"LEADWORKER_HTTP_ADDR": addr, "LEADWORKER_OUTBOX_DIR": t.TempDir()})
	waitHealthy(t, addr)
	if code := postLead(t, addr, ""); code != 201 {
		t.Fatalf("intake on the embedded Redis: %d", code)
	}
	var out bytes.Buffer
	if code := Main(context.Background(), []string{"healthcheck"}, func(k string) string {
		return map[string]string{"LEADWORKER_HTTP_ADDR": addr}[k]
	}, &out, &out); code != 0 {
		t.Fatalf("healthcheck of a ready daemon: %d %s", code, out.String())
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, stderr)
	}
	if code := Main(context.Background(), []string{"healthcheck"}, func(k string) string {
		return map[string]string{"LEADWORKER_HTTP_ADDR": addr}[k]
	}, &out, &out); code != 1 {
		t.Fatalf("healthcheck of a stopped daemon: %d", code)
	}
	for _, want := range []string{"NOTHING SURVIVES A RESTART", "loopback only", "lead received", "leadworker stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr)
		}
	}
}

func TestServeWithRedisAndTokens(t *testing.T) {
	r := testenv.StartRedis(t)
	addr := freeAddr(t)
	stderr, stop := serveInBackground(t, map[string]string{"LEADWORKER_HTTP_ADDR": addr,
		"LEADWORKER_REDIS_URL": r.URL(), "LEADWORKER_API_TOKENS": "a-token-of-sixteen-chars", "LEADWORKER_OUTBOX_DIR": t.TempDir()})
	waitHealthy(t, addr)
	if code := postLead(t, addr, ""); code != 401 {
		t.Fatalf("intake without token: %d", code)
	}
	if code := postLead(t, addr, "a-token-of-sixteen-chars"); code != 201 {
		t.Fatalf("intake with token: %d", code)
	}
	if n, _ := r.Client().Exists(context.Background(), "leadworker:lead:L-1").Result(); n != 1 {
		t.Fatal("lead not in the configured Redis")
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, stderr)
	}
}

func TestServeStartupErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name string
		env  map[string]string
		code int
		want string
	}{
		{"bad duration", map[string]string{"LEADWORKER_SHUTDOWN_TIMEOUT": "soon"}, 2, "LEADWORKER_SHUTDOWN_TIMEOUT"},
		{"public without tokens", map[string]string{"LEADWORKER_HTTP_ADDR": "0.0.0.0:8080"}, 2, "LEADWORKER_HTTP_ADDR"},
		{"port taken", map[string]string{"LEADWORKER_HTTP_ADDR": taken.Addr().String()}, 1, "address already in use"},
		{"redis unreachable", map[string]string{"LEADWORKER_REDIS_URL": "redis://127.0.0.1:1/0"}, 1, "connect to Redis (single 127.0.0.1:1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			tt.env["LEADWORKER_OUTBOX_DIR"] = t.TempDir()
			code := Main(context.Background(), []string{"serve"}, func(k string) string { return tt.env[k] }, &bytes.Buffer{}, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, want %d; stderr lacks %q:\n%s", code, tt.code, tt.want, stderr.String())
			}
		})
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "leadworker dev"},
		{[]string{"help"}, 0, "leadworker serve"},
		{nil, 2, "Usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if code := Main(context.Background(), tt.args, func(string) string { return "" }, &out, &out); code != tt.code || !strings.Contains(out.String(), tt.out) {
			t.Errorf("%v: exit %d output %q", tt.args, code, out.String())
		}
	}
}

func TestMaintenanceCommand(t *testing.T) {
	r := testenv.StartRedis(t)
	env := map[string]string{"LEADWORKER_REDIS_URL": r.URL()}
	getenv := func(k string) string { return env[k] }
	addr := freeAddr(t)
	serveEnv := map[string]string{"LEADWORKER_HTTP_ADDR": addr, "LEADWORKER_REDIS_URL": r.URL(), "LEADWORKER_SCHEDULE": "off",
		"LEADWORKER_OUTBOX_DIR": t.TempDir()}
	_, stop := serveInBackground(t, serveEnv)
	waitHealthy(t, addr)
	body := `{"id":"L-OLD","partner_id":"P-1","kind":"customer_inquiry","lead_type":"profile","customer":{"company":"Contoso","email":"c@contoso.example"},"created_at":"2026-11-01T00:00:00Z"}`
	res, err := http.Post("http://"+addr+"/v1/leads", "application/json", strings.NewReader(body))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("intake: %v %v", res, err)
	}
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"maintenance", "expire", "--dry-run", "--at", "2026-11-14T23:59:59Z"}, 0, "expire at 2026-11-14T23:59:59Z: 0 would change"},
		{[]string{"maintenance", "expire", "--dry-run", "--at", "2026-11-15T00:00:00Z"}, 0, "expire    L-OLD                    closing notice to the customer"},
		{[]string{"maintenance", "expire", "--at", "2026-11-15T00:00:00Z"}, 0, "expire at 2026-11-15T00:00:00Z: 1 changed"},
		{[]string{"maintenance", "expire", "--at", "2026-11-15T00:00:00Z"}, 0, "0 changed"},
		{[]string{"maintenance", "vacuum"}, 2, "usage: leadworker maintenance"},
		{[]string{"maintenance", "expire", "--at", "tomorrow"}, 2, "--at"},
		{[]string{"enqueue", "maintenance:run", `{"job":"digests"}`}, 0, "enqueued maintenance:run as digests:manual:"},
		{[]string{"enqueue", "lead:notify", `{"lead":"x"}`}, 1, "payload does not fit"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if code := Main(context.Background(), tt.args, getenv, &out, &out); code != tt.code || !strings.Contains(out.String(), tt.out) {
			t.Errorf("%v: exit %d, output:\n%s\nwant exit %d and %q", tt.args, code, out.String(), tt.code, tt.out)
		}
	}
	var out bytes.Buffer
	if code := Main(context.Background(), []string{"maintenance", "expire"}, func(string) string { return "" }, &out, &out); code != 1 || !strings.Contains(out.String(), "LEADWORKER_REDIS_URL is not set") {
		t.Errorf("maintenance without Redis: exit %d: %s", code, out.String())
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
}

func TestPreviewCommand(t *testing.T) {
	out := t.TempDir() + "/digest.html"
	var stdout bytes.Buffer
	if code := Main(context.Background(), []string{"preview", "--template", "digest", "--locale", "zh-Hant", "--out", out}, func(string) string { return "" }, &stdout, &stdout); code != 0 {
		t.Fatalf("preview: %d %s", code, stdout.String())
	}
	html, _ := os.ReadFile(out)
	text, _ := os.ReadFile(out + ".txt")
	if !strings.Contains(string(html), "<html") || !strings.Contains(string(text), "L-20261120-0001") || !strings.Contains(string(text), "Subject: ") {
		t.Fatalf("preview output:\n%s\n%s", html, text)
	}
	if code := Main(context.Background(), []string{"preview", "--template", "nope"}, func(string) string { return "" }, &stdout, &stdout); code != 2 {
		t.Fatalf("unknown template: exit %d", code)
	}
}
