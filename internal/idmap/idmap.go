// Package idmap is a map for dense integer ids, such as goroutine ids: the
// per-goroutine state that parse and the detectors look up on almost every
// event of a trace.
//
// The runtime numbers goroutines densely from 1, and the goroutines alive
// at a time have ids close together. A Map keeps values in pages of
// consecutive ids, found by indexing, not hashing: a lookup is two loads
// from memory that recent events have made hot, where a Go map of a
// million entries costs a cache miss or two a lookup. A page is freed when
// its last id is deleted (a few are kept for reuse), so memory follows the
// ids held, not the ids ever seen. Ids outside [0, 2^28) (never seen in a real trace, but a
// damaged one may hold anything) go to an ordinary map.
package idmap

import "iter"

const (
	pageBits = 8
	pageSize = 1 << pageBits
	// maxPaged bounds the paged ids: at most 8 MB of page pointers.
	maxPaged = 1 << 28
)

// Map maps ids to values of V. Its zero value is empty and ready to use.
// A pointer returned by Ref stays valid until its id is deleted.
type Map[K ~int64 | ~uint64, V any] struct {
	pages []*page[V] // by id >> pageBits
	spare []*page[V] // emptied pages, clean, kept for reuse
	big   map[K]*V
	n     int
}

// maxSpare bounds the emptied pages a Map keeps: ids come and go in a
// sliding window, so a page empties about as often as one is needed, and
// allocating each afresh would make garbage at the rate of events.
const maxSpare = 4

type page[V any] struct {
	val [pageSize]V
	has [pageSize / 64]uint64
	n   int
}

func paged[K ~int64 | ~uint64](k K) bool {
	// Compared as uint64, so a negative id of a signed K is not paged.
	return uint64(k) < maxPaged
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

// Lookup returns a pointer to k's value, or nil if k is not held.
func (m *Map[K, V]) Lookup(k K) *V {
	if !paged(k) {
		return m.big[k]
	}
	pi := int(uint64(k) >> pageBits)
	if pi >= len(m.pages) {
		return nil
	}
	p := m.pages[pi]
	if p == nil {
		return nil
	}
	i := uint64(k) & (pageSize - 1)
	if p.has[i/64]&(1<<(i%64)) == 0 {
		return nil
	}
	return &p.val[i]
}

// Ref returns a pointer to k's value, adding k with the zero value if it
// is not held.
func (m *Map[K, V]) Ref(k K) *V {
	if !paged(k) {
		if v := m.big[k]; v != nil {
			return v
		}
		if m.big == nil {
			m.big = make(map[K]*V)
		}
		v := new(V)
		m.big[k] = v
		m.n++
		return v
	}
	pi := int(uint64(k) >> pageBits)
	if pi >= len(m.pages) {
		m.pages = append(m.pages, make([]*page[V], pi+1-len(m.pages))...)
	}
	p := m.pages[pi]
	if p == nil {
		if n := len(m.spare); n > 0 {
			p, m.spare = m.spare[n-1], m.spare[:n-1]
		} else {
			p = new(page[V])
		}
		m.pages[pi] = p
	}
	i := uint64(k) & (pageSize - 1)
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
	if !paged(k) {
		if _, ok := m.big[k]; ok {
			delete(m.big, k)
			m.n--
		}
		return
	}
	pi := int(uint64(k) >> pageBits)
	if pi >= len(m.pages) || m.pages[pi] == nil {
		return
	}
	p := m.pages[pi]
	i := uint64(k) & (pageSize - 1)
	bit := uint64(1) << (i % 64)
	if p.has[i/64]&bit == 0 {
		return
	}
	p.has[i/64] &^= bit
	var zero V
	p.val[i] = zero
	m.n--
	if p.n--; p.n == 0 {
		m.pages[pi] = nil
		if len(m.spare) < maxSpare {
			m.spare = append(m.spare, p) // every value zeroed, every bit clear
		}
	}
}

// Clear forgets every id.
func (m *Map[K, V]) Clear() { *m = Map[K, V]{} }

// All yields the ids held and pointers to their values: the paged ids in
// increasing order, then the others in no set order. The map must not
// gain or lose ids while All runs.
func (m *Map[K, V]) All() iter.Seq2[K, *V] {
	return func(yield func(K, *V) bool) {
		for pi, p := range m.pages {
			if p == nil {
				continue
			}
			for i := range pageSize {
				if p.has[i/64]&(1<<(i%64)) == 0 {
					continue
				}
				if !yield(K(pi<<pageBits|i), &p.val[i]) {
					return
				}
			}
		}
		for k, v := range m.big {
			if !yield(k, v) {
				return
			}
		}
	}
}
