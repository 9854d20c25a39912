package sync

import (
	"fmt"
	"math"
	stdsync "sync"
	"sync/atomic"
	"testing"
)

// TestWaitGroup checks, for several group sizes, that Wait does not return
// before every Done, and that a WaitGroup can be reused once Wait has
// returned. The tasks write plain memory that the waiter reads after Wait,
// so under -race a missing "synchronizes before" edge is reported too.
func TestWaitGroup(t *testing.T) {
	for _, n := range []int{1, 2, 16, 64} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			var wg WaitGroup
			for round := range 3 {
				finished := make([]bool, n)
				wg.Add(n)
				for i := range n {
					go func() {
						finished[i] = true
						wg.Done()
					}()
				}
				wg.Wait()
				if got := countTrue(finished); got != n {
					t.Fatalf("round %d: Wait returned after %d of %d Done calls", round, got, n)
				}
			}
		})
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// TestWaitGroupManyWaiters blocks several Wait calls on one epoch and
// checks that the last Done releases them all, round after round.
func TestWaitGroupManyWaiters(t *testing.T) {
	const waiters, rounds = 4, 3
	var wg WaitGroup
	for round := range rounds {
		var done atomic.Bool
		var early atomic.Int32
		var join stdsync.WaitGroup
		wg.Add(1)
		for range waiters {
			join.Add(1)
			go func() {
				defer join.Done()
				wg.Wait()
				if !done.Load() {
					early.Add(1)
				}
			}()
		}
		awaitParkedIn(t, waiters, "(*WaitGroup).Wait")
		done.Store(true)
		wg.Done()
		join.Wait()
		if n := early.Load(); n != 0 {
			t.Fatalf("round %d: %d Wait calls returned before Done", round, n)
		}
	}
}

func TestWaitGroupGo(t *testing.T) {
	var wg WaitGroup
	var ran atomic.Int32
	for range 10 {
		wg.Go(func() {
			ran.Add(1)
			// A task may start more tasks while the group is not empty.
			wg.Go(func() { ran.Add(1) })
		})
	}
	wg.Wait()
	if n := ran.Load(); n != 20 {
		t.Errorf("Wait returned after %d of 20 tasks started with Go", n)
	}
}

func TestWaitGroupMisusePanics(t *testing.T) {
	tests := []struct {
		name string
		do   func(wg *WaitGroup)
		want string
	}{
		{"Done on zero", func(wg *WaitGroup) { wg.Done() }, "sync: negative WaitGroup counter"},
		{"Add(-2) on one", func(wg *WaitGroup) { wg.Add(1); wg.Add(-2) }, "sync: negative WaitGroup counter"},
		{"Done after the group emptied", func(wg *WaitGroup) { wg.Add(2); wg.Done(); wg.Done(); wg.Done() }, "sync: negative WaitGroup counter"},
		{"counter past MaxInt32", func(wg *WaitGroup) { wg.Add(math.MaxInt32); wg.Add(1) }, "sync: WaitGroup counter overflow"},
		{"counter past MaxInt64", func(wg *WaitGroup) { wg.Add(1); wg.Add(math.MaxInt) }, "sync: WaitGroup counter overflow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var wg WaitGroup
			if p := panicOf(func() { tt.do(&wg) }); p != tt.want {
				t.Errorf("%s panicked with %v; want %q", tt.name, p, tt.want)
			}
		})
	}
}

// TestWaitGroupAddConcurrentWithWait sets up the state an Add finds when
// it comes after the counter returned to zero but before the waiters of
// that epoch were released (the other goroutine's Add is between its
// compare-and-swap and its release), and checks both misuse panics: the
// Add's, and the released waiter's.
func TestWaitGroupAddConcurrentWithWait(t *testing.T) {
	var wg WaitGroup
	wg.Add(1)
	waited := make(chan any)
	go func() {
		defer func() { waited <- recover() }()
		wg.Wait()
	}()
	awaitParkedIn(t, 1, "(*WaitGroup).Wait")

	// The last Done's compare-and-swap, without its release.
	if !wg.state.CompareAndSwap(1<<32, 1) {
		t.Fatalf("state = %#x; want counter 1, epoch 0", wg.state.Load())
	}
	const addWant = "sync: WaitGroup misuse: Add called concurrently with Wait"
	if p := panicOf(func() { wg.Add(1) }); p != addWant {
		t.Errorf("Add(1) before the waiters of the ended epoch returned panicked with %v; want %q", p, addWant)
	}
	// The last Done's wake-up: the waiter finds the group in use again.
	wg.wakeWaiters()
	const waitWant = "sync: WaitGroup is reused before previous Wait has returned"
	if p := <-waited; p != waitWant {
		t.Errorf("Wait released into a new epoch panicked with %v; want %q", p, waitWant)
	}
}

// TestWaitGroupStressMany runs TestWaitGroupStress's rounds on several
// WaitGroups at once, so that parked waiters pass between them.
func TestWaitGroupStressMany(t *testing.T) {
	runConcurrently(4, func() { stressWaitGroup(t, 20) })
}

// TestWaitGroupStress mixes legal uses under contention: Add/Done pairs
// from many goroutines that bring the counter to zero and back with no
// waiter, Wait calls while the counter is above zero, and reuse after
// every Wait has returned. Nothing may panic or hang, and each Wait must
// see every Done of its round.
func TestWaitGroupStress(t *testing.T) {
	stressWaitGroup(t, 50)
}

func stressWaitGroup(t *testing.T, rounds int) {
	const workers, waiters = 8, 3
	var wg WaitGroup
	for round := range rounds {
		var finished atomic.Int32
		var join stdsync.WaitGroup
		wg.Add(workers)
		for range workers {
			go func() {
				// Pairs that start while this worker's own task holds
				// the counter above zero: legal at any time, even while
				// Wait calls block.
				for range 10 {
					wg.Add(1)
					wg.Done()
				}
				finished.Add(1)
				wg.Done()
			}()
		}
		var early atomic.Int32
		for range waiters {
			join.Add(1)
			go func() {
				defer join.Done()
				wg.Wait()
				if finished.Load() != workers {
					early.Add(1)
				}
			}()
		}
		wg.Wait()
		join.Wait()
		if n := early.Load(); n != 0 || finished.Load() != workers {
			t.Errorf("round %d: %d Wait calls returned before all %d workers finished", round, n, workers)
			return
		}
	}
	if c, _ := splitState(wg.state.Load()); c != 0 {
		t.Errorf("counter = %d after every round; want 0", c)
	}
}

// TestWaitGroupAddDoneNoWaiter brings the counter to zero and back from
// many goroutines at once with no Wait, which is legal, and checks that
// the epochs count every return to zero.
func TestWaitGroupAddDoneNoWaiter(t *testing.T) {
	const goroutines, pairs = 4, 1000
	var wg WaitGroup
	runConcurrently(goroutines, func() {
		for range pairs {
			wg.Add(1)
			wg.Done()
		}
	})
	counter, epoch := splitState(wg.state.Load())
	if counter != 0 || epoch < 1 || epoch > goroutines*pairs {
		t.Errorf("after %d Add(1)/Done pairs: counter, epoch = %d, %d; want 0, 1..%d", goroutines*pairs, counter, epoch, goroutines*pairs)
	}
	wg.Wait() // returns at once
}
