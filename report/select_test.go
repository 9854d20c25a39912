package report_test

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// selectionTraces are the traces TestSelectWhileReading compares on: the
// annotated fixtures and the corpus' Go 1.26 and goker traces.
func selectionTraces(t *testing.T) []string {
	paths, _ := filepath.Glob(filepath.Join("..", "fixtures", "*", "testdata", "go126.trace"))
	paths = append(paths, filepath.Join("testdata", "hb.trace"))
	if _, ok := corpus.Find(); ok {
		paths = append(paths, corpus.Files(t, "go126", "*.trace")...)
		paths = append(paths, corpus.Files(t, "goker", "*.trace")...)
	}
	return paths
}

// filtersFor are the selections to compare on graph g: hb's default, no
// limit, small budgets, the runtime's goroutines, the two busiest
// goroutines, the middle of the trace, and the busiest object.
func filtersFor(g *hbgraph.Graph, duration parse.Time) map[string]hbgraph.Filter {
	fold := hbgraph.Filter{FoldParks: true, FoldSleeps: true}
	with := func(f hbgraph.Filter, edit func(*hbgraph.Filter)) hbgraph.Filter {
		edit(&f)
		return f
	}
	out := map[string]hbgraph.Filter{
		"default":   with(fold, func(f *hbgraph.Filter) { f.MaxNodes = 500 }),
		"budget 40": with(fold, func(f *hbgraph.Filter) { f.MaxNodes = 40 }),
		"system":    {System: true, MaxNodes: 100},
		"window": with(fold, func(f *hbgraph.Filter) {
			f.From, f.To, f.MaxNodes = duration/3, 2*duration/3, 60
		}),
	}
	if g.Len() <= 5000 { // drawing more takes seconds
		out["everything"] = hbgraph.Filter{}
	}
	lanes := slices.Clone(g.Lanes())
	slices.SortStableFunc(lanes, func(a, b hbgraph.Lane) int { return len(b.Nodes) - len(a.Nodes) })
	if len(lanes) >= 2 {
		out["goroutines"] = with(fold, func(f *hbgraph.Filter) { f.Goroutines = []parse.GoID{lanes[0].G, lanes[1].G} })
		out["related"] = with(fold, func(f *hbgraph.Filter) {
			f.Goroutines, f.Related, f.MaxNodes = []parse.GoID{lanes[1].G}, true, 80
		})
	}
	count := make(map[wire.ObjectID]int)
	best := wire.NoObject
	for i := range g.Len() {
		if n := g.Node(hbgraph.NodeID(i)); n.Kind == hbgraph.NodeAnnotation {
			count[n.Object]++
			if best == wire.NoObject || count[n.Object] > count[best] || count[n.Object] == count[best] && n.Object < best {
				best = n.Object
			}
		}
	}
	if best != wire.NoObject {
		out["object"] = hbgraph.Filter{Object: best, MaxNodes: 30}
	}
	return out
}

// render writes a view as DOT and as JSON.
func render(t *testing.T, v *hbgraph.View) string {
	t.Helper()
	var buf bytes.Buffer
	if err := report.DOT(&buf, v); err != nil {
		t.Fatal(err)
	}
	if err := report.GraphJSON(&buf, v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestSelectWhileReading checks that a graph built selecting while reading
// (hbgraph.Options.Select, dropping exited goroutines as hb does) draws
// exactly what selecting from the whole graph draws: the same DOT and
// JSON, node ids, cut and folding included, and so do smaller budgets
// selected from it (as hb's fit to Graphviz does). Related goroutines come
// from a first pass (hbgraph.Relation), as hb gets them.
func TestSelectWhileReading(t *testing.T) {
	for _, path := range selectionTraces(t) {
		whole := hbgraph.NewBuilder(hbgraph.Options{})
		tr, err := parse.File(path, parse.Options{DropBlocks: true}, whole)
		if err != nil {
			t.Logf("%s: %v (comparing what was read)", path, err)
		}
		if tr == nil {
			continue
		}
		g := whole.Graph()
		for name, f := range filtersFor(g, parse.Time(tr.Duration())) {
			t.Run(filepath.Base(filepath.Dir(filepath.Dir(path)))+"/"+filepath.Base(path)+"/"+name, func(t *testing.T) {
				if f.Related {
					// As hb does: a first pass for the goroutines, then
					// those without Related.
					rel := hbgraph.Relation{Goroutines: f.Goroutines, System: f.System}
					rb := hbgraph.NewBuilder(hbgraph.Options{Relate: &rel})
					if tr, _ := parse.File(path, parse.Options{DropBlocks: true, DropExited: true}, rb); tr == nil {
						t.Fatal("the relating pass read nothing")
					}
					related, _ := rb.Related()
					f.Goroutines, f.Related = append(slices.Clone(f.Goroutines), related...), false
				}
				sel := f
				b := hbgraph.NewBuilder(hbgraph.Options{Select: &sel})
				if tr, _ := parse.File(path, parse.Options{DropBlocks: true, DropExited: true}, b); tr == nil {
					t.Fatal("the selecting pass read nothing")
				}
				kept := b.Graph()
				if kept.Len() > g.Len() {
					t.Errorf("kept %d nodes of the whole graph's %d", kept.Len(), g.Len())
				}
				budgets := []int{f.MaxNodes}
				if f.MaxNodes > 7 {
					budgets = append(budgets, f.MaxNodes/2, 7)
				}
				wf := filtersFor(g, parse.Time(tr.Duration()))[name]
				for _, n := range budgets {
					f.MaxNodes, wf.MaxNodes = n, n
					want, werr := g.Select(wf)
					got, gerr := kept.Select(f)
					if werr != nil || gerr != nil {
						if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
							t.Errorf("budget %d: Select error %v; want %v", n, gerr, werr)
						}
						continue
					}
					if w, g := render(t, want), render(t, got); w != g {
						t.Errorf("budget %d: selected while reading:\n%s\nwant (whole graph, then selected):\n%s", n, g, w)
					}
				}
			})
		}
	}
}

// TestRelatedInto checks the first pass of hb --finding: the goroutines a
// Relation with Into notes are those with an edge into the named ones in
// the whole graph, the runtime's left out.
func TestRelatedInto(t *testing.T) {
	for _, path := range selectionTraces(t) {
		whole := hbgraph.NewBuilder(hbgraph.Options{})
		if tr, _ := parse.File(path, parse.Options{DropBlocks: true}, whole); tr == nil {
			continue
		}
		g := whole.Graph()
		lanes := slices.Clone(g.Lanes())
		slices.SortStableFunc(lanes, func(a, b hbgraph.Lane) int { return len(b.Nodes) - len(a.Nodes) })
		if len(lanes) < 2 {
			continue
		}
		named := []parse.GoID{lanes[0].G, lanes[1].G}
		var want []parse.GoID
		for _, e := range g.Edges() {
			from, to := g.Node(e.From).G, g.Node(e.To).G
			if slices.Contains(named, to) && !slices.Contains(named, from) && !g.Lane(from).System && !slices.Contains(want, from) {
				want = append(want, from)
			}
		}
		slices.Sort(want)
		rel := hbgraph.Relation{Goroutines: named, Into: true}
		b := hbgraph.NewBuilder(hbgraph.Options{Relate: &rel})
		if tr, _ := parse.File(path, parse.Options{DropBlocks: true, DropExited: true}, b); tr == nil {
			t.Fatalf("%s: the relating pass read nothing", path)
		}
		got, seen := b.Related()
		if !slices.Equal(got, want) || !slices.Equal(seen, named) {
			t.Errorf("%s: goroutines with an edge into %v = %v (named seen: %v); want %v", path, named, got, seen, want)
		}
	}
}
