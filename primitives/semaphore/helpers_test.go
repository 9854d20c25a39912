package semaphore_test

import (
	"testing"

	"github.com/blockscope/blockscope/internal/tracetest"
)

// waitParked waits until at least n goroutines are parked on a channel
// operation (in a select or a channel receive) with frame on their stack. A
// goroutine still taking the semaphore's mutex, or runnable, is not
// counted: an Acquire parked on a channel has already joined the queue (or
// given up on it, for a request larger than the size).
func waitParked(t *testing.T, n int, frame string) {
	t.Helper()
	tracetest.WaitParked(t, n, frame, "select", "chan receive")
}

// result is what a goroutine's Acquire returned.
type result struct {
	name string
	err  error
}

// assertEmpty fails the test if ch holds a value.
func assertEmpty[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s: got %v; want still blocked", what, v)
	default:
	}
}
