package baseline_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/baseline"
	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

func analyze(t *testing.T, path string) *report.Analysis {
	t.Helper()
	res, err := detect.Run(path, parse.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return report.FromResult(res)
}

const (
	leakTrace    = "../fixtures/leak-timeout/testdata/go126.trace"
	blockedTrace = "../parse/testdata/blocked.trace"
)

// roundTrip writes a baseline recorded from a and reads it back.
func roundTrip(t *testing.T, f *baseline.File, a *report.Analysis) *baseline.File {
	t.Helper()
	f.Record(a)
	path := filepath.Join(t.TempDir(), "baseline.json")
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
	back, err := baseline.Read(path)
	if err != nil {
		t.Fatalf("Read(Write(Record(a))): %v\n%s", err, b.String())
	}
	return back
}

func TestRoundTrip(t *testing.T) {
	base := roundTrip(t, &baseline.File{}, analyze(t, leakTrace))

	// A run against its own baseline is clean.
	a := analyze(t, leakTrace)
	n := len(a.Findings)
	base.Apply(a)
	if len(a.Findings) != 0 || a.Baselined != n || n == 0 {
		t.Errorf("against its own baseline: %d findings, %d baselined; want 0 and %d", len(a.Findings), a.Baselined, n)
	}

	// A new leak is reported; the known one stays baselined.
	a = report.Merge(analyze(t, leakTrace), analyze(t, blockedTrace))
	newOnes := len(analyze(t, blockedTrace).Findings)
	base.Apply(a)
	if len(a.Findings) != newOnes || a.Baselined != n {
		t.Errorf("with new leaks: %d findings, %d baselined; want %d new and %d baselined", len(a.Findings), a.Baselined, newOnes, n)
	}
	for _, f := range a.Findings {
		if !strings.Contains(f.Location.File, "blocked.go") {
			t.Errorf("reported %s at %v; want only blocked.trace's findings", f.Kind, f.Location)
		}
	}
}

// TestMovedLines: the same leak, its code moved two lines down by an
// unrelated edit (read back from a JSON report, so fingerprints are
// computed from the moved frames), stays baselined.
func TestMovedLines(t *testing.T) {
	base := roundTrip(t, &baseline.File{}, analyze(t, leakTrace))
	a := analyze(t, leakTrace)
	for i := range a.Findings {
		f := &a.Findings[i]
		f.Location.Line += 2
		f.Stack = append([]parse.Frame(nil), f.Stack...)
		for j := range f.Stack {
			if f.Stack[j].IsUser() {
				f.Stack[j].Line += 2
			}
		}
		f.Goroutines = []parse.GoID{1000 + parse.GoID(i)} // another run, other ids
	}
	var b bytes.Buffer
	if err := report.JSON(&b, a); err != nil {
		t.Fatal(err)
	}
	moved, err := report.ReadJSON(&b, "moved.json")
	if err != nil {
		t.Fatal(err)
	}
	n := len(moved.Findings)
	base.Apply(moved)
	if len(moved.Findings) != 0 || moved.Baselined != n {
		t.Errorf("moved two lines: %d findings reported, %d baselined; want 0 and %d", len(moved.Findings), moved.Baselined, n)
	}

	// The same leak moved into another function is new.
	a = analyze(t, leakTrace)
	for i := range a.Findings {
		a.Findings[i].Stack = append([]parse.Frame(nil), a.Findings[i].Stack...)
		for j := range a.Findings[i].Stack {
			if a.Findings[i].Stack[j].IsUser() {
				a.Findings[i].Stack[j].Func += "Renamed"
			}
		}
		a.Findings[i].Fingerprint = report.Fingerprint(a.Findings[i].Finding)
	}
	base.Apply(a)
	if a.Baselined != 0 {
		t.Errorf("a leak in another function was baselined")
	}
}

// TestCounts: a fingerprint recorded once baselines one finding.
func TestCounts(t *testing.T) {
	a := analyze(t, leakTrace)
	base := roundTrip(t, &baseline.File{}, a)
	twice := report.Merge(analyze(t, leakTrace))
	twice.Findings = append(twice.Findings, twice.Findings[0])
	base.Apply(twice)
	if len(twice.Findings) != 1 || twice.Baselined != len(a.Findings) {
		t.Errorf("a fingerprint twice against a baseline of it once: %d reported, %d baselined; want 1 and %d", len(twice.Findings), twice.Baselined, len(a.Findings))
	}
}

func TestSuppressions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baseline.json")
	os.WriteFile(path, []byte(`{"version": 1, "findings": [], "suppressions": [
		{"kind": "leak", "func": "main.fetch.*", "reason": "the fixture leaks on purpose"},
		{"kind": "deadlock", "func": "main.*", "reason": "never matches a leak"}
	]}`), 0o666)
	base, err := baseline.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	a := analyze(t, leakTrace)
	n := len(a.Findings)
	base.Apply(a)
	if len(a.Findings) != 0 || len(a.Suppressed) != n || a.Baselined != 0 {
		t.Fatalf("%d reported, %d suppressed, %d baselined; want 0, %d, 0", len(a.Findings), len(a.Suppressed), a.Baselined, n)
	}
	if r := a.Suppressed[0].Reason; r != "the fixture leaks on purpose" {
		t.Errorf("suppressed with reason %q; want the suppression's", r)
	}
	// Recording keeps the suppressions and leaves out what they match.
	rec := roundTrip(t, base, analyze(t, leakTrace))
	if len(rec.Findings) != 0 || len(rec.Suppressions) != 2 {
		t.Errorf("recorded %d findings, %d suppressions; want 0 and 2", len(rec.Findings), len(rec.Suppressions))
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, text, want string }{
		{"json", `{`, `not a baseline file`},
		{"version", `{"version": 2}`, `version 2; want 1`},
		{"reason", `{"version": 1, "suppressions": [{"func": "main.f"}]}`, `suppression 1: "main.f" has no "reason"`},
		{"func", `{"version": 1, "suppressions": [{"kind": "leak", "reason": "r"}]}`, `suppression 1: no "func"`},
		{"kind", `{"version": 1, "suppressions": [{"kind": "leek", "func": "f", "reason": "r"}]}`, `suppression 1: unknown finding kind "leek"`},
	} {
		path := filepath.Join(dir, tc.name+".json")
		os.WriteFile(path, []byte(tc.text), 0o666)
		_, err := baseline.Read(path)
		if err == nil || !strings.HasPrefix(err.Error(), "baseline "+path+": ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Read(%s) = %v; want an error naming the file and %q", tc.text, err, tc.want)
		}
	}
	if _, err := baseline.Read(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Read(missing) = %v; want no such file", err)
	}
}
