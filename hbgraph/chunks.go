package hbgraph

// chunkBits sets the size of the chunks a graph's big arrays grow by.
const (
	chunkBits = 12
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

// chunks is an append-only array kept in chunks of chunkSize elements, so
// that growing it never copies what it holds: built element by element, it
// allocates each element once, where a slice grown by append allocates, in
// all, about five times its final length (large slices grow by a quarter).
// The first chunk grows as a slice does, so a small array stays small.
type chunks[T any] struct {
	c [][]T
	n int
}

// len returns the number of elements.
func (s *chunks[T]) len() int { return s.n }

// at returns element i.
func (s *chunks[T]) at(i int32) *T { return &s.c[i>>chunkBits][i&chunkMask] }

// push appends v and returns its index.
func (s *chunks[T]) push(v T) int32 {
	k := s.n >> chunkBits
	if k == len(s.c) {
		var c []T
		if k > 0 {
			c = make([]T, 0, chunkSize)
		}
		s.c = append(s.c, c)
	}
	s.c[k] = append(s.c[k], v)
	s.n++
	return int32(s.n - 1)
}

// appendTo appends every element to dst, in order.
func (s *chunks[T]) appendTo(dst []T) []T {
	for _, c := range s.c {
		dst = append(dst, c...)
	}
	return dst
}
