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
