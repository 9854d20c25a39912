package hbgraph

import (
	"github.com/blockscope/blockscope/parse"
)

// Folded counts what a Filter's folding left out of a view.
type Folded struct {
	// Parks are blocks (and the wakes ending them) inside blockscope's
	// primitives, drawn as part of the operation's annotation.
	Parks int
	// Sleeps are sleep blocks and the timer wakes ending them.
	Sleeps int
}

// foldInto returns, for a view of nodes ids, what each node is drawn as:
// itself, another node of its lane it folds into, or NoNode for a node
// left out; and what was folded. A primitive's park (a block whose stack
// runs through blockscope's primitives) folds into the annotation before
// it, the wake that ends it into the annotation after it (the operation
// the park was part of); a sleep and its timer wake are left out.
func (g *Graph) foldInto(f Filter, ids []NodeID) (map[NodeID]NodeID, Folded) {
	var folded Folded
	rep := make(map[NodeID]NodeID)
	if !f.FoldParks && !f.FoldSleeps {
		return rep, folded
	}
	primitive := make(map[parse.StackID]bool)
	isPrimitive := func(stack parse.StackID) bool {
		if g.Stacks == nil || stack == parse.NoStack {
			return false
		}
		p, ok := primitive[stack]
		if !ok {
			p = inPrimitive(g.Stacks, stack)
			primitive[stack] = p
		}
		return p
	}
	for _, id := range ids {
		n := g.node(id)
		if n.kind != NodeBlock {
			continue
		}
		wake := g.Next(id)
		if wake != NoNode && g.node(wake).kind != NodeWake {
			wake = NoNode
		}
		switch {
		case f.FoldSleeps && g.reasons[n.reason] == parse.ReasonSleep:
			rep[id] = NoNode
			if wake != NoNode {
				rep[wake] = NoNode
			}
			folded.Sleeps++
		case f.FoldParks && isPrimitive(n.stack):
			before := g.Prev(id)
			if before == NoNode || g.node(before).kind != NodeAnnotation {
				continue
			}
			rep[id] = before
			folded.Parks++
			if wake == NoNode {
				continue
			}
			rep[wake] = before
			if after := g.Next(wake); after != NoNode && g.node(after).kind == NodeAnnotation {
				rep[wake] = after
			}
		}
	}
	return rep, folded
}

// inPrimitive reports whether the innermost frame of a stack outside the
// runtime is in blockscope's primitives: a park there is part of the
// primitive's operation.
func inPrimitive(s *parse.Stacks, stack parse.StackID) bool {
	for i, n := 0, s.Depth(stack); i < n; i++ {
		if fr := s.Frame(stack, i); !fr.IsRuntime() {
			return fr.IsPrimitive()
		}
	}
	return false
}

// BlockedAtEnd reports whether node id is where its goroutine was still
// blocked when the trace ended: the goroutine's last node, a block, with
// the goroutine waiting at the end.
func (g *Graph) BlockedAtEnd(id NodeID) bool {
	n := g.node(id)
	if n.kind != NodeBlock || g.Next(id) != NoNode || g.trace == nil {
		return false
	}
	gr := g.trace.Goroutine(g.lanes[n.lane].G)
	return gr != nil && gr.State == parse.StateWaiting
}
