package parse

import (
	"slices"
	"strings"
)

// Functions of package testing that tell what a test binary was doing.
const (
	fnTRunner    = "testing.tRunner"
	fnRunTests   = "testing.runTests.func1" // the root test's body: t.Run of every top-level test
	fnRunExample = "testing.runExample"
	fnMBefore    = "testing.(*M).before"           // starts the trace of go test -trace
	fnAlarm      = "testing.(*M).startAlarm.func1" // the -timeout alarm: stops the trace, then panics
)

// TestRun is what a trace tells about the test binary it came from.
type TestRun struct {
	// Framework is set when the testing package started the trace (go
	// test -trace): it stops it when every test has returned, or from its
	// -timeout alarm. A trace started inside a test (by the test, or by an
	// in-test verifier) stops while that test runs; Framework is false.
	Framework bool
	// TimedOut is set when the -timeout alarm stopped the trace; the
	// binary panicked right after.
	TimedOut bool
	// Running names the tests (top-level names, sorted) whose goroutine
	// was still alive at the end of the trace.
	Running []string
}

// CutMidTest reports whether a trace the testing framework started ended
// while tests still ran: stopped by the -timeout alarm, or cut short by a
// test binary that died mid-test. Such a trace cannot tell how the running
// tests would have ended.
func (r TestRun) CutMidTest() bool {
	return r.Framework && (r.TimedOut || len(r.Running) > 0)
}

// Test is the test or example a goroutine was started under, directly or
// through its creation chain.
type Test struct {
	// Name is the top-level test's or example's name ("TestPool",
	// "ExampleNew"); "" when the trace does not hold it.
	Name string
	// Subtest is set when the goroutine was started in a subtest of Name:
	// the trace holds no subtest's name.
	Subtest bool
	// Example is set for an example, which runs on the goroutine that runs
	// the tests, not a goroutine of its own.
	Example bool
	// Done is set when the test (the subtest, if Subtest) had returned by
	// the end of the trace.
	Done bool
}

// testIndex is what Trace.TestOf and Trace.IsTestRunner look up, made at
// the end of the pass.
type testIndex struct {
	run     TestRun
	runners map[GoID]bool // goroutines that ran the testing framework's M.Run
}

// TestRun describes the test binary the trace came from; the zero TestRun
// for a trace of anything else.
func (t *Trace) TestRun() TestRun { return t.tests.run }

// indexTests finds the goroutines of the testing framework: the one that
// ran M.Run (it started top-level tests and ran examples), the -timeout
// alarm, and the tests still running. Goroutines whose records were
// dropped were noted as they went (see Trace.release).
func (t *Trace) indexTests() {
	running := make(map[string]bool)
	for g := range t.All() {
		t.tests.note(t, g)
		if g.Entry == fnTRunner && g.State != StateExited && g.TestFunc != "" {
			if test, ok := t.testOf(g); ok {
				running[test.Name] = true
			}
		}
	}
	t.tests.run.Running = nil
	for name := range running {
		t.tests.run.Running = append(t.tests.run.Running, name)
	}
	slices.Sort(t.tests.run.Running)
}

// note adds what one goroutine tells about the testing framework.
func (ix *testIndex) note(t *Trace, g *Goroutine) {
	runner := func(id GoID) {
		if ix.runners == nil {
			ix.runners = make(map[GoID]bool)
		}
		ix.runners[id] = true
	}
	switch {
	case g.System && !ix.run.Framework && t.Stacks.Has(g.CreateStack, fnMBefore):
		ix.run.Framework = true
	case g.Entry == fnAlarm && !g.Preexisting:
		ix.run.TimedOut = true
	case g.Entry == fnTRunner:
		if t.Stacks.Has(g.CreateStack, fnRunTests) && g.Creator != NoGoroutine {
			runner(g.Creator)
		}
	}
	if g.Creator != NoGoroutine && exampleFrame(t.Stacks, g.CreateStack) >= 0 {
		runner(g.Creator)
	}
}

// IsTestRunner reports whether a goroutine runs the testing framework
// rather than a test: the goroutine running M.Run (which waits in t.Run
// for each top-level test and runs the examples), or a test's goroutine
// parked in t.Run waiting for its subtest. Such a goroutine lives until
// the tests end; it wakes nothing a test left behind.
func (t *Trace) IsTestRunner(id GoID) bool {
	if t.tests.runners[id] {
		return true
	}
	g := t.Goroutine(id)
	return g != nil && g.Entry == fnTRunner && g.State == StateWaiting && t.Stacks.Has(g.Stack, "testing.(*T).Run")
}

// TestOf returns the test or example that started the goroutine, through
// its creation chain: the innermost test goroutine on it, or an example's
// call of a go statement. ok is false for a goroutine started outside any
// test (package init, TestMain, a timer's function).
func (t *Trace) TestOf(id GoID) (test Test, ok bool) {
	g := t.Goroutine(id)
	if g == nil {
		return Test{}, false
	}
	return t.testOf(g)
}

func (t *Trace) testOf(g *Goroutine) (Test, bool) {
	seen := 0
	for cur := g; cur != nil && seen < 10000; cur = t.Goroutine(cur.Creator) {
		seen++
		if cur.Entry == fnTRunner && cur.TestFunc != "" {
			test := Test{Done: cur.State == StateExited}
			top := cur
			for !t.Stacks.Has(top.CreateStack, fnRunTests) {
				parent := t.Goroutine(top.Creator)
				if parent == nil || parent.Entry != fnTRunner || seen >= 10000 {
					break
				}
				seen++
				top, test.Subtest = parent, true
			}
			test.Name = testName(top.TestFunc)
			return test, true
		}
		if i := exampleFrame(t.Stacks, cur.CreateStack); i >= 0 {
			name := testName(t.Stacks.Frame(cur.CreateStack, i).Func)
			test := Test{Name: name, Example: true, Done: true}
			// The example is still running if the goroutine that runs
			// them is parked inside it at the end.
			if r := t.Goroutine(cur.Creator); r != nil && r.State == StateWaiting {
				if j := exampleFrame(t.Stacks, r.Stack); j >= 0 && testName(t.Stacks.Frame(r.Stack, j).Func) == name {
					test.Done = false
				}
			}
			return test, true
		}
	}
	return Test{}, false
}

// exampleFrame returns the index in the stack of the example function that
// testing.runExample called, or -1: the frame just inside runExample, when
// runExample is not itself the innermost frame (its own goroutine that
// copies the example's output is no example's).
func exampleFrame(s *Stacks, id StackID) int {
	for i, n := 1, s.Depth(id); i < n; i++ {
		if s.Frame(id, i).Func == fnRunExample {
			return i - 1
		}
	}
	return -1
}

// testName is a test function's name without its package and closure
// suffix: "TestPool" for "example.com/pool.TestPool.func1".
func testName(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	name := fn[slash+1:]
	if dot := strings.IndexByte(name, '.'); dot >= 0 {
		name = name[dot+1:]
	}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	return name
}
