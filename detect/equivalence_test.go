package detect_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/internal/tracegen"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// equivalenceTraces lists the traces the ways of reading are compared on:
// the corpus's good ones, every fixture's and parse's checked-in traces,
// and a trace of tracegen's busy workload (hundreds of thousands of
// short-lived goroutines, most of whose records are dropped).
func equivalenceTraces(t *testing.T) []string {
	var files []string
	files = append(files, corpus.Files(t, "v1", "*_good")...)
	files = append(files, corpus.Files(t, "go126", "*.trace")...)
	files = append(files, corpus.Files(t, "goker", "*.trace")...)
	files = append(files, corpus.Files(t, filepath.Join("goker", "negatives"), "*.trace")...)
	for _, pattern := range []string{"../fixtures/*/testdata/*.trace", "../parse/testdata/*.trace"} {
		m, err := filepath.Glob(pattern)
		if err != nil || len(m) == 0 {
			t.Fatalf("no traces match %s", pattern)
		}
		files = append(files, m...)
	}
	var buf bytes.Buffer
	if _, err := tracegen.Record(&buf, 1<<20); err != nil {
		t.Logf("no generated trace: %v", err)
		return files
	}
	gen := filepath.Join(t.TempDir(), "tracegen.trace")
	if err := os.WriteFile(gen, buf.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
	return append(files, gen)
}

// outcome is everything a report shows of a run, as JSON.
func outcome(t *testing.T, path string, opts parse.Options) string {
	t.Helper()
	var gatherers []report.Gatherer
	var consumers []parse.Consumer
	for _, f := range report.Formats() {
		if f.Gather != nil {
			g := f.Gather()
			gatherers = append(gatherers, g)
			consumers = append(consumers, g)
		}
	}
	hb := hbgraph.NewBuilder(hbgraph.Options{MaxNodes: 5000})
	consumers = append(consumers, hb)
	res, err := detect.RunOptions(path, opts, detect.DefaultConfig(), consumers...)
	if res == nil {
		t.Fatalf("Run(%q) error: %v", path, err)
	}
	tr := res.Trace
	created, exited, waiting := tr.Counts()
	out, jerr := json.MarshalIndent(map[string]any{
		"findings": res.Findings, "summary": res.Summary,
		"counts":  []int{tr.NumGoroutines(), created, exited, waiting, tr.Events, tr.Annotations},
		"blocked": tr.BlockedByReason, "complete": tr.Complete, "warnings": tr.Warnings,
		"span": []int64{tr.Start, tr.End}, "err": err != nil,
	}, "", "  ")
	if jerr != nil {
		t.Fatal(jerr)
	}
	// And every format but the binary ones (pprof's holds the time it
	// was written).
	a := report.FromResult(res)
	for _, g := range gatherers {
		g.AddTo(a)
	}
	var b strings.Builder
	b.Write(out)
	// And the happens-before graph, as hb --finding draws it in that pass.
	v, verr := hb.Graph().Select(hbgraph.Filter{})
	if verr != nil {
		t.Fatal(verr)
	}
	b.WriteString("\n--- hb\n")
	if err := report.DOT(&b, v); err != nil {
		t.Fatal(err)
	}
	for _, f := range report.Formats() {
		if f.Binary {
			continue
		}
		fmt.Fprintf(&b, "\n--- %s\n", f.Name)
		if err := f.Write(&b, a); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
	}
	return b.String()
}

// compareRuns checks that reading each trace with opts gives the outcome
// reading it with ref does.
func compareRuns(t *testing.T, ref, opts parse.Options) {
	compareOutcomes(t, fmt.Sprintf("%+v", ref), fmt.Sprintf("%+v", opts),
		func(t *testing.T, path string) string { return outcome(t, path, ref) },
		func(t *testing.T, path string) string { return outcome(t, path, opts) })
}

// compareOutcomes checks that got gives the outcome ref does on each
// trace. A trace the reader itself does not read the same twice (some
// converted Go 1.11 traces) is skipped, saying so.
func compareOutcomes(t *testing.T, refName, gotName string, ref, got func(*testing.T, string) string) {
	for _, path := range equivalenceTraces(t) {
		dir := filepath.Dir(path)
		if filepath.Base(dir) == "testdata" {
			dir = filepath.Dir(dir) // a fixture's: name it by the fixture
		}
		name := filepath.Base(dir) + "/" + filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			if testing.Short() && strings.Contains(name, "stdlib-") {
				t.Skip("large trace, -short")
			}
			want := ref(t, path)
			have := got(t, path)
			if have == want {
				return
			}
			for range 3 {
				if again := ref(t, path); again != want {
					t.Skipf("two reference runs differ: the reader is not deterministic on %s", name)
				}
			}
			t.Errorf("%s: outcome with %s differs from the reference's (%s):\n%s", name, gotName, refName, lineDiff(want, have))
		})
	}
}

// lineDiff shows the first lines where two outcomes differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)) && b.Len() < 2000; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}

// TestDropExitedSameOutcome checks that dropping exited goroutines'
// records (what Run does) changes nothing a report shows.
func TestDropExitedSameOutcome(t *testing.T) {
	compareRuns(t, parse.Options{DropBlocks: true}, parse.Options{DropBlocks: true, DropExited: true})
}

// TestParallelSameOutcome checks that decoding generations in parallel
// (what Run does on several cores) changes nothing a report shows.
func TestParallelSameOutcome(t *testing.T) {
	compareRuns(t, parse.Options{DropBlocks: true, Jobs: 1}, parse.Options{DropBlocks: true, DropExited: true, Jobs: 4})
}

// findingsOutcome is the findings of a run with no other consumer, as
// JSON: unlike outcome's, no gatherer retains goroutine records, so as
// many are dropped, and as much forgotten, as analyze drops and forgets.
func findingsOutcome(t *testing.T, path string, opts parse.Options) string {
	t.Helper()
	res, err := detect.RunOptions(path, opts, detect.DefaultConfig())
	if res == nil {
		t.Fatalf("Run(%q) error: %v", path, err)
	}
	out, jerr := json.MarshalIndent(res.Findings, "", "  ")
	if jerr != nil {
		t.Fatal(jerr)
	}
	return string(out)
}

// TestDropExitedSameFindings checks that dropping exited goroutines'
// records changes no finding where nothing retains them (as in analyze):
// the goroutines a finding counts among the exited ones are counted under
// their kept ancestors (parse.Trace.DroppedUnder, Watch).
func TestDropExitedSameFindings(t *testing.T) {
	keep, drop := parse.Options{DropBlocks: true}, parse.Options{DropBlocks: true, DropExited: true}
	compareOutcomes(t, "keeping", "dropping",
		func(t *testing.T, path string) string { return findingsOutcome(t, path, keep) },
		func(t *testing.T, path string) string { return findingsOutcome(t, path, drop) })
}

// TestForgetSameOutcome checks that the detectors forgetting what can no
// longer matter as soon as they may (what Run does on big traces: see
// SetForgetting) changes nothing a report shows, nor any finding where
// nothing retains goroutine records.
func TestForgetSameOutcome(t *testing.T) {
	opts := parse.Options{DropBlocks: true, DropExited: true}
	run := func(n int, out func(*testing.T, string, parse.Options) string) func(*testing.T, string) string {
		return func(t *testing.T, path string) string {
			defer detect.SetForgetting(n, n, n)()
			return out(t, path, opts)
		}
	}
	compareOutcomes(t, "nothing forgotten", "forgetting at once", run(math.MaxInt, outcome), run(1, outcome))
	compareOutcomes(t, "nothing forgotten", "forgetting at once", run(math.MaxInt, findingsOutcome), run(1, findingsOutcome))
}
