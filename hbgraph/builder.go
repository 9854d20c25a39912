package hbgraph

import (
	"fmt"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// Options control what a Builder keeps.
type Options struct {
	// AnnotatedOnly keeps only goroutine starts (with their go edges),
	// exits and primitive annotations: no block, wake or unblock nodes,
	// so no runtime unblock edges. For huge traces of annotated programs.
	AnnotatedOnly bool
	// MaxNodes stops adding nodes once the graph holds that many (0: no
	// limit); Graph.Dropped counts the rest.
	MaxNodes int
	// Select, if set, selects while reading: the graph keeps only the
	// nodes Graph.Select(*Select) of the whole graph would draw (under the
	// same ids), the edges between them, and what Select needs to say
	// what it cut and folded, so that memory follows the selection and the
	// goroutines alive, not the trace. Select of such a graph takes that
	// filter only, with a MaxNodes no larger. Related needs the whole graph
	// (NewBuilder panics; see Relation). Queries (HappensBefore, Clock,
	// CriticalPath) see only the nodes and edges kept: a path or a cycle
	// through nodes left out is not seen.
	Select *Filter
	// Relate, if set (and Select not), makes the Builder find the
	// goroutines related to some (see Relation); its graph is of no use.
	Relate *Relation
}

// Builder builds a Graph from parse's event stream: a parse.Consumer. Its
// memory follows the synchronization points it keeps.
type Builder struct {
	opts    Options
	g       *Graph
	reasons map[string]uint16
	pairs   map[pairKey]*pending
	groups  map[wire.ObjectID]*egState
	chans   map[wire.ObjectID]*chanState
	// internal caches runtimeWait's answer per stack.
	internal map[parse.StackID]bool
	done     bool
	trace    *parse.Trace // the trace being read, once an event came
	sel      *selection   // see Options.Select
}

// NewBuilder returns a Builder; pass it to parse.Parse or parse.File.
func NewBuilder(opts Options) *Builder {
	b := &Builder{
		opts: opts,
		g: &Graph{
			byG:     make(map[parse.GoID]int32),
			reasons: []string{""},
			names:   make(map[wire.ObjectID]string),
		},
		reasons:  map[string]uint16{"": 0},
		pairs:    make(map[pairKey]*pending),
		groups:   make(map[wire.ObjectID]*egState),
		chans:    make(map[wire.ObjectID]*chanState),
		internal: make(map[parse.StackID]bool),
	}
	switch {
	case opts.Select != nil:
		b.sel = newSelection(*opts.Select)
		b.g.sel = b.sel
	case opts.Relate != nil:
		b.sel = newSelection(Filter{Goroutines: opts.Relate.Goroutines, System: true})
		b.sel.relate, b.sel.related = opts.Relate, make(map[parse.GoID]bool)
		b.g.sel = b.sel
	}
	return b
}

// Graph returns the graph; call it after Finalize.
func (b *Builder) Graph() *Graph {
	if !b.done {
		panic("hbgraph: Graph called before Finalize")
	}
	return b.g
}

// Event takes in one event of the pass.
func (b *Builder) Event(t *parse.Trace, ev *parse.Event) {
	b.trace = t
	switch ev.Kind {
	case parse.EvCreate:
		if ev.Peer == parse.NoGoroutine {
			b.add(ev.G, NodeStart, ev.Time, ev.Stack, parse.NoGoroutine, "", wire.NoObject)
			return
		}
		if !b.room(2) {
			return
		}
		from := b.add(ev.Peer, NodeGo, ev.Time, ev.PeerStack, ev.G, "", wire.NoObject)
		to := b.add(ev.G, NodeStart, ev.Time, ev.Stack, ev.Peer, "", wire.NoObject)
		if b.sel != nil && from < 0 {
			b.sel.curG = ev.Peer
		}
		b.edge(from, to, RuleGo, wire.KindBad, wire.NoObject)
	case parse.EvBlock:
		if !b.opts.AnnotatedOnly && !b.runtimeWait(t, ev) {
			b.add(ev.G, NodeBlock, ev.Time, ev.Stack, parse.NoGoroutine, ev.Reason, wire.NoObject)
		}
	case parse.EvWake:
		if b.opts.AnnotatedOnly || b.runtimeWait(t, ev) {
			return
		}
		if ev.Peer == parse.NoGoroutine {
			b.add(ev.G, NodeWake, ev.Time, ev.Stack, parse.NoGoroutine, ev.Reason, wire.NoObject)
			return
		}
		if !b.room(2) {
			return
		}
		from := b.add(ev.Peer, NodeUnblock, ev.Time, ev.PeerStack, ev.G, "", wire.NoObject)
		to := b.add(ev.G, NodeWake, ev.Time, ev.Stack, ev.Peer, ev.Reason, wire.NoObject)
		if b.sel != nil && from < 0 {
			b.sel.curG = ev.Peer
		}
		b.edge(from, to, RuleUnblock, wire.KindBad, wire.NoObject)
	case parse.EvExit:
		b.add(ev.G, NodeExit, ev.Time, parse.NoStack, parse.NoGoroutine, "", wire.NoObject)
	case parse.EvAnnotation:
		a := &ev.Annotation
		if a.Op == wire.OpName {
			b.g.names[a.Object] = a.Key
			return
		}
		id := b.add(ev.G, NodeAnnotation, ev.Time, ev.Stack, parse.NoGoroutine, "", a.Object)
		if b.stored(id) {
			b.g.node(id).ann = b.g.anns.push(annotation{obj: a.Object, seq: a.Seq, n: a.N, prim: a.Kind, op: a.Op})
		}
		// A selecting builder pairs the nodes it leaves out too (see
		// source): their handles say what they are.
		if id >= 0 || b.sel != nil && (b.sel.f.Object == wire.NoObject || a.Object == b.sel.f.Object) {
			b.pair(id, ev.G, a)
		}
	}
}

// Finalize completes the graph.
func (b *Builder) Finalize(t *parse.Trace) {
	g := b.g
	g.Path = t.Path
	g.Stacks = t.Stacks
	for i := range g.lanes {
		l := &g.lanes[i]
		if gr := t.Goroutine(l.G); gr != nil {
			l.Entry, l.System = gr.Entry, gr.System
		}
	}
	g.trace = t
	if b.sel != nil {
		b.finishSelection(t)
	}
	if g.Dropped > 0 {
		g.Warnings = append(g.Warnings, fmt.Sprintf("graph limited to %d nodes: %d later nodes and their edges left out", b.opts.MaxNodes, g.Dropped))
	}
	g.finish()
	b.pairs, b.groups, b.chans, b.reasons, b.internal = nil, nil, nil, nil, nil
	b.done = true
}

// room reports whether n more nodes fit the budget, counting them as
// dropped if not.
func (b *Builder) room(n int) bool {
	if b.sel != nil {
		return true // the selection's budget counts drawn nodes
	}
	if b.opts.MaxNodes > 0 && b.g.Len()+n > b.opts.MaxNodes {
		b.g.Dropped += n
		return false
	}
	return true
}

// lane returns the index of goroutine id's lane, adding it if new.
func (b *Builder) lane(id parse.GoID) int32 {
	g := b.g
	if i, ok := g.byG[id]; ok {
		return i
	}
	// Finalize names the lane from the goroutine's record, exited or not
	// (see parse.Options.DropExited).
	b.trace.Retain(id)
	i := g.addLane(id)
	if b.sel != nil {
		g.lanes[i].order = b.sel.live.Lookup(id).order
	}
	return i
}

// add appends a node to goroutine id's lane; NoNode if over budget. A
// selecting builder returns the node's handle (see selectNode).
func (b *Builder) add(id parse.GoID, kind NodeKind, t parse.Time, stack parse.StackID, peer parse.GoID, reason string, obj wire.ObjectID) NodeID {
	if b.sel != nil {
		return b.selectNode(id, kind, t, stack, peer, reason, obj)
	}
	if !b.room(1) {
		return NoNode
	}
	g := b.g
	li := b.lane(id)
	p := int32(-1)
	if peer != parse.NoGoroutine {
		p = b.lane(peer)
	}
	return g.addNode(node{
		time: t, lane: li, peer: p,
		stack: stack, ann: -1, reason: b.reason(reason), kind: kind,
	})
}

// reason returns the index of a wait reason, adding it if new.
func (b *Builder) reason(reason string) uint16 {
	g := b.g
	r, ok := b.reasons[reason]
	if !ok && len(g.reasons) < 1<<16 {
		r = uint16(len(g.reasons))
		b.reasons[reason] = r
		g.reasons = append(g.reasons, reason)
	}
	return r
}

// edge records from → to.
func (b *Builder) edge(from, to NodeID, r Rule, k wire.Kind, obj wire.ObjectID) {
	if b.sel != nil {
		b.selectEdge(from, to, r, k, obj)
		return
	}
	if from == NoNode || to == NoNode || from == to {
		return
	}
	g := b.g
	nf, nt := g.node(from), g.node(to)
	if nf.lane == nt.lane && nf.pos > nt.pos {
		g.warn("%s edge from G%d's node %d back to its earlier node %d ignored", r, g.lanes[nf.lane].G, from, to)
		return
	}
	g.addEdge(Edge{From: from, To: to, Rule: r, Prim: k, Object: obj})
}

const maxWarnings = 20

// warn adds a warning, up to maxWarnings.
func (g *Graph) warn(format string, args ...any) {
	switch {
	case len(g.Warnings) < maxWarnings:
		g.Warnings = append(g.Warnings, fmt.Sprintf(format, args...))
	case len(g.Warnings) == maxWarnings:
		g.Warnings = append(g.Warnings, "more warnings omitted")
	}
}

// runtimeReasons are the wait reasons of the runtime's own business (the
// garbage collector suspending a goroutine to scan its stack, a mark
// assist waiting for work, the runtime's goroutines idling).
var runtimeReasons = map[string]bool{
	"preempted":                    true,
	"GC mark assist wait for work": true,
	"GC background sweeper wait":   true,
	"system goroutine wait":        true,
	"wait for debug call":          true,
	"wait until GC ends":           true,
	"GC weak to strong wait":       true,
}

// runtimeFuncs are the runtime functions whose waits are the allocator's
// and the garbage collector's: a goroutine that allocates may wait, with
// the reason "sync", for another to finish starting a GC cycle.
var runtimeFuncs = map[string]bool{
	"runtime.gcStart":            true,
	"runtime.GC":                 true,
	"runtime.gcAssistAlloc":      true,
	"runtime.deductAssistCredit": true,
	"runtime.stopTheWorld":       true,
	"runtime.stopTheWorldGC":     true,
}

// runtimeWait reports whether the block an event begins or ends is the
// runtime's own business (a wait reason of runtimeReasons, or a wait
// inside one of runtimeFuncs): the program does not synchronize there, so
// the block and the wake that ends it are no nodes and give no edge.
func (b *Builder) runtimeWait(t *parse.Trace, ev *parse.Event) bool {
	if runtimeReasons[ev.Reason] {
		return true
	}
	if ev.Reason != parse.ReasonSync || ev.Stack == parse.NoStack || t.Stacks == nil {
		return false
	}
	internal, ok := b.internal[ev.Stack]
	if !ok {
		for i, n := 0, t.Stacks.Depth(ev.Stack); i < n; i++ {
			f := t.Stacks.Frame(ev.Stack, i)
			if !f.IsRuntime() {
				break
			}
			if runtimeFuncs[f.Func] {
				internal = true
				break
			}
		}
		b.internal[ev.Stack] = internal
	}
	return internal
}
