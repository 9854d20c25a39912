package blockscope_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/blockscope/blockscope"

// allowed is the import policy of ../shared/DESIGN.md: for each package
// (prefix) of the module, the non-standard-library imports it may have.
// Change it on purpose, not to make a build pass.
var allowed = []struct {
	pkg     string // a package, or a prefix ending in "/"
	imports []string
}{
	{"internal/wire", nil},
	{"internal/idmap", nil},
	{"primitives/", []string{"internal/wire", "primitives/"}},
	{"parse", []string{"internal/wire", "internal/idmap", "golang.org/x/exp/trace"}},
	{"hbgraph", []string{"parse", "internal/wire", "internal/idmap"}},
	{"detect", []string{"hbgraph", "parse", "internal/wire", "internal/idmap"}},
	{"baseline", []string{"report", "detect", "parse"}},
	{"report", []string{"detect", "hbgraph", "parse", "internal/wire", "github.com/olekukonko/tablewriter", "github.com/emicklei/dot", "github.com/google/pprof/profile", "github.com/jstemmer/go-junit-report/v2/junit", "github.com/owenrumney/go-sarif/v3/"}},
	{"internal/demo", nil},
	{"internal/corpus", nil}, // tests only
	{"internal/tracetest", []string{"internal/wire", "golang.org/x/exp/trace"}}, // tests only
	{"internal/tracegen", []string{"primitives/", "golang.org/x/sync/"}},        // benchmarks only
	{"internal/tracebench", []string{"internal/tracegen", "golang.org/x/exp/trace"}},
	{"internal/leaktests", nil}, // tests only
	{"internal/gotest", []string{"detect", "parse"}},
	{"internal/cli", []string{"github.com/schollz/progressbar/v3", "baseline", "report", "detect", "hbgraph", "parse", "internal/demo", "internal/gotest", "internal/wire", "github.com/spf13/"}},
	{"leaktest", []string{"detect", "parse"}}, // linked into users' test binaries
	{"cmd/blockscope", []string{"internal/cli"}},
	{"fixtures", nil},
	{"fixtures/", []string{"primitives/", "fixtures/internal/harness", "golang.org/x/sync/"}},
	{"", []string{"detect", "hbgraph", "parse", "report", "internal/wire"}}, // the root facade
}

func TestImportPolicy(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		rule := -1
		for i, a := range allowed {
			if pkg == a.pkg || strings.HasSuffix(a.pkg, "/") && strings.HasPrefix(pkg, a.pkg) {
				rule = i
				break
			}
		}
		if rule < 0 {
			t.Errorf("package %q has no import policy: add it to allowed", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if isStd(imp) {
				continue
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			ok := false
			for _, p := range allowed[rule].imports {
				if rel == p || strings.HasSuffix(p, "/") && strings.HasPrefix(rel, p) || strings.HasPrefix(rel, p+"/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s, which the policy does not allow", fields[0], imp)
			}
		}
	}
}

func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") && !strings.HasPrefix(path, module)
}
