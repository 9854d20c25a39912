package parse

import (
	"os/exec"
	"strings"
	"testing"
)

// stackOf interns a stack of the given frames, innermost first.
func stackOf(t *testing.T, s *Stacks, frames ...Frame) StackID {
	t.Helper()
	var idx []int32
	for _, fr := range frames {
		i, ok := s.byFrame[fr]
		if !ok {
			i = int32(len(s.frames))
			s.frames = append(s.frames, fr)
			s.byFrame[fr] = i
		}
		idx = append(idx, i)
	}
	return s.internFrames(idx)
}

func fr(fn string) Frame { return Frame{Func: fn, File: fn + ".go", Line: 1} }

func TestFramePackage(t *testing.T) {
	for _, tc := range []struct {
		fn, pkg            string
		std, runtime, user bool
	}{
		{"main.main", "main", false, false, true},
		{"net/http.(*conn).serve", "net/http", true, false, false},
		{"runtime.gopark", "runtime", true, true, false},
		{"internal/runtime/sync.(*Mutex).Lock", "internal/runtime/sync", true, true, false},
		{"runtime/internal/atomic.Load", "runtime/internal/atomic", true, true, false},
		{"runtime/trace.Start", "runtime/trace", true, false, false},
		{"sync.(*Mutex).Lock", "sync", true, false, false},
		{"golang.org/x/sync/semaphore.(*Weighted).Acquire", "golang.org/x/sync/semaphore", false, false, false},
		{"github.com/blockscope/blockscope/primitives/sync.(*Mutex).Lock", "github.com/blockscope/blockscope/primitives/sync", false, false, false},
		{"github.com/blockscope/blockscope/internal/wire.Emit", "github.com/blockscope/blockscope/internal/wire", false, false, false},
		{"github.com/blockscope/blockscope/internal/cli.record", "github.com/blockscope/blockscope/internal/cli", false, false, false},
		{"github.com/blockscope/blockscope/leaktest.VerifyNone", "github.com/blockscope/blockscope/leaktest", false, false, false},
		{"github.com/blockscope/blockscope/leaktest/testdata/compare.TestLeak", "github.com/blockscope/blockscope/leaktest/testdata/compare", false, false, true},
		{"github.com/blockscope/blockscope/internal/demo.fetch", "github.com/blockscope/blockscope/internal/demo", false, false, true},
		{"example.com/app/internal/db.(*Pool).get.func1", "example.com/app/internal/db", false, false, true},
		{"goker/cockroach_1055.TestCockroach1055", "goker/cockroach_1055", false, false, true},
		{"gopkg.in/yaml%2ev3.Unmarshal", "gopkg.in/yaml%2ev3", false, false, true}, // the linker escapes dots in the last element
		{"", "", false, false, false},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			f := Frame{Func: tc.fn}
			if got := f.Package(); got != tc.pkg {
				t.Errorf("Package() = %q; want %q", got, tc.pkg)
			}
			if got := f.IsStd(); got != tc.std {
				t.Errorf("IsStd() = %v; want %v", got, tc.std)
			}
			if got := f.IsRuntime(); got != tc.runtime {
				t.Errorf("IsRuntime() = %v; want %v", got, tc.runtime)
			}
			if got := f.IsUser(); got != tc.user {
				t.Errorf("IsUser() = %v; want %v", got, tc.user)
			}
		})
	}
}

// TestStdRoots checks stdRoots against the packages of the installed Go.
func TestStdRoots(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Skipf("go list std: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		root, _, _ := strings.Cut(pkg, "/")
		if !stdRoots[root] {
			t.Errorf("standard package %s: root %q missing from stdRoots", pkg, root)
		}
	}
}

func TestLocation(t *testing.T) {
	s := newStacks()
	for _, tc := range []struct {
		name   string
		frames []string // innermost first
		want   string   // "" for none
	}{
		{"user under sync", []string{"runtime.gopark", "sync.(*Mutex).Lock", "main.worker", "main.main"}, "main.worker"},
		{"user under x/sync", []string{"runtime.gopark", "sync.(*WaitGroup).Wait", "golang.org/x/sync/errgroup.(*Group).Wait", "example.com/app.run"}, "example.com/app.run"},
		{"user under primitives", []string{"runtime.gopark", "github.com/blockscope/blockscope/primitives/sync.(*Mutex).Lock", "example.com/app.run"}, "example.com/app.run"},
		{"user under an annotation", []string{"github.com/blockscope/blockscope/internal/wire.Emit", "github.com/blockscope/blockscope/primitives/sync.lockEvent", "github.com/blockscope/blockscope/primitives/sync.(*Mutex).Unlock", "main.worker"}, "main.worker"},
		{"primitives only", []string{"github.com/blockscope/blockscope/internal/wire.Emit", "github.com/blockscope/blockscope/primitives/sync.(*Mutex).Lock", "github.com/blockscope/blockscope/primitives/errgroup.(*Group).Go.func1", "runtime.goexit"}, "github.com/blockscope/blockscope/primitives/sync.(*Mutex).Lock"},
		{"library only", []string{"runtime.gopark", "runtime.selectgo", "internal/poll.wait", "net/http.(*persistConn).writeLoop"}, "net/http.(*persistConn).writeLoop"},
		{"runtime only", []string{"runtime.gopark", "runtime.bgsweep"}, "runtime.gopark"},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var frames []Frame
			for _, fn := range tc.frames {
				frames = append(frames, fr(fn))
			}
			id := stackOf(t, s, frames...)
			got, ok := s.Location(id)
			if ok != (tc.want != "") || got.Func != tc.want {
				t.Errorf("Location(%v) = %v, %v; want %q", tc.frames, got.Func, ok, tc.want)
			}
		})
	}
}

func TestInternFrames(t *testing.T) {
	s := newStacks()
	a := stackOf(t, s, fr("main.a"), fr("main.main"))
	b := stackOf(t, s, fr("main.b"), fr("main.main"))
	a2 := stackOf(t, s, fr("main.a"), fr("main.main"))
	if a == NoStack || a == b || a != a2 {
		t.Errorf("ids of a, b, a again = %d, %d, %d; want a = a again, all different from b and NoStack", a, b, a2)
	}
	if n := len(s.frames); n != 3 {
		t.Errorf("%d frames stored; want 3 (main.main once)", n)
	}
	if got := stackOf(t, s); got != NoStack {
		t.Errorf("empty stack = %d; want NoStack", got)
	}
	if !s.Has(a, "main.main") || s.Has(a, "main.b") {
		t.Errorf("Has: stack a = %v", s.Frames(a))
	}
}

func TestInferReason(t *testing.T) {
	s := newStacks()
	for _, tc := range []struct {
		frames []string
		want   string
	}{
		{[]string{"runtime.gopark", "runtime.chansend", "runtime.chansend1", "main.f"}, ReasonChanSend},
		{[]string{"runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1", "main.f"}, ReasonChanReceive},
		{[]string{"runtime.gopark", "runtime.chanrecv", "runtime.chanrecv2", "main.f"}, ReasonChanReceive},
		{[]string{"runtime.gopark", "runtime.selectgo", "main.f"}, ReasonSelect},
		{[]string{"runtime.gopark", "runtime.block", "main.f"}, ReasonForever},
		{[]string{"runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1", "internal/sync.runtime_SemacquireMutex", "internal/sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock", "main.f"}, ReasonSync},
		{[]string{"runtime.gopark", "runtime.semacquire1", "sync.runtime_SemacquireWaitGroup", "sync.(*WaitGroup).Wait", "main.f"}, ReasonSync},
		{[]string{"runtime.gopark", "runtime.goparkunlock", "sync.runtime_notifyListWait", "sync.(*Cond).Wait", "main.f"}, ReasonCond},
		{[]string{"runtime.gopark", "time.Sleep", "main.f"}, ReasonSleep},
		{[]string{"runtime.gopark", "runtime.netpollblock", "internal/poll.runtime_pollWait", "internal/poll.(*pollDesc).wait", "net.(*conn).Read", "main.f"}, ReasonNetwork},
		{[]string{"runtime.gopark", "runtime.goparkunlock", "runtime.forcegchelper"}, ReasonSystem},
		{[]string{"runtime.gopark", "runtime.goparkunlock", "runtime.updateMaxProcsGoroutine"}, ReasonSystem},
		{[]string{"runtime.gopark", "main.f"}, ReasonUnknown},
		{nil, ReasonUnknown},
	} {
		var frames []Frame
		for _, fn := range tc.frames {
			frames = append(frames, fr(fn))
		}
		if got := inferReason(s, stackOf(t, s, frames...)); got != tc.want {
			t.Errorf("inferReason(%v) = %q; want %q", tc.frames, got, tc.want)
		}
	}
}

// TestClassifyTestFunc: a test goroutine's function is what tRunner
// calls; a stack caught inside tRunner's own calls into package testing,
// or in the runtime right under tRunner, leaves it unknown, for a later
// stack to tell.
func TestClassifyTestFunc(t *testing.T) {
	b := newBuilder(Options{}, "1.26", nil)
	s := b.t.Stacks
	g := &Goroutine{}
	b.classify(g, stackOf(t, s, fr("testing.callerName"), fr("testing.tRunner"), fr("runtime.goexit")))
	if g.Entry != "testing.tRunner" || g.TestFunc != "" {
		t.Errorf("in tRunner's own work: Entry, TestFunc = %q, %q; want testing.tRunner, none", g.Entry, g.TestFunc)
	}
	b.classify(g, stackOf(t, s, fr("runtime.asyncPreempt"), fr("testing.tRunner"), fr("runtime.goexit")))
	if g.TestFunc != "" {
		t.Errorf("preempted before the test's frame: TestFunc = %q; want none", g.TestFunc)
	}
	b.classify(g, stackOf(t, s, fr("runtime.gopark"), fr("example.com/p.TestX.func1"), fr("testing.tRunner"), fr("runtime.goexit")))
	if g.TestFunc != "example.com/p.TestX.func1" {
		t.Errorf("in the test: TestFunc = %q; want example.com/p.TestX.func1", g.TestFunc)
	}
}
