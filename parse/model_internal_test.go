package parse

import (
	"slices"
	"testing"
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
