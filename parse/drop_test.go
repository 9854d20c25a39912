package parse_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/blockscope/blockscope/internal/tracegen"
	"github.com/blockscope/blockscope/parse"
)

// keepAndDrop reads a busy trace keeping every record, then dropping
// exited ones (with consumers).
func keepAndDrop(t *testing.T, consumers ...parse.Consumer) (full, drop *parse.Trace) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := tracegen.Record(&buf, 1<<20); err != nil {
		t.Skipf("cannot record a trace: %v", err)
	}
	data := buf.Bytes()
	full, err := parse.Parse(bytes.NewReader(data), parse.Options{DropBlocks: true})
	if err != nil {
		t.Fatal(err)
	}
	drop, err = parse.Parse(bytes.NewReader(data), parse.Options{DropBlocks: true, DropExited: true}, consumers...)
	if err != nil {
		t.Fatal(err)
	}
	return full, drop
}

// TestDropExited reads a busy trace keeping every record and dropping
// exited ones, and checks that dropping keeps what it promises: the
// counts, the exits, the creation forest, every live goroutine's creation
// chain up to where the full model's ends, and no other exited record.
func TestDropExited(t *testing.T) {
	full, drop := keepAndDrop(t)
	if a, b := full.NumGoroutines(), drop.NumGoroutines(); a != b {
		t.Errorf("NumGoroutines = %d dropping, %d keeping", b, a)
	}
	c1, e1, w1 := full.Counts()
	c2, e2, w2 := drop.Counts()
	if c1 != c2 || e1 != e2 || w1 != w2 {
		t.Errorf("Counts = %d, %d, %d dropping; %d, %d, %d keeping", c2, e2, w2, c1, e1, w1)
	}
	for id, creator := range drop.Creations() {
		if g := full.Goroutine(id); g == nil || g.Creator != creator {
			t.Errorf("Creations() dropping yields %d created by %d; keeping, %v", id, creator, g)
		}
	}
	kept, exitedKept := 0, 0
	needed := make(map[parse.GoID]bool) // on a live goroutine's creation chain
	for g := range full.All() {
		if drop.Exited(g.ID) != (g.State == parse.StateExited) {
			t.Errorf("Exited(%d) = %v dropping; state %v keeping", g.ID, drop.Exited(g.ID), g.State)
		}
		if g.State == parse.StateExited {
			continue
		}
		for cur := g; cur != nil && !needed[cur.ID]; cur = full.Goroutine(cur.Creator) {
			needed[cur.ID] = true
		}
	}
	for g := range drop.All() {
		kept++
		if g.State == parse.StateExited {
			exitedKept++
			if !needed[g.ID] {
				t.Errorf("goroutine %d exited and is on no live goroutine's creation chain, but is kept", g.ID)
			}
		}
	}
	for id := range needed {
		g := drop.Goroutine(id)
		if g == nil {
			t.Errorf("goroutine %d is on a live goroutine's creation chain, but was dropped", id)
			continue
		}
		type view struct {
			entry, test string
			creator     parse.GoID
			create      parse.StackID
			state       parse.State
		}
		f := full.Goroutine(id)
		if a, b := (view{g.Entry, g.TestFunc, g.Creator, g.CreateStack, g.State}), (view{f.Entry, f.TestFunc, f.Creator, f.CreateStack, f.State}); a != b {
			t.Errorf("goroutine %d: %+v dropping, %+v keeping", id, a, b)
		}
	}
	if kept > full.NumGoroutines()/10 || exitedKept == 0 {
		t.Errorf("kept %d records (%d exited) of %d; want a few, some exited (the live goroutines' creators)", kept, exitedKept, full.NumGoroutines())
	}
}

// watcher watches every goroutine as it is created (see Trace.Watch).
type watcher struct{}

func (watcher) Event(t *parse.Trace, ev *parse.Event) {
	if ev.Kind == parse.EvCreate && ev.G%3 == 0 {
		t.Watch(ev.G)
	}
}

func (watcher) Finalize(*parse.Trace) {}

// TestDroppedCounts checks what the trace keeps of dropped goroutines in
// place of their creators: under each kept goroutine, the dropped ones it
// is the nearest kept ancestor of; for each watched dropped one, itself
// and all it started; and that Up leads from the latter to the former.
func TestDroppedCounts(t *testing.T) {
	full, drop := keepAndDrop(t, watcher{})
	children := make(map[parse.GoID][]parse.GoID)
	for id, creator := range full.Creations() {
		children[creator] = append(children[creator], id)
	}
	// count returns the dropped goroutines below id (and id, if self),
	// stopping at kept ones.
	var count func(id parse.GoID, self bool) []parse.GoID
	count = func(id parse.GoID, self bool) []parse.GoID {
		var out []parse.GoID
		if self {
			out = append(out, id)
		}
		for _, k := range children[id] {
			if drop.Goroutine(k) == nil {
				out = append(out, count(k, true)...)
			}
		}
		return out
	}
	check := func(what string, d *parse.Dropped, want []parse.GoID) {
		t.Helper()
		slices.Sort(want)
		if len(want) == 0 && d == nil {
			return
		}
		if d == nil || d.N != len(want) || !slices.Equal(d.Low, want[:min(len(want), parse.DroppedShown)]) {
			t.Errorf("%s = %+v; want %d, lowest %v", what, d, len(want), want[:min(len(want), parse.DroppedShown)])
		}
	}
	nonEmpty, watched := 0, 0
	for g := range drop.All() {
		want := count(g.ID, false)
		check(fmt.Sprintf("DroppedUnder(%d)", g.ID), drop.DroppedUnder(g.ID), want)
		if len(want) > 0 {
			nonEmpty++
		}
	}
	for g := range full.All() {
		if g.ID%3 != 0 || g.Preexisting || drop.Goroutine(g.ID) != nil {
			continue
		}
		watched++
		d := drop.Subtree(g.ID)
		check(fmt.Sprintf("Subtree(%d)", g.ID), d, count(g.ID, true))
		// Up leads to the nearest kept ancestor's count.
		anc := g.Creator
		for anc != parse.NoGoroutine && drop.Goroutine(anc) == nil {
			anc = full.Goroutine(anc).Creator
		}
		if d == nil || anc == parse.NoGoroutine {
			continue
		}
		up := d.Up()
		for up != nil && up != drop.DroppedUnder(anc) {
			up = up.Up()
		}
		if up == nil {
			t.Errorf("Subtree(%d): Up never reaches DroppedUnder(%d), its nearest kept ancestor's", g.ID, anc)
		}
	}
	if nonEmpty == 0 || watched == 0 {
		t.Errorf("kept goroutines with dropped ones below: %d, watched dropped ones: %d; want some of each", nonEmpty, watched)
	}
}

// retainer keeps the records of the goroutines that woke another.
type retainer struct{ wakers map[parse.GoID]bool }

func (r *retainer) Event(t *parse.Trace, ev *parse.Event) {
	if ev.Kind == parse.EvWake && ev.Peer != parse.NoGoroutine {
		t.Retain(ev.Peer)
		r.wakers[ev.Peer] = true
	}
}

func (r *retainer) Finalize(*parse.Trace) {}

// TestRetain checks that a record a consumer asked for outlives its
// goroutine when exited ones are dropped.
func TestRetain(t *testing.T) {
	var buf bytes.Buffer
	if _, err := tracegen.Record(&buf, 1<<20); err != nil {
		t.Skipf("cannot record a trace: %v", err)
	}
	r := &retainer{wakers: make(map[parse.GoID]bool)}
	tr, err := parse.Parse(&buf, parse.Options{DropBlocks: true, DropExited: true}, r)
	if err != nil {
		t.Fatal(err)
	}
	exited := 0
	for id := range r.wakers {
		g := tr.Goroutine(id)
		if g == nil {
			t.Fatalf("goroutine %d was retained, but its record is gone", id)
		}
		if g.State == parse.StateExited {
			exited++
		}
	}
	if exited == 0 {
		t.Errorf("no retained goroutine exited: the test proves nothing")
	}
}
