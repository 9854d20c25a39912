package hbgraph

import (
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
		g.byG[parse.GoID(i+1)] = int32(i)
		g.lanes = append(g.lanes, Lane{G: parse.GoID(i + 1)})
	}
	nn := r.IntN(40)
	for i := 0; i < nn; i++ {
		li := r.IntN(nl)
		l := &g.lanes[li]
		l.Nodes = append(l.Nodes, NodeID(i))
		g.nodes = append(g.nodes, node{time: parse.Time(i), lane: int32(li), pos: int32(len(l.Nodes)), peer: -1, kind: NodeAnnotation})
	}
	if nn < 2 {
		g.finish()
		return g
	}
	for k, ne := 0, r.IntN(2*nn); k < ne; k++ {
		a, b := NodeID(r.IntN(nn)), NodeID(r.IntN(nn))
		na, nb := g.nodes[a], g.nodes[b]
		if a == b || na.lane == nb.lane && na.pos > nb.pos {
			continue
		}
		if !cycles && reachable(g, b, a) {
			continue
		}
		g.edges = append(g.edges, Edge{From: a, To: b, Rule: RuleChanSend})
	}
	g.finish()
	return g
}

// reachable reports whether a path of program order and non-cyclic edges
// leads from a to b, by depth-first search.
func reachable(g *Graph, a, b NodeID) bool {
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
		if n := g.nodes[x]; int(n.pos) < len(g.lanes[n.lane].Nodes) && walk(g.lanes[n.lane].Nodes[n.pos]) {
			return true
		}
		for _, e := range g.edges {
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
					want := a != b && reachable(g, a, b)
					if got := g.HappensBefore(a, b); got != want {
						t.Fatalf("cycles=%v seed %d: HappensBefore(%d, %d) = %v; want %v (edges %v)", cycles, seed, a, b, got, want, g.edges)
					}
				}
			}
		}
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name     string
		a, b     []entry
		extra    entry
		own      int32
		want     []entry
		wantGrew bool
	}{
		{"nothing new", []entry{{1, 5}, {3, 2}}, []entry{{1, 4}}, entry{3, 2}, 0, []entry{{1, 5}, {3, 2}}, false},
		{"raise one", []entry{{1, 5}, {3, 2}}, []entry{{3, 7}}, entry{1, 1}, 0, []entry{{1, 5}, {3, 7}}, true},
		{"new lanes interleaved", []entry{{2, 1}}, []entry{{1, 1}, {4, 2}}, entry{3, 9}, 0, []entry{{1, 1}, {2, 1}, {3, 9}, {4, 2}}, true},
		{"own lane left out", []entry{{2, 1}}, []entry{{0, 9}}, entry{0, 10}, 0, []entry{{2, 1}}, false},
		{"from empty", nil, nil, entry{2, 3}, 0, []entry{{2, 3}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, grew := merge(tt.a, tt.b, tt.extra, tt.own)
			if grew != tt.wantGrew || len(got) != len(tt.want) {
				t.Fatalf("merge(%v, %v, %v) = %v, %v; want %v, %v", tt.a, tt.b, tt.extra, got, grew, tt.want, tt.wantGrew)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("merge(%v, %v, %v) = %v; want %v", tt.a, tt.b, tt.extra, got, tt.want)
				}
			}
		})
	}
}
