package hbgraph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/parse"
)

func TestSelect(t *testing.T) {
	// G1 starts G2 and G3; G2 hands mutex 1 to G3; G4 uses mutex 9 alone.
	// Events are at times 1, 2, 3, ...; a create adds two nodes.
	g := build(hbgraph.Options{},
		create(1, 2), create(1, 3),
		an(2, "mutex 1 lock 1"), an(4, "mutex 9 lock 1"), an(2, "mutex 1 unlock 1"),
		an(3, "mutex 1 lock 2"), an(4, "mutex 9 unlock 1"), exit(3),
	)
	lanes := func(v *hbgraph.View) string {
		var parts []string
		for _, l := range v.Lanes {
			parts = append(parts, fmt.Sprintf("G%d:%d", l.G, len(l.Nodes)))
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		name      string
		f         hbgraph.Filter
		wantLanes string
		wantEdges int
		wantCut   hbgraph.Cut
	}{
		{"everything", hbgraph.Filter{}, "G1:2 G2:3 G3:3 G4:2", 3, hbgraph.Cut{Selected: 10}},
		{"one goroutine", hbgraph.Filter{Goroutines: []parse.GoID{2}}, "G2:3", 0, hbgraph.Cut{Selected: 3}},
		{"related", hbgraph.Filter{Goroutines: []parse.GoID{2}, Related: true}, "G1:2 G2:3 G3:3", 3, hbgraph.Cut{Selected: 8}},
		{"object", hbgraph.Filter{Object: 1}, "G2:2 G3:1", 1, hbgraph.Cut{Selected: 3}},
		{"time window", hbgraph.Filter{From: 3, To: 6}, "G2:2 G3:1 G4:1", 1, hbgraph.Cut{Selected: 4}},
		{"open-ended window", hbgraph.Filter{From: 6}, "G3:2 G4:1", 0, hbgraph.Cut{Selected: 3}},
		// The cut's edges join the nodes drawn to those left out: at 5,
		// the mutex's handoff is between two nodes left out; at 7, from a
		// node drawn to one left out.
		{"node budget", hbgraph.Filter{MaxNodes: 5}, "G1:2 G2:2 G3:1", 2, hbgraph.Cut{Nodes: 5, Edges: 0, Selected: 10, After: 4}},
		{"node budget across an edge", hbgraph.Filter{MaxNodes: 7}, "G1:2 G2:3 G3:1 G4:1", 2, hbgraph.Cut{Nodes: 3, Edges: 1, Selected: 10, After: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := g.Select(tt.f)
			if err != nil {
				t.Fatalf("Select(%+v): %v", tt.f, err)
			}
			if got := lanes(v); got != tt.wantLanes || len(v.Edges) != tt.wantEdges || v.Cut != tt.wantCut {
				t.Errorf("Select(%+v) = lanes %q, %d edges, cut %+v; want %q, %d, %+v", tt.f, got, len(v.Edges), v.Cut, tt.wantLanes, tt.wantEdges, tt.wantCut)
			}
		})
	}

	bad := []struct {
		name string
		f    hbgraph.Filter
		want string
	}{
		{"unknown goroutine", hbgraph.Filter{Goroutines: []parse.GoID{42}}, "no goroutine 42 in the trace"},
		{"unknown object", hbgraph.Filter{Object: 77}, "no annotations about object 77 in the trace"},
		{"empty window", hbgraph.Filter{From: 5, To: 2}, "empty time window: 5ns to 2ns"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := g.Select(tt.f); err == nil || err.Error() != tt.want {
				t.Errorf("Select(%+v) error = %v; want %q", tt.f, err, tt.want)
			}
		})
	}
}

// TestSelectQuietGoroutine: a goroutine the trace knows but that did
// nothing the graph records (blocked throughout) is named as such, not
// called missing.
func TestSelectQuietGoroutine(t *testing.T) {
	b := hbgraph.NewBuilder(hbgraph.Options{})
	tr, err := parse.File("../parse/testdata/preexisting.trace", parse.Options{DropBlocks: true}, b)
	if err != nil {
		t.Fatal(err)
	}
	g := b.Graph()
	quiet := 0
	for _, gr := range tr.Goroutines() {
		if gr.System {
			continue
		}
		if _, err := g.Select(hbgraph.Filter{Goroutines: []parse.GoID{gr.ID}}); err != nil {
			quiet++
			if want := fmt.Sprintf("goroutine %d took part in no synchronization the trace shows: it was blocked (%s) throughout", gr.ID, gr.Reason); err.Error() != want {
				t.Errorf("Select(G%d) error = %q; want %q", gr.ID, err, want)
			}
		}
	}
	if quiet == 0 {
		t.Error("no goroutine blocked throughout the trace: the test proves nothing")
	}
	if _, err := g.Select(hbgraph.Filter{Goroutines: []parse.GoID{1 << 40}}); err == nil || !strings.Contains(err.Error(), "no goroutine") {
		t.Errorf("Select(a goroutine the trace lacks) error = %v; want no goroutine", err)
	}
}
