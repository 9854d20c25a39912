package hbgraph_test

import (
	"strings"
	"testing"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/parse"
)

// TestFoldSleeps: a sleep and the timer wake that ends it are left out of
// a view with FoldSleeps, and counted; other blocks and their edges stay.
func TestFoldSleeps(t *testing.T) {
	g := build(hbgraph.Options{},
		create(1, 2),
		block(2, parse.ReasonSleep), wake(2, parse.NoGoroutine, parse.ReasonSleep),
		block(2, parse.ReasonChanReceive), wake(2, 1, parse.ReasonChanReceive),
		exit(2),
	)
	labels := func(v *hbgraph.View) string {
		var out []string
		for _, l := range v.Lanes {
			for _, id := range l.Nodes {
				out = append(out, g.Label(id))
			}
		}
		return strings.Join(out, "; ")
	}
	all, err := g.Select(hbgraph.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	folded, err := g.Select(hbgraph.Filter{FoldSleeps: true, FoldParks: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(labels(folded), "sleep") || !strings.Contains(labels(all), "sleep") {
		t.Errorf("nodes = %q without folding, %q with; want the sleep pair only without", labels(all), labels(folded))
	}
	if folded.Len() != all.Len()-2 || folded.Folded.Sleeps != 1 || folded.Folded.Parks != 0 {
		t.Errorf("folded view: %d nodes (of %d), %+v; want 2 fewer, 1 sleep folded", folded.Len(), all.Len(), folded.Folded)
	}
	if len(folded.Edges) != len(all.Edges) {
		t.Errorf("folded view has %d edges, the whole %d; want the go and unblock edges kept", len(folded.Edges), len(all.Edges))
	}
}
