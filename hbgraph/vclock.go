package hbgraph

// Vector clocks are persistent radix trees over lane indices, their nodes
// in one arena: an internal node holds the arena indices of its children, a
// leaf the positions of its lanes, and index 0 is the all-zero node that
// stands for an empty subtree at any level. Clocks share every subtree
// they have in common, so a goroutine started by a go statement shares its
// parent's clock, a join copies only the paths to the components it
// raises, and a merge skips the subtrees the two clocks share. Memory then
// follows the components that change, not goroutines times joins.

const (
	clockBits = 3
	clockFan  = 1 << clockBits
	clockMask = clockFan - 1
)

type clockNode [clockFan]int32

// clockArena holds the nodes of every clock of a graph.
type clockArena struct {
	nodes  chunks[clockNode]
	height int // levels of internal nodes above the leaves
}

// newClockArena returns an arena for clocks over lanes lanes.
func newClockArena(lanes int) *clockArena {
	c := &clockArena{}
	c.nodes.push(clockNode{})
	for span := clockFan; span < lanes; span <<= clockBits {
		c.height++
	}
	return c
}

func (c *clockArena) add(n clockNode) int32 {
	return c.nodes.push(n)
}

// get returns the component of clock root for lane l.
func (c *clockArena) get(root int32, l int32) int32 {
	x := root
	for h := c.height; h > 0 && x != 0; h-- {
		x = c.nodes.at(x)[(l>>(h*clockBits))&clockMask]
	}
	if x == 0 {
		return 0
	}
	return c.nodes.at(x)[l&clockMask]
}

// raise returns clock root with lane l's component raised to at least pos.
func (c *clockArena) raise(root int32, l, pos int32) int32 {
	return c.raiseAt(root, l, pos, c.height)
}

func (c *clockArena) raiseAt(x int32, l, pos int32, h int) int32 {
	i := (l >> (h * clockBits)) & clockMask
	n := *c.nodes.at(x)
	if h == 0 {
		if n[i] >= pos {
			return x
		}
		n[i] = pos
		return c.add(n)
	}
	k := c.raiseAt(n[i], l, pos, h-1)
	if k == n[i] {
		return x
	}
	n[i] = k
	return c.add(n)
}

// merge returns the component-wise maximum of clocks a and b, reusing a or
// b (or any of their subtrees) where the maximum equals it.
func (c *clockArena) merge(a, b int32) int32 {
	return c.mergeAt(a, b, c.height)
}

func (c *clockArena) mergeAt(a, b int32, h int) int32 {
	if a == b || b == 0 {
		return a
	}
	if a == 0 {
		return b
	}
	na, nb := *c.nodes.at(a), *c.nodes.at(b)
	var out clockNode
	sameA, sameB := true, true
	for i := range out {
		if h == 0 {
			out[i] = max(na[i], nb[i])
		} else {
			out[i] = c.mergeAt(na[i], nb[i], h-1)
		}
		sameA = sameA && out[i] == na[i]
		sameB = sameB && out[i] == nb[i]
	}
	switch {
	case sameA:
		return a
	case sameB:
		return b
	}
	return c.add(out)
}

// mergeRaise returns merge(a, b) with lane l's component raised to at
// least pos, making only the nodes of the result that neither a nor b has,
// where a merge then a raise would first make the merge's own copy of the
// path to l.
func (c *clockArena) mergeRaise(a, b int32, l, pos int32) int32 {
	return c.mergeRaiseAt(a, b, l, pos, c.height)
}

func (c *clockArena) mergeRaiseAt(a, b int32, l, pos int32, h int) int32 {
	i := (l >> (h * clockBits)) & clockMask
	na, nb := *c.nodes.at(a), *c.nodes.at(b)
	var out clockNode
	for j := range out {
		switch {
		case h == 0:
			out[j] = max(na[j], nb[j])
		case int32(j) == i:
			out[j] = c.mergeRaiseAt(na[j], nb[j], l, pos, h-1)
		default:
			out[j] = c.mergeAt(na[j], nb[j], h-1)
		}
	}
	if h == 0 {
		out[i] = max(out[i], pos)
	}
	switch out {
	case na:
		return a
	case nb:
		return b
	}
	return c.add(out)
}

// each calls f for every non-zero component of clock root, by lane.
func (c *clockArena) each(root int32, f func(l, pos int32)) {
	c.eachAt(root, 0, c.height, f)
}

func (c *clockArena) eachAt(x int32, base int32, h int, f func(l, pos int32)) {
	if x == 0 {
		return
	}
	for i, v := range c.nodes.at(x) {
		l := base | int32(i)<<(h*clockBits)
		if h == 0 {
			if v != 0 {
				f(l, v)
			}
		} else {
			c.eachAt(v, l, h-1, f)
		}
	}
}
