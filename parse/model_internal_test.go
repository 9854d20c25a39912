package parse

import "testing"

// TestGoroutineIndex checks lookups of small ids (the dense index) and
// large ones (the map) alike.
func TestGoroutineIndex(t *testing.T) {
	tr := &Trace{byID: make(map[GoID]int32)}
	ids := []GoID{1, 7, 3, maxDense - 1, maxDense, 1 << 40, 2}
	for _, id := range ids {
		if tr.Goroutine(id) != nil {
			t.Fatalf("Goroutine(%d) before adding it = non-nil", id)
		}
		tr.add(Goroutine{ID: id})
	}
	for _, id := range ids {
		if g := tr.Goroutine(id); g == nil || g.ID != id {
			t.Errorf("Goroutine(%d) = %v; want goroutine %d", id, g, id)
		}
	}
	for _, id := range []GoID{0, 4, maxDense + 1, NoGoroutine} {
		if g := tr.Goroutine(id); g != nil {
			t.Errorf("Goroutine(%d) = goroutine %d; want nil", id, g.ID)
		}
	}
	if n := len(tr.Goroutines()); n != len(ids) {
		t.Errorf("%d goroutines; want %d", n, len(ids))
	}
}
