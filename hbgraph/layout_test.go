package hbgraph

import (
	"testing"
	"unsafe"
)

// TestNodeSize keeps the per-node cost of a graph in check: a node's
// annotation lives apart, so most nodes pay only for this.
func TestNodeSize(t *testing.T) {
	if got := unsafe.Sizeof(node{}); got > 32 {
		t.Errorf("unsafe.Sizeof(node{}) = %d; want at most 32", got)
	}
}

func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 5, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 7} {
		var s chunks[int64]
		for i := range n {
			if got := s.push(int64(i) * 3); got != int32(i) {
				t.Fatalf("n=%d: push #%d = %d; want %d", n, i, got, i)
			}
		}
		if s.len() != n {
			t.Fatalf("n=%d: len() = %d", n, s.len())
		}
		for i := range n {
			if got := *s.at(int32(i)); got != int64(i)*3 {
				t.Fatalf("n=%d: at(%d) = %d; want %d", n, i, got, i*3)
			}
		}
		all := s.appendTo(nil)
		if len(all) != n {
			t.Fatalf("n=%d: appendTo gives %d elements", n, len(all))
		}
		for i, v := range all {
			if v != int64(i)*3 {
				t.Fatalf("n=%d: appendTo[%d] = %d; want %d", n, i, v, i*3)
			}
		}
		for k, c := range s.c {
			if k > 0 && cap(c) != chunkSize {
				t.Errorf("n=%d: chunk %d has cap %d; want %d", n, k, cap(c), chunkSize)
			}
		}
	}
}
