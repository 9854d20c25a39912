package hbgraph

import (
	"errors"
	"fmt"
	"slices"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// Filter selects the part of a graph to show: real traces are too big to
// draw whole.
type Filter struct {
	// Goroutines keeps only these goroutines' lanes (all when empty).
	Goroutines []parse.GoID
	// Related adds the goroutines that share an edge with those of
	// Goroutines.
	Related bool
	// Object keeps only the annotations about this object.
	Object wire.ObjectID
	// From and To keep only the nodes in [From, To], times from the
	// trace's start; To 0 means the end.
	From, To parse.Time
	// System keeps the runtime's and the tracer's goroutines, which are
	// left out unless named in Goroutines, as are the go statements that
	// start them and the unblocks that wake them.
	System bool
	// MaxNodes keeps at most this many nodes, the earliest (0: no limit).
	MaxNodes int
	// FoldParks draws a block inside blockscope's primitives (and the
	// wake that ends it) as part of the operation's annotation;
	// FoldSleeps leaves out sleeps and the timer wakes that end them.
	FoldParks, FoldSleeps bool
}

// View is the part of a graph a Filter selected.
type View struct {
	Graph *Graph
	// Lanes are the goroutines with a node in the view, in the graph's
	// order, each with its selected nodes.
	Lanes []ViewLane
	// Edges are the graph's edges between nodes of the view.
	Edges []Edge
	// Cut says what MaxNodes left out.
	Cut Cut
	// Folded says what the filter's folding left out.
	Folded Folded
	// AtEnd marks the view's nodes where a goroutine was still blocked
	// when the trace ended (see Graph.BlockedAtEnd), folded ones included.
	AtEnd map[NodeID]bool
}

// ViewLane is one goroutine's nodes in a view, in program order.
type ViewLane struct {
	*Lane
	Nodes []NodeID
}

// Cut is what a Filter's MaxNodes left out of a view.
type Cut struct {
	Nodes int // selected nodes left out
	// Edges counts the edges between the nodes drawn and those left out
	// (not those among the nodes left out: a graph selected while reading
	// stops pairing them).
	Edges    int
	Selected int        // nodes the filter selected before the cut
	After    parse.Time // the time of the first node left out
}

// Select returns the view of g that f selects. It fails for a goroutine
// or object the trace does not have, for an empty time window, and, for a
// graph built with Options.Select, for a filter other than that one (a
// smaller MaxNodes is fine).
func (g *Graph) Select(f Filter) (*View, error) {
	if f.To != 0 && f.To < f.From {
		return nil, fmt.Errorf("empty time window: %v to %v", f.From.Duration(), f.To.Duration())
	}
	if g.sel != nil {
		return g.selectKept(f)
	}
	lanes := make([]bool, len(g.lanes))
	if len(f.Goroutines) == 0 {
		for i, l := range g.lanes {
			lanes[i] = f.System || !l.System
		}
	} else {
		for _, id := range f.Goroutines {
			i, ok := g.byG[id]
			if !ok {
				return nil, g.noLane(id)
			}
			lanes[i] = true
		}
		if f.Related {
			named := slices.Clone(lanes)
			for _, e := range g.edges {
				a, b := g.node(e.From).lane, g.node(e.To).lane
				if named[a] && (f.System || !g.lanes[b].System) {
					lanes[b] = true
				}
				if named[b] && (f.System || !g.lanes[a].System) {
					lanes[a] = true
				}
			}
		}
	}
	keep := func(id NodeID) bool {
		n := g.node(id)
		if !lanes[n.lane] || n.time < f.From || f.To != 0 && n.time > f.To {
			return false
		}
		if (n.kind == NodeGo || n.kind == NodeUnblock) && n.peer >= 0 && !lanes[n.peer] && !f.System && g.lanes[n.peer].System {
			return false // about a hidden runtime goroutine only
		}
		return f.Object == wire.NoObject || n.kind == NodeAnnotation && g.anns.at(n.ann).obj == f.Object
	}
	var ids []NodeID
	for i := range g.Len() {
		if keep(NodeID(i)) {
			ids = append(ids, NodeID(i))
		}
	}
	if f.Object != wire.NoObject && len(ids) == 0 && !g.hasObject(f.Object) {
		return nil, errNoObject(f.Object)
	}
	rep, folded := g.foldInto(f, ids)
	v := &View{Graph: g, Folded: folded, AtEnd: make(map[NodeID]bool)}
	if len(rep) > 0 {
		kept := ids[:0]
		for _, id := range ids {
			if _, ok := rep[id]; !ok {
				kept = append(kept, id)
			}
		}
		ids = kept
	}
	drawn := func(id NodeID) NodeID {
		if r, ok := rep[id]; ok {
			return r
		}
		return id
	}
	v.Cut.Selected = len(ids)
	left := make(map[NodeID]bool)
	if f.MaxNodes > 0 && len(ids) > f.MaxNodes {
		v.Cut.Nodes = len(ids) - f.MaxNodes
		v.Cut.After = g.node(ids[f.MaxNodes]).time
		for _, id := range ids[f.MaxNodes:] {
			left[id] = true
		}
		ids = ids[:f.MaxNodes]
	}
	in := make(map[NodeID]bool, len(ids))
	byLane := make(map[int32][]NodeID)
	for _, id := range ids {
		in[id] = true
		l := g.node(id).lane
		byLane[l] = append(byLane[l], id)
	}
	for i := range g.lanes {
		if nodes := byLane[int32(i)]; len(nodes) > 0 {
			v.Lanes = append(v.Lanes, ViewLane{Lane: &g.lanes[i], Nodes: nodes})
		}
	}
	for id, r := range rep {
		if r != NoNode && in[r] && g.BlockedAtEnd(id) {
			v.AtEnd[r] = true
		}
	}
	for _, id := range ids {
		if g.BlockedAtEnd(id) {
			v.AtEnd[id] = true
		}
	}
	type edgeKey struct {
		from, to NodeID
		rule     Rule
	}
	seen := make(map[edgeKey]bool)
	for _, e := range g.edges {
		if !keep(e.From) || !keep(e.To) {
			continue
		}
		from, to := drawn(e.From), drawn(e.To)
		switch {
		case from == NoNode || to == NoNode || from == to:
			// Folded away, or inside one operation.
		case in[from] && in[to]:
			k := edgeKey{from, to, e.Rule}
			if seen[k] {
				continue
			}
			seen[k] = true
			e.From, e.To = from, to
			v.Edges = append(v.Edges, e)
		case in[from] && left[to] || left[from] && in[to]:
			v.Cut.Edges++
		}
	}
	return v, nil
}

var errSelection = errors.New("the graph was built selecting with another filter")

func errNoObject(obj wire.ObjectID) error {
	return fmt.Errorf("no annotations about object %d in the trace", obj)
}

// hasObject reports whether any node is an annotation about obj.
func (g *Graph) hasObject(obj wire.ObjectID) bool {
	for i := range g.Len() {
		if n := g.node(NodeID(i)); n.kind == NodeAnnotation && g.anns.at(n.ann).obj == obj {
			return true
		}
	}
	return false
}

// Len returns the number of nodes in the view.
func (v *View) Len() int {
	n := 0
	for _, l := range v.Lanes {
		n += len(l.Nodes)
	}
	return n
}

// noLane says why goroutine id has no lane: the trace lacks it, or it took
// part in no synchronization while the trace ran (blocked throughout).
func (g *Graph) noLane(id parse.GoID) error {
	var gr *parse.Goroutine
	if g.trace != nil {
		gr = g.trace.Goroutine(id)
	}
	switch {
	case gr == nil:
		return fmt.Errorf("no goroutine %d in the trace", id)
	case gr.State == parse.StateWaiting:
		return fmt.Errorf("goroutine %d took part in no synchronization the trace shows: it was blocked (%s) throughout", id, gr.Reason)
	}
	return fmt.Errorf("goroutine %d took part in no synchronization the trace shows: it was %s throughout", id, gr.State)
}
