package sync

import (
	"fmt"
	"runtime"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/tracetest"
)

func TestOnceRunsOnce(t *testing.T) {
	for _, callers := range []int{1, 2, 16, 100} {
		t.Run(fmt.Sprintf("callers=%d", callers), func(t *testing.T) {
			var (
				o       Once
				calls   atomic.Int32
				done    atomic.Bool
				early   atomic.Int32
				join    stdsync.WaitGroup
				started = make(chan struct{})
			)
			f := func() {
				calls.Add(1)
				// Give the other callers time to pile up behind f.
				for range 10 {
					runtime.Gosched()
				}
				done.Store(true)
			}
			for range callers {
				join.Add(1)
				go func() {
					defer join.Done()
					<-started
					o.Do(f)
					if !done.Load() {
						early.Add(1)
					}
				}()
			}
			close(started)
			join.Wait()
			if n := calls.Load(); n != 1 {
				t.Errorf("f called %d times by %d goroutines; want 1", n, callers)
			}
			if n := early.Load(); n != 0 {
				t.Errorf("%d Do calls returned before f had returned; want 0", n)
			}
		})
	}
}

func TestOnceCallsFirstFuncOnly(t *testing.T) {
	var o Once
	var got []int
	for i := range 3 {
		o.Do(func() { got = append(got, i) })
	}
	if len(got) != 1 || got[0] != 0 {
		t.Errorf("Do(f0), Do(f1), Do(f2) called %v; want [0]", got)
	}
}

// TestOnceEnds checks that however f ends, Do considers it returned: the
// call of Do that ran f ends the same way, a Do waiting meanwhile returns,
// and later calls of Do do not call f.
func TestOnceEnds(t *testing.T) {
	tests := []struct {
		name string
		end  func()
		want string // what the Do that ran f ended with
	}{
		{"return", func() {}, "return"},
		{"panic", func() { panic("boom") }, "panic boom"},
		{"Goexit", runtime.Goexit, "Goexit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Once
			release := make(chan struct{})
			ended := make(chan string, 1)
			go func() {
				exited := true
				defer func() {
					switch p := recover(); {
					case p != nil:
						ended <- fmt.Sprint("panic ", p)
					case exited:
						ended <- "Goexit"
					default:
						ended <- "return"
					}
				}()
				o.Do(func() {
					<-release
					tt.end()
				})
				exited = false
			}()
			awaitOnceClaimed(t, &o)

			waited := make(chan struct{})
			go func() {
				o.Do(func() { t.Error("waiting Do called f") })
				close(waited)
			}()
			awaitParkedIn(t, 1, "(*Once).wait")
			close(release)

			if got := <-ended; got != tt.want {
				t.Errorf("Do(f) where f ends by %s ended by %q; want %q", tt.name, got, tt.want)
			}
			<-waited
			called := false
			o.Do(func() { called = true })
			if called {
				t.Errorf("Do after f ended by %s called its function; want no call", tt.name)
			}
		})
	}
}

// awaitOnceClaimed waits until some Do of o has claimed the call of f.
func awaitOnceClaimed(t *testing.T, o *Once) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for o.run.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("f did not start within 30s")
		}
		runtime.Gosched()
	}
}

// awaitParkedIn waits until n goroutines are blocked receiving from a
// channel in fn (such as "(*Once).wait", their innermost frame), and returns
// their ids. It is how tests know that a waiter is parked, and has written
// its OpWait, without timing assumptions.
func awaitParkedIn(t *testing.T, n int, fn string) []exptrace.GoID {
	t.Helper()
	return tracetest.WaitFor(t, n, "blocked receiving in "+fn, func(g tracetest.Goroutine) bool {
		innermost, _, _ := strings.Cut(g.Stack, "\n")
		return strings.HasPrefix(g.State, "chan receive") && strings.Contains(innermost, "."+fn+"(")
	})
}
