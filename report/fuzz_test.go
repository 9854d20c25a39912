package report_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// FuzzAnalyze runs trace bytes through the whole of analyze and hb: parse
// (serially, or a generation per goroutine), every detector, the
// happens-before builder, and every output format. Nothing may panic, and
// the report must hold together: its counts agree, every finding has a
// kind, a severity, a message and a location, and its JSON reads back to
// the same JSON.
//
// Seeds: parse's and every fixture's checked-in traces, and the corpus's
// small good and bad inputs where it is present. Crashers found go to
// testdata/fuzz/FuzzAnalyze, where go test replays them.
func FuzzAnalyze(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"../parse/testdata/*.trace", "../fixtures/*/testdata/*.trace"} {
		m, _ := filepath.Glob(pattern)
		seeds = append(seeds, m...)
	}
	if dir, ok := corpus.Find(); ok {
		for _, pattern := range []string{"go126/*.trace", "goker/*.trace", "v1/*_good", "bad/*"} {
			m, _ := filepath.Glob(filepath.Join(dir, pattern))
			seeds = append(seeds, m...)
		}
	}
	n := 0
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil || len(data) > 200<<10 {
			continue // big seeds make slow fuzzing
		}
		f.Add(data, n%2 == 0)
		n++
	}
	if n == 0 {
		f.Fatal("no seed traces")
	}
	f.Fuzz(func(t *testing.T, data []byte, parallel bool) {
		jobs := 1
		if parallel {
			jobs = 3
		}
		var gs []report.Gatherer
		var cs []parse.Consumer
		for _, format := range report.Formats() {
			if format.Gather != nil {
				g := format.Gather()
				gs = append(gs, g)
				cs = append(cs, g)
			}
		}
		hb := hbgraph.NewBuilder(hbgraph.Options{MaxNodes: 2000})
		// hb's default selection, made while reading, and the first pass
		// of --related.
		selection := hbgraph.Filter{MaxNodes: 50, FoldParks: true, FoldSleeps: true}
		sel := selection
		hbSel := hbgraph.NewBuilder(hbgraph.Options{Select: &sel})
		hbRel := hbgraph.NewBuilder(hbgraph.Options{Relate: &hbgraph.Relation{Goroutines: []parse.GoID{1}}})
		cs = append(cs, hb, hbSel, hbRel)
		opts := parse.Options{Path: "fuzz", DropExited: true, Jobs: jobs}
		res, err := detect.RunReader(bytes.NewReader(data), opts, nil, cs...)
		if res == nil {
			if err == nil {
				t.Fatal("RunReader returned neither a result nor an error")
			}
			return
		}
		tr := res.Trace
		created, exited, waiting := tr.Counts()
		if created > tr.NumGoroutines() || exited > tr.NumGoroutines() || waiting > tr.NumGoroutines()-exited {
			t.Errorf("Counts = %d created, %d exited, %d waiting of %d goroutines", created, exited, waiting, tr.NumGoroutines())
		}
		s := res.Summary
		if s.Goroutines+s.Left != tr.NumGoroutines() || s.Created > created || s.Exited > exited || s.BlockedAtEnd > waiting {
			t.Errorf("summary %d (+%d left out) goroutines, %d created, %d exited, %d blocked; trace %d, %d, %d, %d",
				s.Goroutines, s.Left, s.Created, s.Exited, s.BlockedAtEnd, tr.NumGoroutines(), created, exited, waiting)
		}
		for _, fd := range res.Findings {
			if fd.Kind == "" || fd.Severity == "" || fd.Message == "" || fd.Location.Func == "" && fd.Location.File == "" {
				t.Errorf("finding lacks a kind, severity, message or location: %+v", fd)
			}
		}

		a := report.FromResult(res)
		for _, g := range gs {
			g.AddTo(a)
		}
		for _, format := range report.Formats() {
			if err := format.Write(io.Discard, a); err != nil {
				t.Errorf("format %s: %v", format.Name, err)
			}
		}
		var first, second bytes.Buffer
		if err := report.JSON(&first, a); err != nil {
			t.Fatal(err)
		}
		back, err := report.ReadJSON(bytes.NewReader(first.Bytes()), "fuzz.json")
		if err != nil {
			t.Fatalf("ReadJSON(JSON(report)): %v", err)
		}
		if err := report.JSON(&second, back); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Errorf("JSON does not round-trip:\n%s\n---\n%s", first.Bytes(), second.Bytes())
		}

		v, err := hb.Graph().Select(hbgraph.Filter{})
		if err != nil {
			t.Fatalf("Select: %v", err)
		}
		if err := report.DOT(io.Discard, v); err != nil {
			t.Errorf("DOT: %v", err)
		}
		if err := report.GraphJSON(io.Discard, v); err != nil {
			t.Errorf("GraphJSON: %v", err)
		}

		hbRel.Related()
		for _, n := range []int{selection.MaxNodes, 7} {
			selection.MaxNodes = n
			got, err := hbSel.Graph().Select(selection)
			if err != nil {
				t.Fatalf("Select of the graph selected while reading: %v", err)
			}
			if got.Len() > n {
				t.Errorf("selected while reading with a budget of %d: %d nodes", n, got.Len())
			}
			if hb.Graph().Dropped > 0 {
				continue // the whole graph is not whole
			}
			want, err := hb.Graph().Select(selection)
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			var gotDOT, wantDOT bytes.Buffer
			report.DOT(&gotDOT, got)
			report.DOT(&wantDOT, want)
			if !bytes.Equal(gotDOT.Bytes(), wantDOT.Bytes()) {
				t.Errorf("budget %d: selected while reading:\n%s\nwant (whole graph, then selected):\n%s", n, gotDOT.Bytes(), wantDOT.Bytes())
			}
		}
	})
}
