package parse

import (
	"cmp"
	"slices"
)

// store holds goroutine records in fixed-size chunks, so that a record
// never moves once made (consumers and the builder hold pointers to them,
// and a trace may hold millions: one growing slice would copy them all
// again at every doubling), and finds them by id through a paged index.
// Its zero value is empty and ready to use.
type store struct {
	chunks [][]Goroutine // of chunkSize records each
	used   int32         // slots handed out, in chunks
	free   []int32       // slots of dropped records, reused first
	n      int           // records held
	seq    uint64        // appearances so far: orders Goroutines
	index  goIndex
}

const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
)

func (s *store) at(slot int32) *Goroutine {
	return &s.chunks[slot>>chunkBits][slot&(chunkSize-1)]
}

// get returns the record of that id, or nil.
func (s *store) get(id GoID) *Goroutine {
	if slot, ok := s.index.get(id); ok {
		return s.at(slot)
	}
	return nil
}

// add stores a new record and returns it.
func (s *store) add(g Goroutine) *Goroutine {
	var slot int32
	if n := len(s.free); n > 0 {
		slot, s.free = s.free[n-1], s.free[:n-1]
	} else {
		if int(s.used) == len(s.chunks)*chunkSize {
			s.chunks = append(s.chunks, make([]Goroutine, chunkSize))
		}
		slot = s.used
		s.used++
	}
	s.seq++
	g.seq = s.seq
	p := s.at(slot)
	*p = g
	s.index.set(g.ID, slot)
	s.n++
	return p
}

// drop forgets a record; its slot is reused.
func (s *store) drop(g *Goroutine) {
	slot, ok := s.index.get(g.ID)
	if !ok || s.at(slot) != g {
		return
	}
	s.index.del(g.ID)
	*g = Goroutine{}
	s.free = append(s.free, slot)
	s.n--
}

// all returns pointers to the records held, in order of first appearance.
func (s *store) all() []*Goroutine {
	out := make([]*Goroutine, 0, s.n)
	for i := int32(0); i < s.used; i++ {
		if g := s.at(i); g.seq != 0 {
			out = append(out, g)
		}
	}
	if len(s.free) > 0 {
		// Reused slots break the order of the chunks.
		slices.SortFunc(out, func(a, b *Goroutine) int { return cmp.Compare(a.seq, b.seq) })
	}
	return out
}

// goIndex maps goroutine ids to slots. The runtime numbers goroutines
// densely from 1, so ids below maxPaged are looked up in pages of
// pageSize slots, each freed when its last goroutine is dropped; the rest
// (never seen in practice) in a map.
type goIndex struct {
	pages []*goPage // by id >> pageBits
	big   map[GoID]int32
}

type goPage struct {
	slot [pageSize]int32 // slot plus one; 0: none
	n    int             // ids held
}

const (
	pageBits = 10
	pageSize = 1 << pageBits
	// maxPaged bounds the paged ids (2 MB of page pointers at most).
	maxPaged = 1 << 28
)

func (x *goIndex) get(id GoID) (int32, bool) {
	if id >= 0 && id < maxPaged {
		pi := int(id >> pageBits)
		if pi < len(x.pages) {
			if p := x.pages[pi]; p != nil {
				if s := p.slot[id&(pageSize-1)]; s > 0 {
					return s - 1, true
				}
			}
		}
		return 0, false
	}
	s, ok := x.big[id]
	return s, ok
}

func (x *goIndex) set(id GoID, slot int32) {
	if id >= 0 && id < maxPaged {
		pi := int(id >> pageBits)
		if pi >= len(x.pages) {
			x.pages = append(x.pages, make([]*goPage, pi+1-len(x.pages))...)
		}
		p := x.pages[pi]
		if p == nil {
			p = new(goPage)
			x.pages[pi] = p
		}
		if p.slot[id&(pageSize-1)] == 0 {
			p.n++
		}
		p.slot[id&(pageSize-1)] = slot + 1
		return
	}
	if x.big == nil {
		x.big = make(map[GoID]int32)
	}
	x.big[id] = slot
}

func (x *goIndex) del(id GoID) {
	if id >= 0 && id < maxPaged {
		pi := int(id >> pageBits)
		if pi >= len(x.pages) || x.pages[pi] == nil {
			return
		}
		p := x.pages[pi]
		if p.slot[id&(pageSize-1)] != 0 {
			p.slot[id&(pageSize-1)] = 0
			p.n--
		}
		if p.n == 0 {
			x.pages[pi] = nil
		}
		return
	}
	delete(x.big, id)
}
