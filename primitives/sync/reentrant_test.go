package sync

import (
	"fmt"
	"testing"
)

func TestReentrantMutexReentry(t *testing.T) {
	var m ReentrantMutex
	tryOther := func() bool {
		got := make(chan bool)
		go func() {
			ok := m.TryLock()
			if ok {
				m.Unlock()
			}
			got <- ok
		}()
		return recvLocks(t, "TryLock in another goroutine", got)
	}
	steps := []struct {
		name      string
		op        func()
		wantDepth int
		wantOther bool // whether another goroutine's TryLock succeeds
	}{
		{"new", func() {}, 0, true},
		{"Lock", m.Lock, 1, false},
		{"Lock again", m.Lock, 2, false},
		{"TryLock again", func() {
			if !m.TryLock() {
				t.Fatal("TryLock by the holder = false; want true")
			}
		}, 3, false},
		{"Unlock", m.Unlock, 2, false},
		{"Unlock", m.Unlock, 1, false},
		{"Unlock", m.Unlock, 0, true},
		{"Lock after release", m.Lock, 1, false},
		{"Unlock after release", m.Unlock, 0, true},
	}
	for i, s := range steps {
		s.op()
		if got := m.Depth(); got != s.wantDepth {
			t.Fatalf("step %d (%s): Depth() = %d; want %d", i, s.name, got, s.wantDepth)
		}
		if got := m.Held(); got != (s.wantDepth > 0) {
			t.Fatalf("step %d (%s): Held() = %v; want %v", i, s.name, got, s.wantDepth > 0)
		}
		if got := tryOther(); got != s.wantOther {
			t.Fatalf("step %d (%s): TryLock in another goroutine = %v; want %v", i, s.name, got, s.wantOther)
		}
	}
}

func TestReentrantMutexRecursion(t *testing.T) {
	// The use a ReentrantMutex exists for: a locked method calling another.
	var m ReentrantMutex
	var visit func(depth int) int
	visit = func(depth int) int {
		m.Lock()
		defer m.Unlock()
		if depth == 0 {
			return m.Depth()
		}
		return visit(depth - 1)
	}
	if got := visit(9); got != 10 {
		t.Fatalf("Depth() at the bottom of 10 nested Locks = %d; want 10", got)
	}
	if m.Held() {
		t.Fatal("Held() after the recursion unwound = true; want false")
	}
}

func TestReentrantMutexUnlockPanics(t *testing.T) {
	t.Run("unlocked", func(t *testing.T) {
		var m ReentrantMutex
		const want = "sync: unlock of unlocked ReentrantMutex"
		if got := lockPanic(m.Unlock); got != want {
			t.Fatalf("Unlock of an unlocked ReentrantMutex panicked with %v; want %q", got, want)
		}
	})
	t.Run("non-owner", func(t *testing.T) {
		var m ReentrantMutex
		m.Lock()
		defer m.Unlock()
		got := make(chan any)
		go func() { got <- lockPanic(m.Unlock) }()
		const want = "sync: unlock of ReentrantMutex held by another goroutine"
		if p := recvLocks(t, "the non-owner's Unlock", got); p != want {
			t.Fatalf("Unlock by a non-owner panicked with %v; want %q", p, want)
		}
		if got := m.Depth(); got != 1 {
			t.Fatalf("Depth() of the owner after a non-owner's Unlock = %d; want 1", got)
		}
	})
}

func TestGoroutineID(t *testing.T) {
	const n = 4
	ids := make(chan int64, n)
	for range n {
		go func() {
			id := goroutineID()
			if again := goroutineID(); again != id {
				t.Errorf("goroutineID() = %d, then %d in the same goroutine; want equal", id, again)
			}
			ids <- id
		}()
	}
	seen := map[int64]bool{goroutineID(): true}
	for range n {
		id := recvLocks(t, "goroutine ids", ids)
		if id <= 0 || seen[id] {
			t.Fatalf("goroutineID() = %d, not positive or seen in another goroutine (%v)", id, seen)
		}
		seen[id] = true
	}
}

func TestReentrantMutexStress(t *testing.T) {
	// Each goroutine locks recursively; exclusion must hold across them.
	var m ReentrantMutex
	for _, n := range []int{2, 6} {
		t.Run(fmt.Sprintf("goroutines=%d", n), func(t *testing.T) {
			hammerLocker(t, reentrantTwice{&m}, n, 100)
		})
	}
}

// reentrantTwice locks its ReentrantMutex twice per Lock and unlocks it
// twice per Unlock.
type reentrantTwice struct{ m *ReentrantMutex }

func (r reentrantTwice) Lock() {
	r.m.Lock()
	r.m.Lock()
}

func (r reentrantTwice) Unlock() {
	if d := r.m.Depth(); d != 2 {
		panic(fmt.Sprintf("Depth() = %d in the critical section; want 2", d))
	}
	r.m.Unlock()
	r.m.Unlock()
}
