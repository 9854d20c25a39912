// Package idmap is a map for dense integer ids, such as goroutine ids: the
// per-goroutine state that parse and the detectors look up on almost every
// event of a trace.
//
// The runtime numbers goroutines densely from 1, and the goroutines alive
// at a time have ids close together. A Map keeps values in pages of
// consecutive ids, found through a small cache of recent pages, not by
// hashing each id: a lookup is a few loads from memory that recent events
// have made hot, where a Go map of a million entries costs a cache miss or
// two a lookup. A page is freed when its last id is deleted (a few are
// kept for reuse), and pages are small (about 2 KB of values, 16 ids at
// least), so memory follows the ids held, not the ids ever seen, even
// where long-lived ids are scattered among short-lived ones.
package idmap

import (
	"iter"
	"math/bits"
	"slices"
	"unsafe"
)

// Map maps ids to values of V. Its zero value is empty and ready to use;
// a Map must not be copied once used (the copy would share its pages but
// not its cache). A pointer returned by Ref stays valid until its id is
// deleted.
type Map[K ~int64 | ~uint64, V any] struct {
	dir   map[uint64]*page[V] // by id >> shift
	cache [cacheSize]cached[V]
	spare []*page[V] // emptied pages, clean, kept for reuse
	shift uint8      // a page holds 1<<shift ids; 0 until the first Ref
	n     int
}

type cached[V any] struct {
	pi uint64
	p  *page[V] // nil: empty
}

type page[V any] struct {
	val []V
	has []uint64 // a bit an id
	n   int      // ids held
}

const (
	// cacheSize is how many recent pages are found without the
	// directory's hashing.
	cacheSize = 64
	// pageBytes is about how much a page's values take.
	pageBytes = 2048
	// maxSpare bounds the emptied pages a Map keeps: ids come and go in a
	// sliding window, so a page empties about as often as one is needed,
	// and allocating each afresh would make garbage at the rate of events.
	maxSpare = 4
)

// pageShift returns the page size for values of V: about pageBytes of
// values, within 16 to 512 ids (so a page of values over 128 bytes is
// larger).
func pageShift[V any]() uint8 {
	var v V
	n := pageBytes / max(int(unsafe.Sizeof(v)), 1)
	return uint8(min(max(bits.Len(uint(n))-1, 4), 9))
}

// Len returns the number of ids held.
func (m *Map[K, V]) Len() int { return m.n }

// Get returns the value of k and whether k is held; the zero value if not.
func (m *Map[K, V]) Get(k K) (V, bool) {
	if p := m.Lookup(k); p != nil {
		return *p, true
	}
	var zero V
	return zero, false
}

// At returns the value of k, the zero value if k is not held: what
// indexing a Go map returns.
func (m *Map[K, V]) At(k K) V {
	v, _ := m.Get(k)
	return v
}

// page returns the page of page index pi, or nil.
func (m *Map[K, V]) page(pi uint64) *page[V] {
	c := &m.cache[pi%cacheSize]
	if c.p != nil && c.pi == pi {
		return c.p
	}
	p := m.dir[pi]
	if p != nil {
		c.pi, c.p = pi, p
	}
	return p
}

// Lookup returns a pointer to k's value, or nil if k is not held.
func (m *Map[K, V]) Lookup(k K) *V {
	if m.shift == 0 {
		return nil
	}
	u := uint64(k)
	p := m.page(u >> m.shift)
	if p == nil {
		return nil
	}
	i := u & (1<<m.shift - 1)
	if p.has[i/64]&(1<<(i%64)) == 0 {
		return nil
	}
	return &p.val[i]
}

// Ref returns a pointer to k's value, adding k with the zero value if it
// is not held.
func (m *Map[K, V]) Ref(k K) *V {
	if m.shift == 0 {
		m.shift = pageShift[V]()
		m.dir = make(map[uint64]*page[V])
	}
	u := uint64(k)
	pi := u >> m.shift
	p := m.page(pi)
	if p == nil {
		if n := len(m.spare); n > 0 {
			p, m.spare = m.spare[n-1], m.spare[:n-1]
		} else {
			size := 1 << m.shift
			p = &page[V]{val: make([]V, size), has: make([]uint64, (size+63)/64)}
		}
		m.dir[pi] = p
		m.cache[pi%cacheSize] = cached[V]{pi, p}
	}
	i := u & (1<<m.shift - 1)
	if bit := uint64(1) << (i % 64); p.has[i/64]&bit == 0 {
		p.has[i/64] |= bit
		p.n++
		m.n++
	}
	return &p.val[i]
}

// Set sets k's value.
func (m *Map[K, V]) Set(k K, v V) { *m.Ref(k) = v }

// Delete forgets k, if held.
func (m *Map[K, V]) Delete(k K) {
	if m.shift == 0 {
		return
	}
	u := uint64(k)
	pi := u >> m.shift
	p := m.page(pi)
	if p == nil {
		return
	}
	i := u & (1<<m.shift - 1)
	bit := uint64(1) << (i % 64)
	if p.has[i/64]&bit == 0 {
		return
	}
	p.has[i/64] &^= bit
	var zero V
	p.val[i] = zero
	m.n--
	if p.n--; p.n == 0 {
		delete(m.dir, pi)
		if c := &m.cache[pi%cacheSize]; c.p == p {
			*c = cached[V]{}
		}
		if len(m.spare) < maxSpare {
			m.spare = append(m.spare, p) // every value zeroed, every bit clear
		}
	}
}

// Clear forgets every id.
func (m *Map[K, V]) Clear() { *m = Map[K, V]{} }

// All yields the ids held and pointers to their values, in increasing
// order of the ids as unsigned numbers. The map must not gain or lose ids
// while All runs.
func (m *Map[K, V]) All() iter.Seq2[K, *V] {
	return func(yield func(K, *V) bool) {
		pis := make([]uint64, 0, len(m.dir))
		for pi := range m.dir {
			pis = append(pis, pi)
		}
		slices.Sort(pis)
		for _, pi := range pis {
			p := m.dir[pi]
			for i := range len(p.val) {
				if p.has[i/64]&(1<<(i%64)) == 0 {
					continue
				}
				if !yield(K(pi<<m.shift|uint64(i)), &p.val[i]) {
					return
				}
			}
		}
	}
}
