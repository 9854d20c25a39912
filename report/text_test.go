package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// goldenPaths shortens fixtures' -trimpath paths as a user in the module
// would see them.
var goldenPaths = report.Paths{Module: "github.com/blockscope/blockscope"}

// TestTextGolden renders copies of fixtures' traces in testdata/golden and
// compares the text with the golden files next to them (go test -run
// TestTextGolden -update rewrites them).
func TestTextGolden(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		check   func(t *testing.T, out string)
	}{
		{"deadlock-abba", checkDeadlockReport},
		{"leak-chain", checkLeakChain},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			// Copies of the fixtures' traces, so that regenerating a fixture
			// does not change the report.
			res, err := detect.Run(filepath.Join("testdata", "golden", tc.fixture+".trace"), parse.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := (report.TextOptions{Paths: goldenPaths}).Write(&b, report.FromResult(res)); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			golden := filepath.Join("testdata", "golden", tc.fixture+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestTextGolden -update writes it)", err)
			}
			if out != string(want) {
				t.Errorf("text report of %s differs from %s (rerun with -update if the change is meant):\n%s", tc.fixture, golden, out)
			}
			if !strings.HasPrefix(out, "1 ") && !strings.HasPrefix(out, "2 ") {
				t.Errorf("the report does not open with its verdict line:\n%s", out)
			}
			if tc.check != nil {
				tc.check(t, out)
			}
		})
	}
}

// checkDeadlockReport checks what the golden deadlock report must show,
// whatever its wording: no frame of the primitives or the runtime, and
// each goroutine's stack once.
func checkDeadlockReport(t *testing.T, out string) {
	t.Helper()
	first, _, _ := strings.Cut(out, "\n")
	if !strings.Contains(first, "deadlock (error)") || !strings.Contains(first, "--fail-on") {
		t.Errorf("verdict line = %q; want the deadlock counted and what fails the run", first)
	}
	for _, internal := range []string{"lockEvent", "traceLock", "lockSlow", "acquireSlow", "mutexSema", "runtime.chanrecv1", "primitives/sync/"} {
		if strings.Contains(out, internal) {
			t.Errorf("report shows the internal frame %s:\n%s", internal, out)
		}
	}
	// Each finding shows one stack per goroutine: no two frame lists alike.
	for _, f := range strings.Split(out, "\n[")[1:] {
		stacks := map[string]bool{}
		var cur []string
		flush := func() {
			if len(cur) > 0 {
				key := strings.Join(cur, "\n")
				if stacks[key] {
					t.Errorf("finding [%s shows a stack twice:\n%s", f[:strings.IndexByte(f, '\n')], key)
				}
				stacks[key] = true
			}
			cur = nil
		}
		for _, line := range strings.Split(f, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "fixtures/") || strings.Contains(line, " ← ") || regexp.MustCompile(`^ +main\.`).MatchString(line) {
				cur = append(cur, strings.TrimSpace(line))
				continue
			}
			flush()
		}
		flush()
	}
	if !strings.Contains(out, "sync.Mutex.Lock ← main.transfer") {
		t.Errorf("report does not name the primitive operation with the user's frame:\n%s", out)
	}
}

// checkLeakChain checks that a leak outside tests shows the chain of
// calls and go statements that created its goroutines.
func checkLeakChain(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, "\n    created by main.serve → main.handle → main.fetch (go at main.go:38)\n") {
		t.Errorf("the leak does not show its creation chain serve → handle → fetch:\n%s", out)
	}
	if !strings.Contains(out, "started from main.serve") {
		t.Errorf("the leak says it started elsewhere than main.serve:\n%s", out)
	}
}

// TestTextCounts checks, on every fixture's trace, that the findings table
// counts each finding's goroutines as its text does: the goroutine line's
// count, and any "N goroutines" the message opens with.
func TestTextCounts(t *testing.T) {
	traces, _ := filepath.Glob(filepath.Join("..", "fixtures", "*", "testdata", "go126.trace"))
	if len(traces) == 0 {
		t.Fatal("no fixture traces")
	}
	row := regexp.MustCompile(`(?m)^│ (\d+) +│ [a-z][\w-]* +│ [a-z]+ +│ (\d+) +│`)
	header := regexp.MustCompile(`(?m)^\[(\d+)\] `)
	goLine := regexp.MustCompile(`(?m)^    evidence: \w+; (?:goroutines \((?:\d+ of )?(\d+)\)|goroutine \d+$|no goroutine$)`)
	checked := 0
	for _, path := range traces {
		res, err := detect.Run(path, parse.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := report.Text(&b, report.FromResult(res)); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		table := map[string]int{}
		for _, m := range row.FindAllStringSubmatch(out, -1) {
			table[m[1]], _ = strconv.Atoi(m[2])
		}
		if len(table) != len(res.Findings) {
			t.Errorf("%s: table has %d rows; want %d", path, len(table), len(res.Findings))
			continue
		}
		idx := header.FindAllStringSubmatchIndex(out, -1)
		for i, m := range idx {
			n := out[m[2]:m[3]]
			end := len(out)
			if i+1 < len(idx) {
				end = idx[i+1][0]
			}
			body := out[m[0]:end]
			want := table[n]
			f := res.Findings[i]
			var got []int
			if g := goLine.FindStringSubmatch(body); g == nil {
				t.Errorf("%s: finding %s has no goroutine line:\n%s", path, n, body)
			} else if g[1] != "" {
				c, _ := strconv.Atoi(g[1])
				got = append(got, c)
			} else if strings.Contains(g[0], "no goroutine") {
				got = append(got, 0)
			} else {
				got = append(got, 1)
			}
			for _, m := range messageCounts.FindAllStringSubmatch(f.Message, -1) {
				c, _ := strconv.Atoi(m[1])
				got = append(got, c)
			}
			for _, c := range got {
				if c != want {
					t.Errorf("%s: finding %s: table counts %d goroutines, its text %d:\n%s", path, n, want, c, body)
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no finding checked")
	}
}

// messageCounts are the phrases of findings' messages that count the
// goroutines a finding involves.
var messageCounts = regexp.MustCompile(`(\d+) (?:goroutines? blocked|alive at trace end|Acquires arrived|waiters arrived)`)
