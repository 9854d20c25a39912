package hbgraph

import (
	"cmp"
	"slices"

	"github.com/blockscope/blockscope/internal/idmap"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// Selecting while reading (Options.Select): the Builder numbers every node
// as the whole graph would, decides at once whether Graph.Select would
// draw it, and keeps only those, up to the filter's node budget. Past the
// budget it counts what the cut leaves out and keeps nothing more. Besides
// the kept nodes it holds, per goroutine alive, its last node (what the
// folding of parks and sleeps looks at) and where the whole graph would
// put its lane; pairing buckets hold kept nodes only (and, for a relating
// Builder, see Relation, the nodes that may pair with them later).

// Node handles the pairing code passes around in a selecting Builder,
// besides a kept node's id and NoNode (a node not selected).
const (
	cutNode    NodeID = -2 // selected and drawn, but past the node budget
	foldedWake NodeID = -3 // the wake of a folded park: its edges go to the node after it
	// foreignCur is, for a relating Builder, the annotation being paired
	// when it is not kept: it pairs as a kept node does (its partner may
	// come later), its goroutine curG. Stashed in a bucket, it becomes a
	// handle below, whose goroutine selection.foreign holds.
	foreignCur NodeID = -4
)

// How a block folds (see Graph.foldInto).
const (
	foldNone uint8 = iota
	foldSleep
	foldPark
)

// selection is what a graph built with Options.Select keeps besides its
// nodes: what Graph.Select of the whole graph would say about the rest.
type selection struct {
	f      Filter
	gs     map[parse.GoID]bool // Filter.Goroutines; nil: every goroutine
	seen   map[parse.GoID]bool // those of gs with a node, in the window or not
	object bool                // a node was an annotation about Filter.Object
	next   NodeID              // the id the whole graph gives its next node
	drawn  int                 // selected nodes not folded, kept or cut
	full   bool                // the budget is spent: the nodes kept are a prefix
	after  parse.Time          // the time of the first node cut
	// sureAfter is the time of the first node cut that is not unsure.
	sureAfter parse.Time
	sureCut   bool
	folded    Folded
	live      idmap.Map[parse.GoID, goState]
	// beyond counts, per kept node, its edges to nodes past the budget.
	beyond map[NodeID]int
	// edges are the view's edges between kept nodes, ordered and
	// deduplicated as Graph.Select orders them: by their ends in the whole
	// graph (a folded wake's edge goes elsewhere).
	edges []selEdge
	atEnd []NodeID // kept nodes where a goroutine was blocked at the end
	// primitive caches Graph.inPrimitive's answer per stack.
	primitive map[parse.StackID]bool
	wakeG     *goState // the goroutine whose node add last made foldedWake
	// curG is the goroutine of the node being paired: the end of an edge
	// that is not kept is always that node (see Builder.source), or one
	// Event or chanTry names.
	curG parse.GoID
	// With Options.Relate: the goroutines noted at the other end of the
	// kept nodes' edges, and, at the end, those Related returns.
	relate  *Relation
	related map[parse.GoID]bool
	relList []parse.GoID
	foreign []parse.GoID // see foreignCur
	// unsure are the nodes selected before the trace said whether their
	// goroutine (or, for a go or an unblock, the peer) is the runtime's:
	// kept or cut, they are checked again at the end.
	unsure []unsureNode
}

type unsureNode struct {
	handle NodeID // the node, or cutNode
	g      parse.GoID
	peer   parse.GoID
	kind   NodeKind
	time   parse.Time
}

type selEdge struct {
	e        Edge
	from, to NodeID // the edge's ends in the whole graph
}

// goState is what a selecting Builder keeps of a goroutine alive.
type goState struct {
	order int64 // 2×(id of the node first naming it), +1 if as a peer
	kind  NodeKind
	last  NodeID // handle of its last node
	fold  uint8  // how its last node, a block, folds
	rep   NodeID // a folded park's handle of the annotation before it
	// The edge into its last node, a folded park's wake (a wake has one,
	// its unblock), waits for the node after it: it goes there if that is
	// an annotation, else to wakeRep.
	wakeID  NodeID
	wakeRep NodeID
	waiting Edge
	waits   bool
}

// Relation, as Options.Relate, makes a Builder the first of two passes for
// a selection that needs every edge of the whole graph (Filter.Related,
// or the goroutines with an edge into a finding's): it keeps the nodes of
// Goroutines only, pairs them as the whole graph does, and notes the
// goroutines at the other end of their edges, which Builder.Related
// returns. It keeps no node: since the partner of an edge may come first,
// only the pairing state of every annotation (as the whole graph's Builder
// does) and the goroutines alive.
type Relation struct {
	Goroutines []parse.GoID
	// Into notes only the goroutines with an edge into Goroutines.
	Into bool
	// System notes the runtime's and the tracer's goroutines too.
	System bool
}

// Related returns, after Finalize, the goroutines a Builder with
// Options.Relate noted, in order of id, and which of the Relation's
// goroutines the whole graph would give a lane (a node of theirs, or one
// naming them).
func (b *Builder) Related() (related, seen []parse.GoID) {
	s := b.sel
	if !b.done || s == nil || s.relate == nil {
		panic("hbgraph: Related needs a Builder with Options.Relate, after Finalize")
	}
	for _, id := range s.relate.Goroutines {
		if s.seen[id] {
			seen = append(seen, id)
		}
	}
	return s.relList, seen
}

func newSelection(f Filter) *selection {
	if f.Related {
		panic("hbgraph: Options.Select with Related needs the whole graph")
	}
	s := &selection{f: f, beyond: make(map[NodeID]int), primitive: make(map[parse.StackID]bool)}
	if len(f.Goroutines) > 0 {
		s.gs, s.seen = make(map[parse.GoID]bool), make(map[parse.GoID]bool)
		for _, id := range f.Goroutines {
			s.gs[id] = true
		}
	}
	return s
}

// state returns goroutine id's state, making it (first named by the node
// of that order) if new.
func (s *selection) state(id parse.GoID, order int64) *goState {
	st := s.live.Lookup(id)
	if st == nil {
		st = s.live.Ref(id)
		*st = goState{order: order, last: NoNode, rep: NoNode}
	}
	return st
}

// system reports whether goroutine id is the runtime's or the tracer's, as
// far as the trace has said; unsure if it has not said yet (no stack of
// the goroutine came).
func (b *Builder) system(id parse.GoID) (system, unsure bool) {
	gr := b.trace.Goroutine(id)
	if gr == nil {
		return false, false
	}
	return gr.System, gr.Entry == ""
}

// laneSelected reports whether the filter selects goroutine id's lane.
func (b *Builder) laneSelected(id parse.GoID) (selected, unsure bool) {
	s := b.sel
	if s.gs != nil || s.f.System {
		return s.gs == nil || s.gs[id], false
	}
	system, unsure := b.system(id)
	return !system, unsure
}

// selected reports whether Graph.Select would select the node, as far as
// the trace has said whose goroutines are the runtime's.
func (b *Builder) selected(id parse.GoID, kind NodeKind, t parse.Time, peer parse.GoID, obj wire.ObjectID) (selected, unsure bool) {
	f := &b.sel.f
	if t < f.From || f.To != 0 && t > f.To || f.Object != wire.NoObject && (kind != NodeAnnotation || obj != f.Object) {
		return false, false
	}
	selected, unsure = b.laneSelected(id)
	if !selected || kind != NodeGo && kind != NodeUnblock || peer == parse.NoGoroutine || f.System {
		return selected, unsure
	}
	// A go statement or an unblock about a hidden runtime goroutine only.
	if ps, punsure := b.laneSelected(peer); ps && !punsure {
		return true, unsure
	}
	system, sunsure := b.system(peer)
	return !system, unsure || sunsure
}

// selectNode numbers a node of the whole graph, keeps it if it is drawn and
// within the budget, and returns its handle.
func (b *Builder) selectNode(id parse.GoID, kind NodeKind, t parse.Time, stack parse.StackID, peer parse.GoID, reason string, obj wire.ObjectID) NodeID {
	s := b.sel
	n := s.next
	s.next++
	st := s.state(id, 2*int64(n))
	if peer != parse.NoGoroutine {
		s.state(peer, 2*int64(n)+1)
	}
	s.curG = id
	if s.gs[id] {
		s.seen[id] = true
	}
	if s.gs[peer] {
		s.seen[peer] = true // the whole graph gives it a lane
	}
	if kind == NodeAnnotation && obj == s.f.Object {
		s.object = true
	}
	handle, fold, rep := NoNode, foldNone, NoNode
	if ok, unsure := b.selected(id, kind, t, peer, obj); ok {
		f := &s.f
		switch {
		case kind == NodeBlock && f.FoldSleeps && reason == parse.ReasonSleep:
			fold = foldSleep
			s.folded.Sleeps++
		case kind == NodeBlock && f.FoldParks && st.kind == NodeAnnotation && b.inPrimitive(stack):
			fold, rep = foldPark, st.last
			s.folded.Parks++
		case kind == NodeWake && st.kind == NodeBlock && st.fold == foldSleep:
			// Left out with its sleep.
		case kind == NodeWake && st.kind == NodeBlock && st.fold == foldPark:
			handle = foldedWake
			st.wakeID, st.wakeRep = n, st.rep
			s.wakeG = st
		default:
			s.drawn++
			// Unsure nodes are kept beyond the budget, up to as many again:
			// the end may say they are not drawn.
			if s.full || f.MaxNodes > 0 && b.g.Len() >= f.MaxNodes+min(len(s.unsure), f.MaxNodes) {
				if !s.full {
					s.full, s.after = true, t
				}
				if !unsure && !s.sureCut {
					s.sureCut, s.sureAfter = true, t
				}
				handle = cutNode
			} else {
				handle = n
				if s.related == nil {
					b.store(n, id, kind, t, stack, peer, reason)
				}
			}
			if unsure {
				s.unsure = append(s.unsure, unsureNode{handle, id, peer, kind, t})
			}
		}
	} else if s.related != nil && kind == NodeAnnotation {
		handle = foreignCur
	}
	if st.waits {
		to := st.wakeRep
		if kind == NodeAnnotation {
			to = handle
		}
		b.place(st.waiting.From, to, st.waiting.From, st.wakeID, st.waiting)
		st.waits = false
	}
	if handle != foldedWake {
		st.kind, st.last, st.fold, st.rep = kind, handle, fold, rep
	} else {
		st.kind, st.last, st.fold = kind, handle, foldNone
	}
	if kind == NodeExit {
		s.live.Delete(id)
	}
	return handle
}

// store keeps node n.
func (b *Builder) store(n NodeID, id parse.GoID, kind NodeKind, t parse.Time, stack parse.StackID, peer parse.GoID, reason string) {
	g := b.g
	li := b.lane(id)
	p := int32(-1)
	if peer != parse.NoGoroutine {
		p = b.lane(peer)
	}
	g.addNode(node{time: t, lane: li, peer: p, stack: stack, ann: -1, reason: b.reason(reason), kind: kind})
	g.ids.push(n)
}

// inPrimitive reports whether a stack's innermost frame outside the
// runtime is in blockscope's primitives (see Graph.foldInto).
func (b *Builder) inPrimitive(stack parse.StackID) bool {
	s := b.trace.Stacks
	if s == nil || stack == parse.NoStack {
		return false
	}
	p, ok := b.sel.primitive[stack]
	if !ok {
		p = inPrimitive(s, stack)
		b.sel.primitive[stack] = p
	}
	return p
}

// selectEdge takes in an edge between two handles.
func (b *Builder) selectEdge(from, to NodeID, r Rule, k wire.Kind, obj wire.ObjectID) {
	e := Edge{From: from, To: to, Rule: r, Prim: k, Object: obj}
	if to == foldedWake {
		st := b.sel.wakeG
		st.waiting, st.waits = e, true
		return
	}
	b.place(from, to, from, to, e)
}

// place records edge e, whose ends in the whole graph are of and ot, with
// its ends moved to the handles from and to: an edge of the view if both
// are kept, an edge to the cut if one is.
func (b *Builder) place(from, to, of, ot NodeID, e Edge) {
	s := b.sel
	switch {
	case from == to || from < 0 && to < 0:
	case from >= 0 && to >= 0:
		if s.related != nil {
			return // between the goroutines related to: none new
		}
		g := b.g
		if nf, nt := g.node(from), g.node(to); of == from && ot == to && nf.lane == nt.lane && nf.pos > nt.pos {
			g.warn("%s edge from G%d's node %d back to its earlier node %d ignored", e.Rule, g.lanes[nf.lane].G, from, to)
			return
		}
		e.From, e.To = from, to
		s.edges = append(s.edges, selEdge{e, of, ot})
	case to == cutNode:
		s.beyond[from]++
	case from == cutNode:
		s.beyond[to]++
	case s.related != nil && (to >= 0 || from >= 0 && !s.relate.Into):
		other := s.endG(from)
		if from >= 0 {
			other = s.endG(to)
		}
		if !s.related[other] {
			s.related[other] = true
			b.trace.Retain(other) // for its system flag at the end
		}
	}
}

// stored reports whether the graph holds node id: a relating Builder
// holds none, its kept nodes are handles for the pairing only.
func (b *Builder) stored(id NodeID) bool {
	return id >= 0 && (b.sel == nil || b.sel.related == nil)
}

// keeps reports whether the pairing keeps node id in its buckets: a kept
// node, or a relating Builder's foreign one.
func (b *Builder) keeps(id NodeID) bool { return id >= 0 || id == foreignCur }

// stash returns the handle under which the pairing keeps node id.
func (b *Builder) stash(id NodeID) NodeID {
	if id != foreignCur {
		return id
	}
	s := b.sel
	s.foreign = append(s.foreign, s.curG)
	return foreignCur - NodeID(len(s.foreign))
}

// endG returns the goroutine of an edge's end that is not kept.
func (s *selection) endG(h NodeID) parse.GoID {
	if h < foreignCur {
		return s.foreign[foreignCur-1-h]
	}
	return s.curG
}

// finishSelection resolves what waited for a next node, marks where
// goroutines were blocked at the end, orders the lanes and edges as the
// whole graph has them, and hands the edges to the graph.
func (b *Builder) finishSelection(t *parse.Trace) {
	s, g := b.sel, b.g
	for id, st := range s.live.All() {
		if st.waits {
			b.place(st.waiting.From, st.wakeRep, st.waiting.From, st.wakeID, st.waiting)
			st.waits = false
		}
		if st.kind != NodeBlock {
			continue
		}
		gr := t.Goroutine(id)
		if gr == nil || gr.State != parse.StateWaiting {
			continue
		}
		switch {
		case st.last >= 0:
			s.atEnd = append(s.atEnd, st.last)
		case st.fold == foldPark && st.rep >= 0:
			s.atEnd = append(s.atEnd, st.rep)
		}
	}
	s.live.Clear()
	s.primitive, s.wakeG = nil, nil
	b.settle()
	for id := range s.related {
		if gr := t.Goroutine(id); !s.gs[id] && (s.relate.System || gr == nil || !gr.System) {
			s.relList = append(s.relList, id)
		}
	}
	slices.Sort(s.relList)

	// Lanes in the whole graph's order.
	perm := make([]int32, len(g.lanes))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int { return cmp.Compare(g.lanes[a].order, g.lanes[b].order) })
	where := make([]int32, len(perm))
	lanes := make([]Lane, len(perm))
	laneLen := make([]int32, len(perm))
	for to, from := range perm {
		where[from] = int32(to)
		lanes[to], laneLen[to] = g.lanes[from], g.laneLen[from]
		g.byG[lanes[to].G] = int32(to)
	}
	g.lanes, g.laneLen = lanes, laneLen
	for i := range g.nodes.len() {
		n := g.nodes.at(int32(i))
		n.lane = where[n.lane]
		if n.peer >= 0 {
			n.peer = where[n.peer]
		}
	}

	slices.SortStableFunc(s.edges, func(a, b selEdge) int {
		if c := cmp.Compare(a.from, b.from); c != 0 {
			return c
		}
		return cmp.Compare(a.to, b.to)
	})
	type edgeKey struct {
		from, to NodeID
		rule     Rule
	}
	seen := make(map[edgeKey]bool)
	kept := s.edges[:0]
	for _, se := range s.edges {
		k := edgeKey{se.e.From, se.e.To, se.e.Rule}
		if seen[k] {
			continue
		}
		seen[k] = true
		kept = append(kept, se)
		g.addEdge(se.e)
	}
	s.edges = kept
}

// selectKept returns the view f selects of a graph built with
// Options.Select: f must be the selection it was built with, with a node
// budget no larger.
func (g *Graph) selectKept(f Filter) (*View, error) {
	s := g.sel
	same := f.Related == s.f.Related && f.Object == s.f.Object && f.From == s.f.From && f.To == s.f.To &&
		f.System == s.f.System && f.FoldParks == s.f.FoldParks && f.FoldSleeps == s.f.FoldSleeps &&
		slices.Equal(f.Goroutines, s.f.Goroutines) &&
		(s.f.MaxNodes == 0 || f.MaxNodes > 0 && f.MaxNodes <= s.f.MaxNodes)
	if !same {
		return nil, errSelection
	}
	for _, id := range f.Goroutines {
		if !s.seen[id] {
			return nil, g.noLane(id)
		}
	}
	n := g.Len()
	if f.Object != wire.NoObject && n == 0 && !s.object {
		return nil, errNoObject(f.Object)
	}
	v := &View{Graph: g, Folded: s.folded, AtEnd: make(map[NodeID]bool)}
	v.Cut.Selected = s.drawn
	m := n
	if f.MaxNodes > 0 && m > f.MaxNodes {
		m = f.MaxNodes
	}
	v.Cut.Nodes = s.drawn - m
	v.Cut.After = s.after
	if m < n {
		v.Cut.After = g.nodes.at(int32(m)).time
	}
	// Ids are in order: the view's nodes are those below limit.
	limit := NodeID(1<<31 - 1)
	if m < n {
		limit = g.id(m)
	}
	byLane := make([][]NodeID, len(g.lanes))
	for i := range m {
		id := g.id(i)
		l := g.nodes.at(int32(i)).lane
		byLane[l] = append(byLane[l], id)
		if v.Cut.Nodes > 0 {
			v.Cut.Edges += s.beyond[id]
		}
	}
	for i := range g.lanes {
		if len(byLane[i]) > 0 {
			v.Lanes = append(v.Lanes, ViewLane{Lane: &g.lanes[i], Nodes: byLane[i]})
		}
	}
	for _, id := range s.atEnd {
		if id < limit {
			v.AtEnd[id] = true
		}
	}
	for _, se := range s.edges {
		e := se.e
		switch from, to := e.From < limit, e.To < limit; {
		case from && to:
			e.Cyclic = g.cyclic(e)
			v.Edges = append(v.Edges, e)
		case from != to:
			v.Cut.Edges++
		}
	}
	return v, nil
}

// cyclic reports whether the graph marked edge e Cyclic.
func (g *Graph) cyclic(e Edge) bool {
	for _, o := range g.Out(e.From) {
		if o.To == e.To && o.Rule == e.Rule {
			return o.Cyclic
		}
	}
	return false
}

// settle leaves out the unsure nodes the end of the trace says are not
// selected: those of a goroutine, or about a peer, that turned out to be
// the runtime's.
func (b *Builder) settle() {
	s, g := b.sel, b.g
	drop := make(map[NodeID]bool)
	// The first node cut is the first sure one, or an unsure one before
	// it that stays.
	after, cut := s.sureAfter, s.sureCut
	for _, u := range s.unsure {
		selected, _ := b.laneSelected(u.g)
		if selected && (u.kind == NodeGo || u.kind == NodeUnblock) && !s.f.System {
			if ps, _ := b.laneSelected(u.peer); !ps {
				system, _ := b.system(u.peer)
				selected = !system
			}
		}
		if selected {
			if u.handle == cutNode && (!cut || u.time < after) {
				after, cut = u.time, true
			}
			continue
		}
		s.drawn--
		if u.handle >= 0 {
			drop[u.handle] = true
		}
	}
	s.unsure = nil
	if s.full {
		s.after = after
	}
	if len(drop) == 0 {
		return
	}
	var nodes chunks[node]
	var ids chunks[NodeID]
	clear(g.laneLen)
	for i := range g.nodes.len() {
		id := *g.ids.at(int32(i))
		if drop[id] {
			delete(s.beyond, id)
			continue
		}
		n := *g.nodes.at(int32(i))
		g.laneLen[n.lane]++
		n.pos = g.laneLen[n.lane]
		nodes.push(n)
		ids.push(id)
	}
	g.nodes, g.ids = nodes, ids
	edges := s.edges[:0]
	for _, e := range s.edges {
		if !drop[e.e.From] && !drop[e.e.To] {
			edges = append(edges, e)
		}
	}
	s.edges = edges
	atEnd := s.atEnd[:0]
	for _, id := range s.atEnd {
		if !drop[id] {
			atEnd = append(atEnd, id)
		}
	}
	s.atEnd = atEnd
}
