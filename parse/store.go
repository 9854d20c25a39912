package parse

import (
	"cmp"
	"slices"

	"github.com/blockscope/blockscope/internal/idmap"
)

// store holds goroutine records in fixed-size chunks, so that a record
// never moves once made (consumers and the builder hold pointers to them,
// and a trace may hold millions: one growing slice would copy them all
// again at every doubling), and finds them by id through a paged index (see idmap).
// Its zero value is empty and ready to use.
type store struct {
	chunks [][]Goroutine          // of chunkSize records each
	used   int32                  // slots handed out, in chunks
	free   []int32                // slots of dropped records, reused first
	n      int                    // records held
	seq    uint64                 // appearances so far: orders Goroutines
	index  idmap.Map[GoID, int32] // id to slot
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
	if slot, ok := s.index.Get(id); ok {
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
	s.index.Set(g.ID, slot)
	s.n++
	return p
}

// drop forgets a record; its slot is reused.
func (s *store) drop(g *Goroutine) {
	slot, ok := s.index.Get(g.ID)
	if !ok || s.at(slot) != g {
		return
	}
	s.index.Delete(g.ID)
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
