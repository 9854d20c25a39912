package semaphore_test

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// hangGuard bounds every wait in these tests. It only turns a hang into a
// failure; no test depends on how long anything takes.
const hangGuard = 30 * time.Second

// waitParked waits until at least n goroutines are parked (in a select or a
// channel receive) with frame on their stack.
func waitParked(t *testing.T, n int, frame string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		got := countParked(frame)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines parked in %s after %v; want %d", got, frame, hangGuard, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// countParked counts the goroutines parked on a channel operation with frame
// on their stack. A goroutine still taking the semaphore's mutex, or
// runnable, is not counted: an Acquire parked on a channel has already
// joined the queue (or given up on it, for a request larger than the size).
func countParked(frame string) int {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		_, state, ok := strings.Cut(header, " [")
		if !ok {
			continue
		}
		state, _, _ = strings.Cut(state, "]")
		state, _, _ = strings.Cut(state, ",")
		if !strings.HasPrefix(state, "select") && !strings.HasPrefix(state, "chan receive") {
			continue
		}
		if strings.Contains(g, frame) {
			count++
		}
	}
	return count
}

// result is what a goroutine's Acquire returned.
type result struct {
	name string
	err  error
}

// recv receives from ch, failing the test if nothing arrives within the
// hang guard.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hangGuard):
		t.Fatalf("nothing received after %v", hangGuard)
		panic("unreachable")
	}
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
