package singleflight_test

import (
	"strings"
	"testing"

	"github.com/blockscope/blockscope/internal/tracetest"
)

// waitParked waits until at least n goroutines are parked with frame on
// their stack and without exclude. A goroutine that is running, runnable,
// in a system call or taking a mutex is not counted: a Do parked otherwise
// has joined its flight.
func waitParked(t *testing.T, n int, frame, exclude string) {
	t.Helper()
	tracetest.WaitFor(t, n, "parked in "+frame+" without "+exclude, func(g tracetest.Goroutine) bool {
		return g.Parked() && !strings.HasPrefix(g.State, "sync.Mutex") &&
			strings.Contains(g.Stack, frame) && !strings.Contains(g.Stack, exclude)
	})
}
