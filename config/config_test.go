package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker/config"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env())
	if err != nil {
		t.Fatal(err)
	}
	if !c.Embedded() || c.HTTPAddr != "127.0.0.1:8080" || c.KeyPrefix != "leadworker:" ||
		c.ShutdownTimeout != 10*time.Second || c.Concurrency != 10 || c.LogFormat != "auto" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     []string
		varName string
	}{
		{"bad duration", []string{"LEADWORKER_SHUTDOWN_TIMEOUT", "ten seconds"}, "LEADWORKER_SHUTDOWN_TIMEOUT"},
		{"negative duration", []string{"LEADWORKER_SHUTDOWN_TIMEOUT", "-1s"}, "LEADWORKER_SHUTDOWN_TIMEOUT"},
		{"bad url scheme", []string{"LEADWORKER_REDIS_URL", "http://localhost:6379"}, "LEADWORKER_REDIS_URL"},
		{"unparsable url", []string{"LEADWORKER_REDIS_URL", "redis://%zz"}, "LEADWORKER_REDIS_URL"},
		{"unknown log level", []string{"LEADWORKER_LOG_LEVEL", "loud"}, "LEADWORKER_LOG_LEVEL"},
		{"unknown log format", []string{"LEADWORKER_LOG_FORMAT", "xml"}, "LEADWORKER_LOG_FORMAT"},
		{"bad address", []string{"LEADWORKER_HTTP_ADDR", "8080"}, "LEADWORKER_HTTP_ADDR"},
		{"zero concurrency", []string{"LEADWORKER_CONCURRENCY", "0"}, "LEADWORKER_CONCURRENCY"},
		{"short token", []string{"LEADWORKER_API_TOKENS", "secret"}, "LEADWORKER_API_TOKENS"},
		{"prefix with braces", []string{"LEADWORKER_KEY_PREFIX", "{lw}"}, "LEADWORKER_KEY_PREFIX"},
		{"public address without tokens", []string{"LEADWORKER_HTTP_ADDR", "0.0.0.0:8080"}, "LEADWORKER_HTTP_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(env(tt.env...))
			if err == nil || !strings.Contains(err.Error(), tt.varName) {
				t.Fatalf("error %v, want one naming %s", err, tt.varName)
			}
		})
	}
}

func TestAllBadValuesAreReportedTogetherWithoutSecrets(t *testing.T) {
	t.Parallel()
	_, err := config.Load(env("LEADWORKER_LOG_LEVEL", "loud", "LEADWORKER_CONCURRENCY", "x",
		"LEADWORKER_ADMIN_TOKENS", "hunter2", "LEADWORKER_REDIS_URL", "ftp://user:pw@host"))
	for _, want := range []string{"LEADWORKER_LOG_LEVEL", "LEADWORKER_CONCURRENCY", "LEADWORKER_ADMIN_TOKENS", "LEADWORKER_REDIS_URL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "pw@") {
		t.Fatalf("error shows a secret: %v", err)
	}
}

func TestPublicAddressWithTokens(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env("LEADWORKER_HTTP_ADDR", ":8080", "LEADWORKER_API_TOKENS", "a-long-enough-token, another-long-token",
		"LEADWORKER_REDIS_URL", "rediss://:pw@redis.internal:6380/2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.APITokens) != 2 || c.APITokens[1] != "another-long-token" || c.Embedded() {
		t.Fatalf("%+v", c)
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true,
		":8080": false, "0.0.0.0:8080": false, "10.0.0.1:80": false} {
		if got := config.IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}
