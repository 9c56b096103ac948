package httpapi

import (
	"crypto/sha256"
	"go/ast"
	"go/parser"
	"go/token"
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

// TestSecurityTokenComparisonHasOneCodePath checks the comparison the way
// a reviewer would, since a unit test cannot time it reliably: the token
// presented is hashed before it is compared; matches compares it with
// subtle.ConstantTimeCompare against every configured digest, with no
// branch or early exit in the loop; and check hands the token to nothing
// but matches.
func TestSecurityTokenComparisonHasOneCodePath(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "auth.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			funcs[fd.Name.Name] = fd
		}
	}
	checkMatches(t, fset, funcs["matches"])
	checkTokenUses(t, funcs["check"])
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

// checkMatches checks that fd hashes the token and then compares digests in
// constant time in a loop with no branches.
func checkMatches(t *testing.T, fset *token.FileSet, fd *ast.FuncDecl) {
	t.Helper()
	if fd == nil {
		t.Fatal("auth.go has no func matches")
	}
	calls := map[string]int{}
	var loops int
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok {
					calls[pkg.Name+"."+sel.Sel.Name]++
				}
			}
		case *ast.RangeStmt, *ast.ForStmt:
			loops++
			ast.Inspect(n, func(inner ast.Node) bool {
				switch inner := inner.(type) {
				case *ast.ReturnStmt, *ast.BranchStmt, *ast.IfStmt, *ast.SwitchStmt:
					t.Errorf("matches: %T at %v inside the comparison loop: an early exit shows in the timing", inner, fset.Position(inner.Pos()))
				case *ast.BinaryExpr:
					if inner.Op == token.EQL || inner.Op == token.NEQ || inner.Op == token.LAND || inner.Op == token.LOR {
						t.Errorf("matches: %s at %v inside the comparison loop short-circuits", inner.Op, fset.Position(inner.Pos()))
					}
				}
				return true
			})
		}
		return true
	})
	if calls["sha256.Sum256"] != 1 || calls["subtle.ConstantTimeCompare"] != 1 || loops != 1 {
		t.Errorf("matches makes calls %v in %d loops; want one sha256.Sum256 of the token and one subtle.ConstantTimeCompare in one loop", calls, loops)
	}
}

// checkTokenUses checks that fd passes the variable token, once read, only
// to matches.
func checkTokenUses(t *testing.T, fd *ast.FuncDecl) {
	t.Helper()
	if fd == nil {
		t.Fatal("auth.go has no func check")
	}
	passed, uses := 0, 0
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "matches" && len(call.Args) > 0 {
				if arg, ok := call.Args[0].(*ast.Ident); ok && arg.Name == "token" {
					passed++
				}
			}
		}
		if id, ok := n.(*ast.Ident); ok && id.Name == "token" {
			uses++
		}
		return true
	})
	// One use declares it (token, ok := bearer(r)); every other is an
	// argument of matches.
	if passed == 0 || uses != passed+1 {
		t.Errorf("check uses the token %d times besides matching it %d times: only matches may compare it", uses-1, passed)
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
