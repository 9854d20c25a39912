package parse_test

// The traces in testdata are written by testdata/gen, one scenario a run.
//go:generate go run -trimpath ./testdata/gen -dir testdata blocked
//go:generate go run -trimpath ./testdata/gen -dir testdata preexisting

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/parse"
)

// genDir holds the generator whose scenarios the checked-in traces record.
const genDir = "testdata/gen"

// genPath is how -trimpath writes the generator's files in stacks.
const genPath = "github.com/blockscope/blockscope/parse/testdata/gen/"

// mark is one marker comment in a generator scenario (see testdata/gen).
type mark struct {
	line   int
	kind   string // "want", "waker", "woken" or "go"
	reason string // want: the wait reason
	leak   bool   // want: the leak detector reports it
	n      int    // want: how many goroutines block at the line
	arg    string // go: the function the go statement starts
}

var markRE = regexp.MustCompile(`// (want|waker|woken|go)\b ?(.*)$`)

// readMarks returns the markers of one generator file, by line.
func readMarks(t *testing.T, file string) map[int]mark {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(genDir, file))
	if err != nil {
		t.Fatal(err)
	}
	marks := make(map[int]mark)
	for i, line := range strings.Split(string(src), "\n") {
		m := markRE.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(strings.TrimSpace(line), "//") {
			continue
		}
		mk := mark{line: i + 1, kind: m[1], n: 1}
		fields := strings.Fields(m[2])
		switch mk.kind {
		case "want":
			if k := len(fields) - 1; k > 0 && strings.HasPrefix(fields[k], "x") {
				n, err := strconv.Atoi(fields[k][1:])
				if err != nil {
					t.Fatalf("%s:%d: bad count %q", file, i+1, fields[k])
				}
				mk.n, fields = n, fields[:k]
			}
			if k := len(fields) - 1; k > 0 && fields[k] == "leak" {
				mk.leak, fields = true, fields[:k]
			}
			mk.reason = strings.Join(fields, " ")
		case "go":
			mk.arg = strings.Join(fields, " ")
		}
		marks[mk.line] = mk
	}
	return marks
}

// markLine returns the line of the only marker of that kind (and arg, for
// "go"), failing the test if there is not exactly one.
func markLine(t *testing.T, marks map[int]mark, kind, arg string) int {
	t.Helper()
	var lines []int
	for _, m := range marks {
		if m.kind == kind && m.arg == arg {
			lines = append(lines, m.line)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("markers %q %q at lines %v; want exactly one", kind, arg, lines)
	}
	return lines[0]
}

// genSum is the generator's source checksum, as testdata/gen's sourceSum
// computes it.
func genSum(t *testing.T) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(genDir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s\n%d\n", filepath.Base(name), len(src))
		h.Write(src)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestGeneratedUpToDate checks that each checked-in trace was written by
// the generator as it is now.
func TestGeneratedUpToDate(t *testing.T) {
	want := genSum(t)
	sums, err := filepath.Glob(filepath.Join("testdata", "*.trace.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 2 {
		t.Errorf("%d traces with a .sum in testdata; want 2", len(sums))
	}
	for _, path := range sums {
		sum, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(sum)); got != want {
			t.Errorf("%s was written by another version of testdata/gen: run go generate ./parse", strings.TrimSuffix(path, ".sum"))
		}
	}
}

// genTrace parses a checked-in trace.
func genTrace(t *testing.T, name string, opts parse.Options) *parse.Trace {
	t.Helper()
	path := filepath.Join("testdata", name)
	tr, err := parse.File(path, opts)
	if err != nil {
		t.Fatalf("File(%q) error: %v", path, err)
	}
	return tr
}

// genFrame returns the innermost frame of the stack in the generator file,
// or ok false.
func genFrame(tr *parse.Trace, id parse.StackID, file string) (parse.Frame, bool) {
	for i, n := 0, tr.Stacks.Depth(id); i < n; i++ {
		if f := tr.Stacks.Frame(id, i); f.File == genPath+file {
			return f, true
		}
	}
	return parse.Frame{}, false
}

// byEntry returns the goroutines that start in fn.
func byEntry(tr *parse.Trace, fn string) []*parse.Goroutine {
	var out []*parse.Goroutine
	gs := tr.Goroutines()
	for i := range gs {
		if gs[i].Entry == fn {
			out = append(out, &gs[i])
		}
	}
	return out
}

// oneByEntry returns the one goroutine that starts in fn.
func oneByEntry(t *testing.T, tr *parse.Trace, fn string) *parse.Goroutine {
	t.Helper()
	gs := byEntry(tr, fn)
	if len(gs) != 1 {
		t.Fatalf("%d goroutines start in %s; want 1", len(gs), fn)
	}
	return gs[0]
}
