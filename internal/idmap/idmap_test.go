package idmap

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAgainstMap runs random operations on a Map and a Go map side by
// side, with ids dense, sparse, negative and huge.
func TestAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var m Map[int64, int]
	want := map[int64]int{}
	id := func() int64 {
		switch r.IntN(10) {
		case 0:
			return -r.Int64N(1000) - 1
		case 1:
			return 1<<28 + r.Int64N(1000)
		case 2:
			return r.Int64()
		}
		return r.Int64N(5000)
	}
	for i := range 200_000 {
		k := id()
		switch r.IntN(4) {
		case 0, 1:
			m.Set(k, i)
			want[k] = i
		case 2:
			m.Delete(k)
			delete(want, k)
		case 3:
			*m.Ref(k) += 1
			want[k] += 1
		}
		if v, ok := m.Get(k); v != want[k] || ok != (m.Lookup(k) != nil) {
			t.Fatalf("op %d: Get(%d) = %d, %v; want %d", i, k, v, ok, want[k])
		}
		if m.Len() != len(want) {
			t.Fatalf("op %d: Len = %d, want %d", i, m.Len(), len(want))
		}
	}
	got := map[int64]int{}
	var order []uint64
	for k, v := range m.All() {
		got[k] = *v
		order = append(order, uint64(k))
	}
	if !maps.Equal(got, want) {
		t.Fatalf("All yields %d ids, want %d (or values differ)", len(got), len(want))
	}
	if !slices.IsSorted(order) {
		t.Error("All does not yield ids in increasing order")
	}
}

// TestPagesFreed checks that memory follows the ids held: deleting every
// id of a page frees it.
func TestPagesFreed(t *testing.T) {
	var m Map[uint64, [4]int]
	for k := range uint64(100_000) {
		m.Ref(k)[0] = int(k)
		if k >= 1000 {
			m.Delete(k - 1000) // a sliding window of live ids, like goroutines
		}
	}
	live := len(m.dir)
	if max := 1000>>m.shift + 2; live > max {
		t.Errorf("%d pages held for 1000 live ids; want at most %d", live, max)
	}
	if m.Len() != 1000 {
		t.Errorf("Len = %d, want 1000", m.Len())
	}
	if v, ok := m.Get(99_999); !ok || v[0] != 99_999 {
		t.Errorf("Get(99999) = %v, %v", v, ok)
	}
	if _, ok := m.Get(5); ok {
		t.Error("a deleted id is still held")
	}
}

// TestPageSizes checks that a page holds about pageBytes of values,
// within the bounds on its ids.
func TestPageSizes(t *testing.T) {
	for _, c := range []struct {
		got, want uint8
	}{
		{pageShift[bool](), 9},
		{pageShift[int32](), 9},
		{pageShift[int64](), 8},
		{pageShift[[3]int64](), 6},
		{pageShift[[10]int64](), 4},
		{pageShift[[1000]int64](), 4},
		{pageShift[struct{}](), 9},
	} {
		if c.got != c.want {
			t.Errorf("page shift %d; want %d", c.got, c.want)
		}
	}
}

// TestRefStable checks that a pointer from Ref survives other ids' adds
// and deletes.
func TestRefStable(t *testing.T) {
	var m Map[int64, int]
	p := m.Ref(7)
	*p = 42
	for k := int64(8); k < 10_000; k++ {
		m.Set(k, 1)
		m.Delete(k)
	}
	if v, _ := m.Get(7); v != 42 || m.Lookup(7) != p {
		t.Errorf("Get(7) = %d after others came and went; want 42 at the same address", v)
	}
}

func BenchmarkSlidingWindow(b *testing.B) {
	b.Run("idmap", func(b *testing.B) {
		var m Map[int64, int]
		for i := range int64(b.N) {
			*m.Ref(i)++
			if v, ok := m.Get(i - 500); ok {
				_ = v
				m.Delete(i - 500)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		m := map[int64]int{}
		for i := range int64(b.N) {
			m[i]++
			if v, ok := m[i-500]; ok {
				_ = v
				delete(m, i-500)
			}
		}
	})
}

// TestSpareReused checks that ids moving through pages, as goroutines'
// do, reuse emptied pages instead of allocating new ones, and that a
// reused page holds nothing of its past.
func TestSpareReused(t *testing.T) {
	var m Map[int64, int]
	pageSize := int64(1) << pageShift[int]()
	for k := range 10 * pageSize {
		m.Set(k, int(k)+1)
		m.Delete(k)
	}
	allocs := testing.AllocsPerRun(10, func() {
		for k := range 4 * pageSize {
			k += 100 * pageSize
			m.Set(k, 1)
			m.Delete(k)
		}
	})
	if allocs > 0 {
		t.Errorf("%v allocations a run of ids through emptied pages; want 0", allocs)
	}
	for k := range pageSize {
		if _, ok := m.Get(k + 200*pageSize); ok {
			t.Fatalf("id %d held in a reused page", k+200*pageSize)
		}
		if v := *m.Ref(k + 200*pageSize); v != 0 {
			t.Fatalf("a reused page has value %d for new id %d; want 0", v, k+200*pageSize)
		}
	}
}
