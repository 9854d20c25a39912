package hbgraph

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/blockscope/blockscope/parse"
)

// randomGraph builds a graph of up to 5 goroutines and 40 nodes with
// random edges between them, in either direction of the stream, cycles
// included when cycles is set.
func randomGraph(r *rand.Rand, cycles bool) *Graph {
	g := &Graph{byG: make(map[parse.GoID]int32), reasons: []string{""}}
	nl := 1 + r.IntN(5)
	for i := 0; i < nl; i++ {
		g.addLane(parse.GoID(i + 1))
	}
	nn := r.IntN(40)
	for i := 0; i < nn; i++ {
		g.addNode(node{time: parse.Time(i), lane: int32(r.IntN(nl)), peer: -1, ann: g.anns.push(annotation{}), kind: NodeAnnotation})
	}
	if nn < 2 {
		g.finish()
		return g
	}
	var edges []Edge
	for k, ne := 0, r.IntN(2*nn); k < ne; k++ {
		a, b := NodeID(r.IntN(nn)), NodeID(r.IntN(nn))
		na, nb := g.node(a), g.node(b)
		if a == b || na.lane == nb.lane && na.pos > nb.pos {
			continue
		}
		if !cycles && reachable(g, edges, b, a) {
			continue
		}
		e := Edge{From: a, To: b, Rule: RuleChanSend}
		g.addEdge(e)
		edges = append(edges, e)
	}
	g.finish()
	return g
}

// reachable reports whether a path of program order and non-cyclic edges
// leads from a to b, by depth-first search; it needs only g's nodes, so
// it works on a graph being built.
func reachable(g *Graph, edges []Edge, a, b NodeID) bool {
	seen := make(map[NodeID]bool)
	var walk func(x NodeID) bool
	walk = func(x NodeID) bool {
		if x == b {
			return true
		}
		if seen[x] {
			return false
		}
		seen[x] = true
		for y := x + 1; int(y) < g.Len(); y++ {
			if g.node(y).lane == g.node(x).lane {
				if walk(y) {
					return true
				}
				break
			}
		}
		for _, e := range edges {
			if e.From == x && !e.Cyclic && walk(e.To) {
				return true
			}
		}
		return false
	}
	return walk(a)
}

func TestClocksMatchReachability(t *testing.T) {
	for _, cycles := range []bool{false, true} {
		for seed := uint64(0); seed < 300; seed++ {
			r := rand.New(rand.NewPCG(seed, 0x4842))
			g := randomGraph(r, cycles)
			for i := 0; i < g.Len(); i++ {
				for j := 0; j < g.Len(); j++ {
					a, b := NodeID(i), NodeID(j)
					want := a != b && reachable(g, g.Edges(), a, b)
					if got := g.HappensBefore(a, b); got != want {
						t.Fatalf("cycles=%v seed %d: HappensBefore(%d, %d) = %v; want %v (edges %v)", cycles, seed, a, b, got, want, g.edges)
					}
				}
			}
		}
	}
}

// TestClockArena checks the persistent clocks against maps: random raises,
// merges and merge-raises of random earlier clocks, over lane counts that
// give trees of one to four levels.
func TestClockArena(t *testing.T) {
	for _, lanes := range []int{1, 7, 8, 9, 64, 65, 600} {
		t.Run(fmt.Sprint(lanes), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(lanes), 7))
			c := newClockArena(lanes)
			roots := []int32{0}
			models := []map[int32]int32{{}}
			for step := 0; step < 400; step++ {
				i := r.IntN(len(roots))
				model := maps.Clone(models[i])
				var root int32
				l, pos := int32(r.IntN(lanes)), int32(1+r.IntN(50))
				j := r.IntN(len(roots))
				switch r.IntN(3) {
				case 0:
					root = c.raise(roots[i], l, pos)
					model[l] = max(model[l], pos)
				case 1:
					root = c.merge(roots[i], roots[j])
					for l, pos := range models[j] {
						model[l] = max(model[l], pos)
					}
				case 2:
					root = c.mergeRaise(roots[i], roots[j], l, pos)
					for l, pos := range models[j] {
						model[l] = max(model[l], pos)
					}
					model[l] = max(model[l], pos)
				}
				roots, models = append(roots, root), append(models, model)
			}
			for i, root := range roots {
				for l := int32(0); l < int32(lanes); l++ {
					if got, want := c.get(root, l), models[i][l]; got != want {
						t.Fatalf("clock %d: get(lane %d) = %d; want %d", i, l, got, want)
					}
				}
				seen := map[int32]int32{}
				c.each(root, func(l, pos int32) { seen[l] = pos })
				if !maps.Equal(seen, models[i]) {
					t.Fatalf("clock %d: each gives %v; want %v", i, seen, models[i])
				}
			}
		})
	}
}
