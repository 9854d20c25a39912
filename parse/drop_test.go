package parse_test

import (
	"bytes"
	"maps"
	"testing"

	"github.com/blockscope/blockscope/internal/tracegen"
	"github.com/blockscope/blockscope/parse"
)

// TestDropExited reads a busy trace keeping every record and dropping
// exited ones, and checks that dropping keeps what it promises: the
// counts, the exits, the creation forest, every live goroutine's creation
// chain up to where the full model's ends, and no other exited record.
func TestDropExited(t *testing.T) {
	var buf bytes.Buffer
	if _, err := tracegen.Record(&buf, 1<<20); err != nil {
		t.Skipf("cannot record a trace: %v", err)
	}
	data := buf.Bytes()
	full, err := parse.Parse(bytes.NewReader(data), parse.Options{DropBlocks: true})
	if err != nil {
		t.Fatal(err)
	}
	drop, err := parse.Parse(bytes.NewReader(data), parse.Options{DropBlocks: true, DropExited: true})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := full.NumGoroutines(), drop.NumGoroutines(); a != b {
		t.Errorf("NumGoroutines = %d dropping, %d keeping", b, a)
	}
	c1, e1, w1 := full.Counts()
	c2, e2, w2 := drop.Counts()
	if c1 != c2 || e1 != e2 || w1 != w2 {
		t.Errorf("Counts = %d, %d, %d dropping; %d, %d, %d keeping", c2, e2, w2, c1, e1, w1)
	}
	if !maps.Equal(maps.Collect(full.Creations()), maps.Collect(drop.Creations())) {
		t.Errorf("Creations differ between dropping and keeping")
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
