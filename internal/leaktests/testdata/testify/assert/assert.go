// Package assert stands in for testify's, offline: Eventually as testify
// v1.8 wrote it, which runs the condition in a goroutine of its own that
// sends the result on an unbuffered channel, so a condition still running
// when the wait ends leaks that goroutine inside the library.
package assert

import "time"

// TestingT is the part of *testing.T that assertions use.
type TestingT interface {
	Errorf(format string, args ...any)
	Helper()
}

// Eventually asserts that condition returns true within waitFor, trying
// every tick.
func Eventually(t TestingT, condition func() bool, waitFor, tick time.Duration) bool {
	t.Helper()
	ch := make(chan bool)
	timer := time.NewTimer(waitFor)
	defer timer.Stop()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for next := ticker.C; ; {
		select {
		case <-timer.C:
			t.Errorf("condition never satisfied")
			return false
		case <-next:
			next = nil
			go func() { ch <- condition() }()
		case v := <-ch:
			if v {
				return true
			}
			next = ticker.C
		}
	}
}
