package hbgraph_test

import (
	"fmt"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/parse"
)

// A Builder is one of parse's consumers; with a trace file it is used as
//
//	b := hbgraph.NewBuilder(hbgraph.Options{})
//	if _, err := parse.File("trace.out", parse.Options{}, b); err != nil { ... }
//	g := b.Graph()
//
// Here it is fed the events parse would give for a program whose main
// goroutine (G1) starts G2 and G3, which then hand a mutex over.
func Example() {
	b := hbgraph.NewBuilder(hbgraph.Options{})
	t := &parse.Trace{Path: "example"}
	for i, ev := range []parse.Event{
		create(1, 2), create(1, 3),
		an(2, "mutex 1 lock 1"), an(3, "mutex 1 wait 0 depth=1"),
		an(2, "mutex 1 unlock 1"), an(3, "mutex 1 lock 2"),
	} {
		ev.Time = parse.Time(i)
		b.Event(t, &ev)
	}
	b.Finalize(t)
	g := b.Graph()

	for _, e := range g.Edges() {
		fmt.Printf("G%d %s → G%d %s: %s\n", g.Node(e.From).G, g.Label(e.From), g.Node(e.To).G, g.Label(e.To), g.EdgeLabel(e))
	}
	lock2, wait3, lock3 := g.Lane(2).Nodes[1], g.Lane(3).Nodes[1], g.Lane(3).Nodes[2]
	fmt.Println("G2's lock happens before G3's:", g.HappensBefore(lock2, lock3))
	fmt.Println("G2's lock and G3's wait are concurrent:", g.Concurrent(lock2, wait3))
	fmt.Println("G3's clock at its lock:", g.Clock(lock3))
	// Output:
	// G1 go G2 → G2 start (by G1): go
	// G1 go G3 → G3 start (by G1): go
	// G2 Mutex#1 unlock 1 → G3 Mutex#1 lock 2: Mutex#1 unlock→lock
	// G2's lock happens before G3's: true
	// G2's lock and G3's wait are concurrent: true
	// G3's clock at its lock: [{1 2} {2 3} {3 3}]
}
