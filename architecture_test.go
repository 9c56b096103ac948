package leadworker_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/leadworker/leadworker"

// projectImports maps each package of the module (by its directory, "."
// for the root) to the packages of the module its non-test files import.
func projectImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == module || strings.HasPrefix(p, module+"/") {
				rel := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
				if rel == "" {
					rel = "."
				}
				if !slices.Contains(out[dir], rel) {
					out[dir] = append(out[dir], rel)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportRule checks the layering docs/ARCHITECTURE.md describes: the
// domain imports nothing of the project; the store builds only on the
// domain, the task names and the clock; the handlers never reach the API
// or the daemon, the API never reaches the handlers; only cmd imports the
// daemon.
func TestImportRule(t *testing.T) {
	t.Parallel()
	imports := projectImports(t)
	if len(imports["jobs"]) == 0 || len(imports["internal/store"]) == 0 {
		t.Fatalf("found no imports of jobs or internal/store: %v", imports)
	}
	only := map[string][]string{
		".":                  {},
		"mailer":             {},
		"internal/clock":     {},
		"internal/tasks":     {"."},
		"internal/store":     {".", "internal/clock", "internal/tasks"},
		"jobs":               {".", "internal/clock", "internal/metrics", "internal/store", "internal/tasks", "mailer", "templates"},
		"worker/httpapi":     {".", "internal/clock", "internal/metrics", "internal/store", "internal/tasks", "mailer"},
		"templates":          {"mailer"},
		"internal/metrics":   {},
		"internal/redisconn": {},
	}
	for pkg, allowed := range only {
		for _, imp := range imports[pkg] {
			if !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s; it may import only %v of the project", pkg, imp, allowed)
			}
		}
	}
	for pkg, imps := range imports {
		if slices.Contains(imps, "worker") && !strings.HasPrefix(pkg, "cmd/") {
			t.Errorf("%s imports worker; only cmd/ may", pkg)
		}
	}
}
