package sync

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// lockHangGuard bounds every wait in the lock tests: it only turns a hang
// into a failure, and is far beyond what any correct run needs.
const lockHangGuard = 20 * time.Second

// pollLocks polls cond until it holds, failing the test if it does not
// within lockHangGuard.
func pollLocks(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(lockHangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", lockHangGuard, what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// recvLocks receives from ch, failing the test if nothing arrives within
// lockHangGuard.
func recvLocks[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(lockHangGuard):
		t.Fatalf("timed out after %v waiting for %s", lockHangGuard, what)
		panic("unreachable")
	}
}

// lockPanic calls f and returns the value it panicked with, or nil.
func lockPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// hammerLocker has n goroutines each lock l iters times and check that
// nobody else is inside while they are.
func hammerLocker(t *testing.T, l Locker, n, iters int) {
	t.Helper()
	var inside atomic.Int32
	counter := 0 // guarded by l; the race detector checks that it is
	done := make(chan string, n)
	for g := 0; g < n; g++ {
		go func() {
			for i := 0; i < iters; i++ {
				l.Lock()
				if k := inside.Add(1); k != 1 {
					done <- fmt.Sprintf("%d goroutines inside the critical section", k)
					return
				}
				counter++
				if i%7 == 0 {
					runtime.Gosched() // let others pile up behind us
				}
				inside.Add(-1)
				l.Unlock()
			}
			done <- ""
		}()
	}
	for g := 0; g < n; g++ {
		if msg := recvLocks(t, "hammering goroutines", done); msg != "" {
			t.Fatal(msg)
		}
	}
	l.Lock()
	defer l.Unlock()
	if want := n * iters; counter != want {
		t.Errorf("counter = %d after %d goroutines × %d locked increments; want %d", counter, n, iters, want)
	}
}

func TestMutexExclusion(t *testing.T) {
	for _, n := range []int{1, 2, 10, 50} {
		t.Run(fmt.Sprintf("goroutines=%d", n), func(t *testing.T) {
			hammerLocker(t, new(Mutex), n, 2000)
		})
	}
}

func TestMutexTryLock(t *testing.T) {
	var mu Mutex
	steps := []struct {
		name string
		op   func() bool
		want bool
	}{
		{"TryLock of unlocked", mu.TryLock, true},
		{"TryLock of locked", mu.TryLock, false},
		{"Locked while held", mu.Locked, true},
		{"Unlock, then TryLock", func() bool { mu.Unlock(); return mu.TryLock() }, true},
		{"Unlock, then Locked", func() bool { mu.Unlock(); return mu.Locked() }, false},
		{"Lock, then TryLock", func() bool { mu.Lock(); return mu.TryLock() }, false},
	}
	for _, s := range steps {
		if got := s.op(); got != s.want {
			t.Fatalf("%s = %v; want %v", s.name, got, s.want)
		}
	}
	mu.Unlock()
}

func TestMutexTryLockFromAnotherGoroutine(t *testing.T) {
	var mu Mutex
	mu.Lock()
	got := make(chan bool)
	go func() { got <- mu.TryLock() }()
	if recvLocks(t, "TryLock", got) {
		t.Fatal("TryLock of a mutex held by another goroutine = true; want false")
	}
	// A mutex may be unlocked by a goroutine other than the one that locked it.
	go func() { mu.Unlock(); got <- mu.TryLock() }()
	if !recvLocks(t, "Unlock and TryLock", got) {
		t.Fatal("TryLock after another goroutine's Unlock = false; want true")
	}
	mu.Unlock()
}

func TestMutexUnlockOfUnlockedPanics(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*Mutex)
	}{
		{"never locked", func(*Mutex) {}},
		{"locked and unlocked", func(m *Mutex) { m.Lock(); m.Unlock() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu Mutex
			tt.setup(&mu)
			const want = "sync: unlock of unlocked mutex"
			if got := lockPanic(mu.Unlock); got != want {
				t.Fatalf("Unlock panicked with %v; want %q", got, want)
			}
			// The failed Unlock leaves the mutex usable.
			if !mu.TryLock() {
				t.Fatal("TryLock after a recovered Unlock panic = false; want true")
			}
			mu.Unlock()
		})
	}
}

func TestMutexWaiters(t *testing.T) {
	var mu Mutex
	if got := mu.Waiters(); got != 0 {
		t.Fatalf("Waiters() of a new mutex = %d; want 0", got)
	}
	mu.Lock()
	const n = 5
	done := make(chan struct{})
	for range n {
		go func() {
			mu.Lock()
			mu.Unlock()
			done <- struct{}{}
		}()
	}
	pollLocks(t, fmt.Sprintf("Waiters() to reach %d", n), func() bool { return mu.Waiters() == n })
	if !mu.Locked() {
		t.Fatal("Locked() with waiters queued = false; want true")
	}
	mu.Unlock()
	for range n {
		recvLocks(t, "waiters to finish", done)
	}
	if got, locked := mu.Waiters(), mu.Locked(); got != 0 || locked {
		t.Fatalf("after all waiters ran: Waiters() = %d, Locked() = %v; want 0, false", got, locked)
	}
}

// TestMutexStarvation drives a mutex into starvation mode and back, as
// sync.Mutex's design says: a waiter woken after more than 1 ms that finds
// the mutex taken again switches it to starvation mode, in which Unlock
// hands it to the waiters in FIFO order; the last of them switches it back.
func TestMutexStarvation(t *testing.T) {
	var mu Mutex
	runStarvation(t, &mu)
}

// runStarvation runs the scenario of TestMutexStarvation on mu, which the
// trace test records too. On a busy machine the test goroutine can be
// descheduled long enough for every woken waiter to win its race to the
// mutex; then the scenario is tried again.
func runStarvation(t *testing.T, mu *Mutex) {
	t.Helper()
	for attempt := 1; !starveOnce(t, mu); attempt++ {
		if attempt == 5 {
			t.Skipf("in %d attempts every woken waiter won its race to the mutex; starvation not provoked", attempt)
		}
	}
}

// starveOnce queues waiters behind mu, lets them wait past the starvation
// threshold, and barges in front of the woken ones until one of them
// switches mu to starvation mode; then it checks the handoffs that follow.
// It reports false if every waiter won its race and mu never starved.
func starveOnce(t *testing.T, mu *Mutex) bool {
	t.Helper()
	const n = 6
	mu.Lock()
	acquired := make(chan int, n)
	release := make(chan struct{}, n)
	finished := make(chan struct{}, n)
	for i := range n {
		go func() {
			mu.Lock()
			acquired <- i
			<-release // hold the mutex until the test lets go
			mu.Unlock()
			finished <- struct{}{}
		}()
		// Queue the goroutines one at a time, so that their order is known:
		// wait until each has parked in the mutex's queue.
		pollLocks(t, fmt.Sprintf("waiter %d to park", i), func() bool { return mu.sema.nwait.Load() == uint32(i+1) })
	}
	// Every waiter now waits longer than the 1 ms threshold.
	time.Sleep(5 * time.Millisecond)
	if mu.Starving() {
		t.Fatal("Starving() before any waiter was woken = true; want false")
	}

	var order []int
	deadline := time.Now().Add(lockHangGuard)
	for !mu.Starving() {
		// Unlock wakes the waiter at the head of the queue; take the
		// mutex back at once, while that waiter is on its way.
		mu.Unlock()
		for !bargeIn(mu) {
			select {
			case i := <-acquired:
				// The waiter won: let it go, and barge in front of the
				// next one, which its Unlock wakes.
				order = append(order, i)
				release <- struct{}{}
				if len(order) == n {
					for range n {
						recvLocks(t, "the waiters to unlock", finished)
					}
					return false
				}
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("timed out barging in front of the woken waiters")
			}
		}
		// The woken waiter finds the mutex taken after waiting more than
		// 1 ms: it switches the mutex to starvation mode and queues again
		// at the head. Give it some time to run.
		for end := time.Now().Add(20 * time.Millisecond); !mu.Starving() && time.Now().Before(end); {
			time.Sleep(50 * time.Microsecond)
		}
	}
	if mu.TryLock() {
		t.Fatal("TryLock of a starving mutex = true; want false")
	}
	// Let the waiter that switched the mode park again, at the head of
	// the queue, before handing off.
	pollLocks(t, "the waiter to park again", func() bool { return mu.sema.nwait.Load() == uint32(n-len(order)) })

	// In starvation mode Unlock hands the mutex to the waiters in queue
	// order; each keeps the mode but the last, which leaves it.
	mu.Unlock()
	for len(order) < n {
		i := recvLocks(t, "the next waiter to acquire the mutex", acquired)
		order = append(order, i)
		last := len(order) == n
		if starving := mu.Starving(); starving == last {
			t.Errorf("Starving() while waiter %d of %d holds the mutex = %v; want %v", len(order), n, starving, !last)
		}
		release <- struct{}{}
	}
	for range n {
		recvLocks(t, "the waiters to unlock", finished)
	}
	if mu.Starving() || mu.Locked() || mu.Waiters() != 0 {
		t.Errorf("after the queue drained: Starving() = %v, Locked() = %v, Waiters() = %d; want false, false, 0",
			mu.Starving(), mu.Locked(), mu.Waiters())
	}
	for k, i := range order {
		if i != k {
			t.Errorf("waiters acquired the mutex in order %v; want queue order 0..%d", order, n-1)
			break
		}
	}
	return true
}

// bargeIn tries hard to lock mu at once, as a newly arriving goroutine
// would, and reports whether it did.
func bargeIn(mu *Mutex) bool {
	for range 10000 {
		if mu.TryLock() {
			return true
		}
	}
	return false
}

// TestMutexFairness is sync's: a goroutine that locks in a tight loop must
// not keep another one from ever getting the mutex.
func TestMutexFairness(t *testing.T) {
	var mu Mutex
	stop := make(chan bool)
	defer close(stop)
	go func() {
		for {
			mu.Lock()
			time.Sleep(100 * time.Microsecond)
			mu.Unlock()
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	done := make(chan bool, 1)
	go func() {
		for i := 0; i < 10; i++ {
			time.Sleep(100 * time.Microsecond)
			mu.Lock()
			mu.Unlock()
		}
		done <- true
	}()
	recvLocks(t, "the polite goroutine to lock 10 times", done)
}

func TestMutexStress(t *testing.T) {
	// Lock, TryLock and Unlock from another goroutine, all at once.
	var mu Mutex
	var inside atomic.Int32
	counter := 0
	const n, iters = 8, 3000
	done := make(chan string, n)
	for g := 0; g < n; g++ {
		go func() {
			for i := 0; i < iters; i++ {
				if g%2 == 1 && i%3 == 0 {
					if !mu.TryLock() {
						continue
					}
				} else {
					mu.Lock()
				}
				if k := inside.Add(1); k != 1 {
					done <- fmt.Sprintf("%d goroutines inside the critical section", k)
					return
				}
				counter++
				inside.Add(-1)
				if i%100 == 0 {
					// Hand the unlock to another goroutine.
					unlocked := make(chan struct{})
					go func() { mu.Unlock(); close(unlocked) }()
					<-unlocked
				} else {
					mu.Unlock()
				}
			}
			done <- ""
		}()
	}
	for g := 0; g < n; g++ {
		if msg := recvLocks(t, "stress goroutines", done); msg != "" {
			t.Fatal(msg)
		}
	}
	if mu.Locked() || mu.Waiters() != 0 {
		t.Errorf("after the stress: Locked() = %v, Waiters() = %d; want false, 0", mu.Locked(), mu.Waiters())
	}
	if counter == 0 || counter > n*iters {
		t.Errorf("counter = %d; want in 1..%d", counter, n*iters)
	}
}
