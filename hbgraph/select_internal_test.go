package hbgraph

import (
	"fmt"
	"testing"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// serverStream feeds a Builder a server-like stream: G1 starts a
// goroutine per request, which takes mutex 1, releases it, and is waited
// for on a WaitGroup of its own (a new object per request, as servers make
// them) before it exits. Each request gives 11 nodes; check runs every
// 1000 requests.
func serverStream(b *Builder, requests int, check func(r int)) {
	tr := &parse.Trace{Path: "synthetic"}
	now := parse.Time(0)
	feed := func(ev parse.Event) {
		now++
		ev.Time = now
		b.Event(tr, &ev)
	}
	ann := func(g parse.GoID, format string, args ...any) parse.Event {
		e, err := wire.Decode(wire.Category, fmt.Sprintf(format, args...))
		if err != nil {
			panic(err)
		}
		return parse.Event{Kind: parse.EvAnnotation, G: g, Peer: parse.NoGoroutine, Annotation: e}
	}
	for r := range requests {
		g, wg := parse.GoID(r+2), 1000+r
		feed(parse.Event{Kind: parse.EvCreate, G: g, Peer: 1})
		feed(ann(1, "wg %d add 0 n=1 depth=1", wg))
		feed(ann(g, "mutex 1 lock %d", r+1))
		feed(ann(g, "mutex 1 unlock %d", r+1))
		feed(parse.Event{Kind: parse.EvBlock, G: 1, Peer: parse.NoGoroutine, Reason: "sync"})
		feed(ann(g, "wg %d add 0 n=-1", wg))
		feed(parse.Event{Kind: parse.EvWake, G: 1, Peer: g, Reason: "sync"})
		feed(ann(1, "wg %d wake 0", wg))
		feed(parse.Event{Kind: parse.EvExit, G: g, Peer: parse.NoGoroutine})
		if check != nil && r%1000 == 999 {
			check(r + 1)
		}
	}
	b.Finalize(tr)
}

// TestSelectionBounded checks that what a selecting Builder holds (nodes,
// pairing buckets, goroutine states, edges) stays within its node budget
// and the goroutines alive while the stream goes on, where the whole
// graph's grow with it; and that the view it gives counts what it cut as
// selecting from the whole graph does.
func TestSelectionBounded(t *testing.T) {
	const budget, requests = 100, 20000
	f := Filter{MaxNodes: budget, FoldParks: true, FoldSleeps: true}
	sel := f
	b := NewBuilder(Options{Select: &sel})
	serverStream(b, requests, func(r int) {
		s := b.sel
		if b.g.Len() > budget || len(b.pairs) > budget || len(b.groups) > budget || s.live.Len() > 2 ||
			len(s.edges) > 2*budget || len(s.beyond) > budget || len(b.g.lanes) > budget {
			t.Fatalf("after %d requests: %d nodes, %d buckets, %d errgroups, %d goroutine states, %d edges, %d counts of cut edges, %d lanes; want at most %d nodes, buckets, lanes and counts, %d edges, 2 goroutine states",
				r, b.g.Len(), len(b.pairs), len(b.groups), s.live.Len(), len(s.edges), len(s.beyond), len(b.g.lanes), budget, 2*budget)
		}
		if s.next != NodeID(11*r) {
			t.Fatalf("after %d requests: %d nodes numbered; want %d", r, s.next, 11*r)
		}
	})
	whole := NewBuilder(Options{})
	n := 0
	serverStream(whole, requests, func(int) { n = len(whole.pairs) })
	if n < requests {
		t.Errorf("the whole graph's builder holds %d pairing buckets after %d requests; want one a WaitGroup at least (the stream no longer tests what it should)", n, requests)
	}

	got, err := b.Graph().Select(f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := whole.Graph().Select(f)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != budget || got.Cut != want.Cut || len(got.Edges) != len(want.Edges) {
		t.Errorf("selected while reading: %d nodes, %d edges, cut %+v; want %d, %d, %+v", got.Len(), len(got.Edges), got.Cut, budget, len(want.Edges), want.Cut)
	}
}
