package singleflight_test

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// hangGuard bounds every wait in these tests. It only turns a hang into a
// failure; no test depends on how long anything takes.
const hangGuard = 30 * time.Second

// waitParked waits until at least n goroutines are parked with frame on
// their stack and without exclude.
func waitParked(t *testing.T, n int, frame, exclude string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		got := countParked(frame, exclude)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines parked in %s after %v; want %d", got, frame, hangGuard, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// countParked counts the goroutines parked with frame on their stack and
// without exclude. A goroutine that is running, runnable, in a system call
// or taking a mutex is not counted: a Do parked otherwise has joined its
// flight.
func countParked(frame, exclude string) int {
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
		switch {
		case state == "running", state == "runnable", strings.HasPrefix(state, "syscall"),
			strings.HasPrefix(state, "sync.Mutex"):
			continue
		}
		if strings.Contains(g, frame) && !strings.Contains(g, exclude) {
			count++
		}
	}
	return count
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
