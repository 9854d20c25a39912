// Package park lets a fixture's test wait until the goroutines it leaks
// are parked, so that the trace shows them blocked whatever the load.
package park

import (
	"runtime"
	"strings"
	"time"
)

// Wait waits until n goroutines are parked in state (as goroutine dumps
// write it: "chan receive", "chan send", "select") with fn on their
// stack; it gives up after 30s.
func Wait(n int, fn, state string) {
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Microsecond) {
		got := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			header, _, _ := strings.Cut(g, "\n")
			if strings.Contains(header, "["+state) && strings.Contains(g, fn+"(") {
				got++
			}
		}
		if got >= n {
			return
		}
	}
}
