// Package compare holds the same tests for goleak and leaktest: the
// environment variable VERIFIER (goleak or leaktest) picks the verifier,
// and leaktest's TestAgainstGoleak runs them under both.
package compare

import (
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/blockscope/blockscope/leaktest"
	"github.com/blockscope/blockscope/primitives/sync"
)

func verifyNone(t *testing.T) {
	t.Helper()
	switch os.Getenv("VERIFIER") {
	case "goleak":
		// leaktest's flight recorder is linked in this binary too.
		goleak.VerifyNone(t)
	case "leaktest":
		leaktest.VerifyNone(t)
	default:
		t.Fatalf("VERIFIER=%q: want goleak or leaktest", os.Getenv("VERIFIER"))
	}
}

// TestLeakSend starts a sender and never receives, as a handler does that
// returns early on an error.
func TestLeakSend(t *testing.T) {
	defer verifyNone(t)
	ch := make(chan int)
	go func() {
		ch <- 42 // leaks: nobody receives
	}()
}

// TestDeadlock takes two of blockscope's mutexes in both orders.
func TestDeadlock(t *testing.T) {
	defer verifyNone(t)
	var a, b sync.Mutex
	var ready sync.WaitGroup
	ready.Add(2)
	go func() {
		a.Lock()
		ready.Done()
		ready.Wait()
		b.Lock() // deadlocks with the other goroutine
	}()
	go func() {
		b.Lock()
		ready.Done()
		ready.Wait()
		a.Lock() // deadlocks with the other goroutine
	}()
	time.Sleep(10 * time.Millisecond)
}

// TestPoller starts a polling loop and never stops it: asleep, not
// blocked, it outlives the test.
func TestPoller(t *testing.T) {
	defer verifyNone(t)
	go func() {
		for {
			time.Sleep(time.Millisecond) // polls for ever
		}
	}()
}

// TestClean's goroutine finishes a little after the test returns: both
// verifiers wait for it.
func TestClean(t *testing.T) {
	defer verifyNone(t)
	done := make(chan int)
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(done)
	}()
	go func() { <-done }()
}
