package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// sharedAddr is the address of the package's shared redis-server, set by
// RunWithRedis.
var sharedAddr string

// RunWithRedis runs a package's tests with one redis-server they all share
// (through SharedRedis) and exits with their result. Call it from
// TestMain. It exits saying how to install Redis when redis-server is not
// on the PATH.
func RunWithRedis(m *testing.M) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		fmt.Fprintln(os.Stderr, "redis-server is not installed; tests need a real Redis >= 6.2: apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS)")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "leadworker-redis-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r, err := startDetached(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedAddr = r.Addr
	code := m.Run()
	r.kill()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// KeyPrefix is a key prefix of the test's own, so tests that share a
// server never see each other's keys.
func KeyPrefix(t testing.TB) string {
	return strings.NewReplacer(" ", "_", "{", "(", "}", ")").Replace(t.Name()) + ":"
}

// SharedRedis returns a client of the redis-server RunWithRedis started,
// closed with the test. Use it with KeyPrefix.
func SharedRedis(t testing.TB) *redis.Client {
	t.Helper()
	if sharedAddr == "" {
		t.Fatal("SharedRedis needs the package's TestMain to call testenv.RunWithRedis(m)")
	}
	c := redis.NewClient(&redis.Options{Addr: sharedAddr})
	t.Cleanup(func() { c.Close() })
	return c
}

// Miniredis returns a client of an in-memory miniredis of the test's own:
// the embedded Redis of the first-run mode, which runs the same scripts.
func Miniredis(t testing.TB) *redis.Client {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

// Backend is a Redis a store test runs against.
type Backend struct {
	Name string
	New  func(t testing.TB) *redis.Client
}

// Backends are the Redis servers every script test runs on: the shared
// redis-server and miniredis.
var Backends = []Backend{{"redis-server", SharedRedis}, {"miniredis", Miniredis}}
