// Package hbgraph rebuilds the happens-before graph of a trace, rule by rule
// from the Go memory model, in the same single pass as parse's other
// consumers.
//
// A [Graph]'s nodes are the synchronization points of each goroutine in
// program order: its start, the go statements it runs, its blocks, the
// wakes it gives and receives, its exit and every primitive annotation it
// writes. Its edges cross from one goroutine to another (or, rarely, join
// two points of one goroutine), each labelled with the [Rule] that makes it
// and the primitive it comes from. Program order within a goroutine is
// implicit: the nodes of a [Lane] are in it.
//
// The runtime's own events give two rules for every program: the go
// statement, and the unblock of a parked goroutine by the one that made it
// runnable, which is all that plain sync and channels leave in a trace. The
// annotations of blockscope's primitives give the rest, paired exactly by
// object and sequence number whatever order their events have in the trace.
//
// Queries ([Graph.HappensBefore], [Graph.Concurrent], [Graph.Clock]) rest on
// vector clocks computed once, in one topological pass, when the trace ends.
package hbgraph

import (
	"fmt"
	"slices"
	"sort"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// NodeID identifies a node within a Graph; ids follow the trace's order.
type NodeID int32

// NoNode stands for "no node".
const NoNode NodeID = -1

// NodeKind is what a node stands for.
type NodeKind uint8

// The node kinds.
const (
	NodeBad        NodeKind = iota
	NodeStart               // the goroutine came into being; Peer created it
	NodeGo                  // the goroutine ran a go statement that created Peer
	NodeBlock               // the goroutine blocked: Reason
	NodeUnblock             // the goroutine made Peer runnable
	NodeWake                // the goroutine was made runnable by Peer (NoGoroutine: a timer, the network poller): Reason is the wait that ended
	NodeExit                // the goroutine exited
	NodeAnnotation          // the goroutine wrote a primitive annotation: Prim, Object, Op, Seq, N
	numNodeKinds
)

var nodeKindNames = [numNodeKinds]string{
	NodeBad:        "bad",
	NodeStart:      "start",
	NodeGo:         "go",
	NodeBlock:      "block",
	NodeUnblock:    "unblock",
	NodeWake:       "wake",
	NodeExit:       "exit",
	NodeAnnotation: "annotation",
}

// String returns the kind's name, such as "wake".
func (k NodeKind) String() string {
	if k < numNodeKinds {
		return nodeKindNames[k]
	}
	return fmt.Sprintf("nodekind(%d)", k)
}

// Node is one synchronization point of one goroutine.
type Node struct {
	ID     NodeID
	Kind   NodeKind
	G      parse.GoID
	Time   parse.Time
	Stack  parse.StackID // the goroutine's stack there (for a wake, where it had blocked)
	Peer   parse.GoID    // the other goroutine of a start, go, unblock or wake; NoGoroutine otherwise
	Reason string        // the wait reason of a block or wake
	// The annotation of a NodeAnnotation (zero otherwise).
	Prim   wire.Kind
	Object wire.ObjectID
	Op     wire.Op
	Seq    uint64
	N      int64
}

// node is a Node as the graph stores it: 32 bytes, the annotation of a
// NodeAnnotation apart (most nodes have none).
type node struct {
	time   parse.Time
	lane   int32
	pos    int32 // 1-based position in the lane
	peer   int32 // the peer's lane, or -1
	stack  parse.StackID
	ann    int32  // index into Graph.anns of a NodeAnnotation, or -1
	reason uint16 // index into Graph.reasons
	kind   NodeKind
}

// annotation is what a NodeAnnotation adds to its node.
type annotation struct {
	obj  wire.ObjectID
	seq  uint64
	n    int64
	prim wire.Kind
	op   wire.Op
}

// Lane is one goroutine's nodes, in program order.
type Lane struct {
	G      parse.GoID
	Entry  string // the goroutine's start function, "" if unknown
	System bool   // a runtime or tracer goroutine
	Nodes  []NodeID

	order int64 // of a selected graph: where the whole graph puts the lane
}

// Edge is a happens-before edge: From happens before To.
type Edge struct {
	From, To NodeID
	Rule     Rule
	Prim     wire.Kind     // the primitive of an annotated edge (KindBad for go and unblock)
	Object   wire.ObjectID // the object of an annotated edge
	// Cyclic marks an edge that closed a cycle (annotations that
	// contradict each other); vector clocks leave it out.
	Cyclic bool
}

// Graph is the happens-before graph of one trace. It does not change once
// built, and is safe for concurrent queries.
type Graph struct {
	// Path is the trace's path.
	Path string
	// Stacks resolves the nodes' stacks.
	Stacks *parse.Stacks
	// Dropped counts the nodes left out because of Options.MaxNodes;
	// the edges that would have touched them are missing too.
	Dropped int
	// Warnings says what the builder had to ignore.
	Warnings []string

	nodes chunks[node]
	lanes []Lane
	byG   map[parse.GoID]int32
	// While the graph is built, laneLen counts each lane's nodes (its
	// Nodes are made at the end, in one array) and newEdges holds the
	// edges (copied into edges, in one array, at the end).
	laneLen  []int32
	newEdges chunks[Edge]
	// trace is what the graph was built from: Select tells a goroutine
	// the trace has but the graph has no lane for from one it lacks.
	trace   *parse.Trace
	edges   []Edge // sorted by From, then To
	inIdx   []int32
	outOff  []int32 // edges[outOff[n]:outOff[n+1]] leave node n
	inOff   []int32 // inIdx[inOff[n]:inOff[n+1]] are the edges entering n
	reasons []string
	anns    chunks[annotation]
	names   map[wire.ObjectID]string

	clk     *clockArena
	clockOf []int32 // node → the root of its clock in clk

	// A graph built with Options.Select keeps only some nodes of the
	// whole graph, under the ids the whole graph gives them: ids holds
	// them in order, and sel what Select needs besides.
	ids chunks[NodeID]
	sel *selection
}

// Len returns the number of nodes (of a graph built with Options.Select,
// those it kept).
func (g *Graph) Len() int { return g.nodes.len() }

// ix returns where the node with that id is stored.
func (g *Graph) ix(id NodeID) int32 {
	if g.sel == nil {
		return int32(id)
	}
	i := sort.Search(g.ids.len(), func(i int) bool { return *g.ids.at(int32(i)) >= id })
	if i == g.ids.len() || *g.ids.at(int32(i)) != id {
		panic(fmt.Sprintf("hbgraph: node %d not in the selected graph", id))
	}
	return int32(i)
}

// id returns the id of the i-th stored node.
func (g *Graph) id(i int) NodeID {
	if g.sel == nil {
		return NodeID(i)
	}
	return *g.ids.at(int32(i))
}

// node returns the stored node with that id.
func (g *Graph) node(id NodeID) *node { return g.nodes.at(g.ix(id)) }

// Node returns the node with that id.
func (g *Graph) Node(id NodeID) Node {
	n := g.node(id)
	out := Node{
		ID: id, Kind: n.kind, G: g.lanes[n.lane].G, Time: n.time, Stack: n.stack,
		Peer: parse.NoGoroutine, Reason: g.reasons[n.reason],
	}
	if n.peer >= 0 {
		out.Peer = g.lanes[n.peer].G
	}
	if a := g.ann(id); a != nil {
		out.Prim, out.Object, out.Op, out.Seq, out.N = a.prim, a.obj, a.op, a.seq, a.n
	}
	return out
}

// ann returns node id's annotation, or nil.
func (g *Graph) ann(id NodeID) *annotation {
	if i := g.node(id).ann; i >= 0 {
		return g.anns.at(i)
	}
	return nil
}

// Lanes returns every goroutine's lane, in order of first appearance.
func (g *Graph) Lanes() []Lane { return g.lanes }

// Lane returns the lane of goroutine id, or nil.
func (g *Graph) Lane(id parse.GoID) *Lane {
	if i, ok := g.byG[id]; ok {
		return &g.lanes[i]
	}
	return nil
}

// Edges returns every edge, ordered by source then target.
func (g *Graph) Edges() []Edge { return g.edges }

// Out returns the edges leaving node id.
func (g *Graph) Out(id NodeID) []Edge {
	i := g.ix(id)
	return g.edges[g.outOff[i]:g.outOff[i+1]]
}

// In returns the edges entering node id.
func (g *Graph) In(id NodeID) []Edge {
	i := g.ix(id)
	idx := g.inIdx[g.inOff[i]:g.inOff[i+1]]
	out := make([]Edge, len(idx))
	for i, e := range idx {
		out[i] = g.edges[e]
	}
	return out
}

// Prev returns the node before id in its goroutine, or NoNode.
func (g *Graph) Prev(id NodeID) NodeID {
	n := g.node(id)
	if n.pos <= 1 {
		return NoNode
	}
	return g.lanes[n.lane].Nodes[n.pos-2]
}

// Next returns the node after id in its goroutine, or NoNode.
func (g *Graph) Next(id NodeID) NodeID {
	n := g.node(id)
	nodes := g.lanes[n.lane].Nodes
	if int(n.pos) >= len(nodes) {
		return NoNode
	}
	return nodes[n.pos]
}

// NodeAt returns goroutine id's last node at or before time t, or NoNode.
func (g *Graph) NodeAt(id parse.GoID, t parse.Time) NodeID {
	l := g.Lane(id)
	if l == nil {
		return NoNode
	}
	i := sort.Search(len(l.Nodes), func(i int) bool { return g.node(l.Nodes[i]).time > t })
	if i == 0 {
		return NoNode
	}
	return l.Nodes[i-1]
}

// ObjectName returns the name a user gave the object, or "".
func (g *Graph) ObjectName(id wire.ObjectID) string { return g.names[id] }

// Location returns the frame the node's stack points at: the user's line
// (see parse.Stacks.Location), never the annotation encoder's.
func (g *Graph) Location(id NodeID) (parse.Frame, bool) {
	if g.Stacks == nil {
		return parse.Frame{}, false
	}
	return g.Stacks.Location(g.node(id).stack)
}

// Label describes the node in a few words: "go G7", "block (sync)",
// "Mutex#3 unlock 2".
func (g *Graph) Label(id NodeID) string {
	n := g.Node(id)
	switch n.Kind {
	case NodeStart:
		if n.Peer == parse.NoGoroutine {
			return "start"
		}
		return fmt.Sprintf("start (by G%d)", n.Peer)
	case NodeGo:
		return fmt.Sprintf("go G%d", n.Peer)
	case NodeBlock:
		return "block (" + n.Reason + ")"
	case NodeUnblock:
		return fmt.Sprintf("unblock G%d", n.Peer)
	case NodeWake:
		if n.Peer == parse.NoGoroutine {
			return "wake (" + n.Reason + ")"
		}
		return fmt.Sprintf("wake (%s) by G%d", n.Reason, n.Peer)
	case NodeExit:
		return "exit"
	case NodeAnnotation:
		s := fmt.Sprintf("%s %s %d", g.objectLabel(n.Prim, n.Object), n.Op, n.Seq)
		if n.N != 0 {
			s += fmt.Sprintf(" n=%d", n.N)
		}
		return s
	}
	return n.Kind.String()
}

// objectLabel is the object's spelling (see parse.ObjectRef):
// `Mutex#3`, or `Mutex#3 "name"` for a named object.
func (g *Graph) objectLabel(k wire.Kind, id wire.ObjectID) string {
	return parse.ObjectRef(k, id, g.names[id])
}

// EdgeLabel describes an edge: "go", "unblock", "Mutex#3 unlock→lock".
func (g *Graph) EdgeLabel(e Edge) string {
	if e.Object == wire.NoObject {
		return e.Rule.String()
	}
	return g.objectLabel(e.Prim, e.Object) + " " + e.Rule.String()
}

// addLane adds goroutine id's lane and returns its index.
func (g *Graph) addLane(id parse.GoID) int32 {
	i := int32(len(g.lanes))
	g.byG[id] = i
	g.lanes = append(g.lanes, Lane{G: id})
	g.laneLen = append(g.laneLen, 0)
	return i
}

// addNode appends n to the end of its lane, setting its position.
func (g *Graph) addNode(n node) NodeID {
	g.laneLen[n.lane]++
	n.pos = g.laneLen[n.lane]
	return NodeID(g.nodes.push(n))
}

// addEdge records e; finish indexes it.
func (g *Graph) addEdge(e Edge) { g.newEdges.push(e) }

// finish makes the lanes' node lists and indexes the edges; called once,
// by Builder.Finalize.
func (g *Graph) finish() {
	n := g.nodes.len()
	all := make([]NodeID, n)
	off := int32(0)
	for i, k := range g.laneLen {
		if k > 0 {
			g.lanes[i].Nodes = all[off : off : off+k]
		}
		off += k
	}
	for i := range n {
		l := &g.lanes[g.nodes.at(int32(i)).lane]
		l.Nodes = append(l.Nodes, g.id(i))
	}
	g.laneLen = nil
	g.edges = g.newEdges.appendTo(make([]Edge, 0, g.newEdges.len()))
	g.newEdges = chunks[Edge]{}
	slices.SortStableFunc(g.edges, func(a, b Edge) int {
		if a.From != b.From {
			return int(a.From - b.From)
		}
		return int(a.To - b.To)
	})
	g.outOff = make([]int32, n+1)
	g.inOff = make([]int32, n+1)
	for _, e := range g.edges {
		g.outOff[g.ix(e.From)+1]++
		g.inOff[g.ix(e.To)+1]++
	}
	for i := 0; i < n; i++ {
		g.outOff[i+1] += g.outOff[i]
		g.inOff[i+1] += g.inOff[i]
	}
	// Fill inIdx moving each inOff[k] up to inOff[k+1], then shift back.
	g.inIdx = make([]int32, len(g.edges))
	for i, e := range g.edges {
		to := g.ix(e.To)
		g.inIdx[g.inOff[to]] = int32(i)
		g.inOff[to]++
	}
	copy(g.inOff[1:], g.inOff[:n])
	g.inOff[0] = 0
	g.computeClocks()
}
