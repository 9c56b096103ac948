package httpapi

import (
	"crypto/sha256"
	"net/http/httptest"
	"strings"
	"testing"
)

// The tokens the comparison tests use: wrong tokens share all but the last
// byte with the secret, none of it, or differ in length.
const (
	secretToken = "admin-token-0123456789abcdef"
	otherToken  = "second-admin-token-fedcba9876"
)

var wrongTokens = map[string]string{
	"matching prefix":    secretToken[:len(secretToken)-1] + "0",
	"no matching prefix": strings.Repeat("z", len(secretToken)),
	"prefix of secret":   secretToken[:len(secretToken)-1],
	"secret plus a byte": secretToken + "0",
	"empty":              "",
	"long":               strings.Repeat(secretToken, 64),
}

// TestSecurityTokenCheck checks the bearer check: only a configured token of
// the right kind, whole and exact, is let through.
func TestSecurityTokenCheck(t *testing.T) {
	t.Parallel()
	a := newAuth([]string{"api-token-0123456789"}, []string{secretToken, otherToken})
	tests := []struct {
		name, header string
		admin        bool // checked against the admin tokens only
		ok           bool
	}{
		{"admin token", "Bearer " + secretToken, true, true},
		{"second admin token", "Bearer " + otherToken, true, true},
		{"scheme in lower case", "bearer " + secretToken, true, true},
		{"surrounding spaces", "Bearer   " + secretToken + " ", true, true},
		{"API token on admin", "Bearer api-token-0123456789", true, false},
		{"API token on v1", "Bearer api-token-0123456789", false, true},
		{"no header", "", true, false},
		{"no scheme", secretToken, true, false},
		{"basic scheme", "Basic " + secretToken, true, false},
		{"two tokens", "Bearer " + secretToken + "," + otherToken, true, false},
		{"token with NUL", "Bearer " + secretToken + "\x00", true, false},
	}
	for name, wrong := range wrongTokens {
		tests = append(tests, struct {
			name, header string
			admin        bool
			ok           bool
		}{name, "Bearer " + wrong, true, false})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/admin/v1/queues", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			sets := [][][32]byte{a.admin}
			if !tt.admin {
				sets = [][][32]byte{a.api, a.admin}
			}
			if err := a.check(r, sets...); (err == nil) != tt.ok {
				t.Fatalf("check = %v, want ok=%t", err, tt.ok)
			}
		})
	}
}

// TestSecurityTokensAreKeptAsDigests checks that the configured tokens are
// kept only as SHA-256 digests: every comparison is between two 32-byte
// values, whatever the length of the token presented.
func TestSecurityTokensAreKeptAsDigests(t *testing.T) {
	t.Parallel()
	a := newAuth([]string{"api-token-0123456789"}, []string{secretToken, otherToken})
	want := [][32]byte{sha256.Sum256([]byte(secretToken)), sha256.Sum256([]byte(otherToken))}
	if len(a.admin) != 2 || a.admin[0] != want[0] || a.admin[1] != want[1] {
		t.Fatal("admin tokens are not kept as their SHA-256 digests")
	}
	if !newAuth(nil, nil).open() || a.open() || newAuth(nil, []string{secretToken}).open() {
		t.Fatal("open() must hold only when no token of either kind is configured")
	}
	// An API token alone leaves the admin endpoints closed to everyone.
	apiOnly := newAuth([]string{"api-token-0123456789"}, nil)
	r := httptest.NewRequest("GET", "/admin/v1/queues", nil)
	r.Header.Set("Authorization", "Bearer api-token-0123456789")
	if apiOnly.check(r, apiOnly.admin) == nil {
		t.Fatal("with no admin token configured, an API token opened an admin endpoint")
	}
}

// TestSecurityTokenComparisonAllocations checks that a wrong token sharing
// a long prefix with the secret, one sharing none and the right one cost
// the same allocations. AllocsPerRun refuses to run in a parallel test.
func TestSecurityTokenComparisonAllocations(t *testing.T) {
	allowed := newAuth(nil, []string{secretToken, otherToken}).admin
	prefix := testing.AllocsPerRun(100, func() { matches(wrongTokens["matching prefix"], allowed) })
	none := testing.AllocsPerRun(100, func() { matches(wrongTokens["no matching prefix"], allowed) })
	right := testing.AllocsPerRun(100, func() { matches(secretToken, allowed) })
	if prefix != none || none != right {
		t.Fatalf("allocations differ: matching prefix %v, no matching prefix %v, right token %v", prefix, none, right)
	}
}

// BenchmarkTokenCompare times matches for a right token and for wrong
// tokens that share a long prefix with it or none of it. The sub-benchmarks
// should take the same time per operation; the numbers are for reading, not
// asserted.
func BenchmarkTokenCompare(b *testing.B) {
	allowed := newAuth(nil, []string{secretToken, otherToken}).admin
	cases := []struct{ name, token string }{
		{"right token", secretToken},
		{"matching prefix", wrongTokens["matching prefix"]},
		{"no matching prefix", wrongTokens["no matching prefix"]},
		{"prefix of secret", wrongTokens["prefix of secret"]},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				matches(c.token, allowed)
			}
		})
	}
}
