package parse

import (
	"reflect"
	"slices"
	"testing"

	"github.com/blockscope/blockscope/internal/wire"
)

// TestGoroutineIndex checks lookups of small ids (the paged index) and
// large ones (the map) alike, that records do not move as more are added,
// and that a dropped record is gone, its slot reused, and the order of
// first appearance kept.
func TestGoroutineIndex(t *testing.T) {
	const bigID = 1 << 28 // the first id the index does not page
	tr := &Trace{}
	ids := []GoID{1, 7, 3, bigID - 1, bigID, 1 << 40, 2}
	var ptrs []*Goroutine
	for _, id := range ids {
		if tr.Goroutine(id) != nil {
			t.Fatalf("Goroutine(%d) before adding it = non-nil", id)
		}
		ptrs = append(ptrs, tr.add(Goroutine{ID: id}))
	}
	for i := GoID(0); i < 3*chunkSize; i++ {
		tr.add(Goroutine{ID: 1000 + i})
	}
	for i, id := range ids {
		if g := tr.Goroutine(id); g == nil || g.ID != id || g != ptrs[i] {
			t.Errorf("Goroutine(%d) = %p; want goroutine %d at %p", id, g, id, ptrs[i])
		}
	}
	for _, id := range []GoID{0, 4, bigID + 1, NoGoroutine} {
		if g := tr.Goroutine(id); g != nil {
			t.Errorf("Goroutine(%d) = goroutine %d; want nil", id, g.ID)
		}
	}
	if n, want := len(tr.Goroutines()), len(ids)+3*chunkSize; n != want {
		t.Errorf("%d goroutines; want %d", n, want)
	}

	// Drop two and add one: it takes a freed slot, and comes last.
	tr.gs.drop(tr.Goroutine(7))
	tr.gs.drop(tr.Goroutine(1 << 40))
	if tr.Goroutine(7) != nil || tr.Goroutine(1<<40) != nil {
		t.Errorf("dropped goroutines 7 and 1<<40 are still found")
	}
	g := tr.add(Goroutine{ID: 99999})
	if g != ptrs[5] && g != ptrs[1] {
		t.Errorf("the new record is not in a freed slot")
	}
	var order []GoID
	for g := range tr.All() {
		order = append(order, g.ID)
	}
	want := []GoID{1, 3, bigID - 1, bigID, 2}
	if got := order[:5]; !slices.Equal(got, want) || order[len(order)-1] != 99999 || len(order) != len(ids)-2+3*chunkSize+1 {
		t.Errorf("All = %v...%v (%d); want %v...99999 (%d)", order[:5], order[len(order)-1], len(order), want, len(ids)-2+3*chunkSize+1)
	}

	// A page whose last id is dropped is freed.
	for i := GoID(0); i < 3*chunkSize; i++ {
		tr.gs.drop(tr.Goroutine(1000 + i))
	}
	if n := tr.gs.index.Len(); n != len(ids)-2+1 {
		t.Errorf("the index holds %d ids after the drops; want %d", n, len(ids)-2+1)
	}
}

// TestObjects checks what the trace keeps of each object: its kind, name
// and first use (a use with no stack, or a naming, does not count as the
// first), and that objects made at one line share one record of it.
func TestObjects(t *testing.T) {
	tr := &Trace{}
	ev := func(id wire.ObjectID, op wire.Op, key string) wire.Event {
		return wire.Event{Kind: wire.KindWaitGroup, Object: id, Op: op, Key: key}
	}
	tr.noteObject(ev(1, wire.OpName, "reqs"), 5)
	tr.noteObject(ev(1, wire.OpAdd, ""), NoStack)
	tr.noteObject(ev(1, wire.OpWait, ""), 7)
	tr.noteObject(ev(1, wire.OpAdd, ""), 8)
	tr.noteObject(wire.Event{Kind: wire.KindMutex, Object: 2, Op: wire.OpLock}, 9)
	for id := wire.ObjectID(10); id < 100_000; id++ {
		tr.noteObject(ev(id, wire.OpAdd, ""), 3)
	}
	tests := []struct {
		id   wire.ObjectID
		want *Object
	}{
		{1, &Object{ID: 1, Kind: wire.KindWaitGroup, Name: "reqs", First: 7, Op: wire.OpWait}},
		{2, &Object{ID: 2, Kind: wire.KindMutex, First: 9, Op: wire.OpLock}},
		{99_999, &Object{ID: 99_999, Kind: wire.KindWaitGroup, First: 3, Op: wire.OpAdd}},
		{3, nil},
	}
	for _, tt := range tests {
		if got := tr.Object(tt.id); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Object(%d) = %+v; want %+v", tt.id, got, tt.want)
		}
	}
	// Named, used with no stack, waited on; locked; added to at one line.
	if n := len(tr.objects.uses); n != 5 {
		t.Errorf("kinds and first uses kept for %d objects = %d; want 5 (objects made at one line share one)", 100_000-10+2, n)
	}
}
