package hbgraph

import (
	"sort"

	"github.com/blockscope/blockscope/parse"
)

// Tick is one component of a vector clock: the number of goroutine G's
// nodes (in program order) that happen before or at a node.
type Tick struct {
	G parse.GoID
	N int
}

// Clock returns node id's vector clock: for every goroutine with a node
// that happens before or at id, how many of its nodes do, ordered by
// goroutine id.
func (g *Graph) Clock(id NodeID) []Tick {
	n := g.node(id)
	var out []Tick
	g.clk.each(g.clockOf[g.ix(id)], func(l, pos int32) {
		if l != n.lane {
			out = append(out, Tick{g.lanes[l].G, int(pos)})
		}
	})
	out = append(out, Tick{g.lanes[n.lane].G, int(n.pos)})
	sort.Slice(out, func(i, j int) bool { return out[i].G < out[j].G })
	return out
}

// HappensBefore reports whether a happens before b: a precedes b in one
// goroutine, or a chain of edges leads from a (or a later node of its
// goroutine) to b (or an earlier node of b's).
func (g *Graph) HappensBefore(a, b NodeID) bool {
	if a == b {
		return false
	}
	na, nb := g.node(a), g.node(b)
	if na.lane == nb.lane {
		return na.pos < nb.pos
	}
	return g.clk.get(g.clockOf[g.ix(b)], na.lane) >= na.pos
}

// Concurrent reports whether neither of a and b happens before the other.
func (g *Graph) Concurrent(a, b NodeID) bool {
	return a != b && !g.HappensBefore(a, b) && !g.HappensBefore(b, a)
}

// computeClocks gives every node its vector clock, once, at Finalize, in one pass over the
// nodes in a topological order (Kahn's algorithm over program order and
// the edges). A node's own lane's component is its position, whatever its
// clock says; a node with no edge from another goroutine shares its
// predecessor's clock (see vclock.go). Edges that close a cycle are marked
// Cyclic and left out.
//
// Until a node is visited, its entry of clockOf holds its in-degree
// instead: nothing reads an unvisited node's clock, and a visited node's
// in-degree is never touched again (its predecessor and the sources of its
// edges are visited, or the edges from them Cyclic).
func (g *Graph) computeClocks() {
	n := g.Len()
	g.clk = newClockArena(len(g.lanes))
	g.clockOf = make([]int32, n)
	indeg := g.clockOf
	for i := range n {
		if g.nodes.at(int32(i)).pos > 1 {
			indeg[i]++
		}
	}
	for _, e := range g.edges {
		if g.cross(e) {
			indeg[g.ix(e.To)]++
		}
	}
	ready := make([]NodeID, 0, 64)
	for i := range indeg {
		if indeg[i] == 0 {
			ready = append(ready, g.id(i))
		}
	}
	// next says, per lane, how many of its nodes are visited: they are
	// visited in program order.
	next := make([]int32, len(g.lanes))
	release := func(id NodeID) {
		i := g.ix(id)
		if indeg[i]--; indeg[i] == 0 {
			ready = append(ready, id)
		}
	}
	for done := 0; done < n; done++ {
		if len(ready) == 0 {
			ready = append(ready, g.breakCycle(next))
		}
		id := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		ix := g.ix(id)
		g.clockOf[ix] = g.join(id, next)
		nd := g.nodes.at(ix)
		next[nd.lane] = nd.pos
		if nxt := g.Next(id); nxt != NoNode {
			release(nxt)
		}
		for i := g.outOff[ix]; i < g.outOff[ix+1]; i++ {
			if e := g.edges[i]; g.cross(e) {
				release(e.To)
			}
		}
	}
}

// cross reports whether an edge joins two lanes and counts for clocks.
func (g *Graph) cross(e Edge) bool {
	return !e.Cyclic && g.node(e.From).lane != g.node(e.To).lane
}

// visited reports whether computeClocks has visited node id, given next.
func (g *Graph) visited(id NodeID, next []int32) bool {
	n := g.node(id)
	return n.pos <= next[n.lane]
}

// breakCycle is called when no node is ready: the unvisited nodes all wait
// on each other. It picks the first unvisited node of the lane whose first
// unvisited node comes earliest in the trace, marks its edges from
// unvisited nodes Cyclic, and returns it.
func (g *Graph) breakCycle(next []int32) NodeID {
	best := NoNode
	for li := range g.lanes {
		nodes := g.lanes[li].Nodes
		if int(next[li]) < len(nodes) {
			if id := nodes[next[li]]; best == NoNode || id < best {
				best = id
			}
		}
	}
	bi := g.ix(best)
	for _, ei := range g.inIdx[g.inOff[bi]:g.inOff[bi+1]] {
		e := &g.edges[ei]
		if g.cross(*e) && !g.visited(e.From, next) {
			e.Cyclic = true
			g.warn("happens-before cycle: %s edge from G%d to G%d at %v left out", e.Rule, g.lanes[g.node(e.From).lane].G, g.lanes[g.node(e.To).lane].G, g.node(e.To).time.Duration())
		}
	}
	return best
}

// join returns the root of node id's clock: its predecessor's, merged
// with the clocks of the sources of its edges and their own positions.
func (g *Graph) join(id NodeID, next []int32) int32 {
	cur := int32(0)
	if p := g.Prev(id); p != NoNode {
		cur = g.clockOf[g.ix(p)]
	}
	ix := g.ix(id)
	for _, ei := range g.inIdx[g.inOff[ix]:g.inOff[ix+1]] {
		e := g.edges[ei]
		if !g.cross(e) || !g.visited(e.From, next) {
			continue
		}
		src := g.node(e.From)
		cur = g.clk.mergeRaise(cur, g.clockOf[g.ix(e.From)], src.lane, src.pos)
	}
	return cur
}

// CriticalPath returns the chain of edges that led to node id: starting at
// id, it walks back its goroutine to the nearest node with edges from
// other goroutines, follows the one whose source is latest, and repeats
// from there, until a goroutine has no such edge before the point reached.
// The edges come oldest first; the last one enters id's goroutine at or
// before id. For a wake, it answers "what was it waiting for, and what was
// that waiting for".
func (g *Graph) CriticalPath(id NodeID) []Edge {
	var path []Edge
	seen := make(map[NodeID]bool)
	for cur := id; cur != NoNode; {
		var best *Edge
		for x := cur; x != NoNode && best == nil; x = g.Prev(x) {
			if seen[x] {
				cur = NoNode
				break
			}
			seen[x] = true
			xi := g.ix(x)
			for _, ei := range g.inIdx[g.inOff[xi]:g.inOff[xi+1]] {
				e := &g.edges[ei]
				if !g.cross(*e) {
					continue
				}
				if best == nil || g.later(e.From, best.From) {
					best = e
				}
			}
		}
		if best == nil {
			break
		}
		path = append(path, *best)
		cur = best.From
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

// later reports whether node a comes after node b in time (then in id).
func (g *Graph) later(a, b NodeID) bool {
	ta, tb := g.node(a).time, g.node(b).time
	if ta != tb {
		return ta > tb
	}
	return a > b
}
