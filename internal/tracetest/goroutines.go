package tracetest

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	exptrace "golang.org/x/exp/trace"
)

// HangGuard bounds every wait of WaitFor, WaitParked and Recv. It only
// turns a hang into a failure; no test depends on how long anything takes.
const HangGuard = 30 * time.Second

// A Goroutine is one goroutine as a traceback of all goroutines
// (runtime.Stack) shows it.
type Goroutine struct {
	ID    exptrace.GoID
	State string // "running", "chan receive", "select", "sync.Mutex.Lock", ... without the time blocked
	Stack string // the frames, innermost first, as runtime.Stack prints them
}

// Parked reports whether g is blocked: neither running, runnable nor in a
// system call.
func (g Goroutine) Parked() bool {
	return g.State != "running" && g.State != "runnable" && !strings.HasPrefix(g.State, "syscall")
}

// goroutines returns every goroutine of the process.
func goroutines() []Goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []Goroutine
	for text := range strings.SplitSeq(string(buf), "\n\n") {
		// goroutine 7 [chan receive, 2 minutes]:
		// github.com/blockscope/blockscope/primitives/sync.(*Once).wait(...)
		header, stack, _ := strings.Cut(text, "\n")
		header, ok := strings.CutPrefix(header, "goroutine ")
		if !ok {
			continue
		}
		id, state, ok := strings.Cut(header, " [")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			continue
		}
		state, _, _ = strings.Cut(state, "]")
		state, _, _ = strings.Cut(state, ",")
		gs = append(gs, Goroutine{exptrace.GoID(n), state, stack})
	}
	return gs
}

// WaitFor waits until at least n goroutines match, and returns their ids.
// It fails the test, naming what, if they do not within [HangGuard].
func WaitFor(t testing.TB, n int, what string, match func(Goroutine) bool) []exptrace.GoID {
	t.Helper()
	deadline := time.Now().Add(HangGuard)
	for {
		var ids []exptrace.GoID
		for _, g := range goroutines() {
			if match(g) {
				ids = append(ids, g.ID)
			}
		}
		if len(ids) >= n {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines %s after %v; want %d", len(ids), what, HangGuard, n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// WaitParked waits until at least n goroutines are parked with frame (a
// substring, such as "semaphore.(*Weighted).Acquire(") on their stack, and
// returns their ids. With states, a goroutine counts only if its state
// starts with one of them ("chan receive", "select"); without, any parked
// state counts (see [Goroutine.Parked]).
func WaitParked(t testing.TB, n int, frame string, states ...string) []exptrace.GoID {
	t.Helper()
	what := "parked in " + frame
	if len(states) > 0 {
		what += " [" + strings.Join(states, " or ") + "]"
	}
	return WaitFor(t, n, what, func(g Goroutine) bool {
		return inState(g, states) && strings.Contains(g.Stack, frame)
	})
}

// inState reports whether g's state starts with one of states or, if there
// are none, whether g is parked.
func inState(g Goroutine, states []string) bool {
	if len(states) == 0 {
		return g.Parked()
	}
	for _, s := range states {
		if strings.HasPrefix(g.State, s) {
			return true
		}
	}
	return false
}

// Recv receives from ch, failing the test if nothing arrives within
// [HangGuard].
func Recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(HangGuard):
		t.Fatalf("nothing received after %v", HangGuard)
		panic("unreachable")
	}
}
