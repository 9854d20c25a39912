package detect

import (
	"bytes"
	"os"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"

	psync "github.com/blockscope/blockscope/primitives/sync"

	"github.com/blockscope/blockscope/parse"
)

// These tests run one scenario twice, on sync's locks and on
// primitives/sync's, trace it in-process, and compare what the detectors
// say from runtime events alone with what they say from annotations.

// lkCritical holds l while it runs hold, telling locked (if not nil)
// once it holds it. Every goroutine of the scenarios locks through it, so
// findings on either implementation point at the same lines.
func lkCritical(l sync.Locker, hold func(), locked chan<- struct{}) {
	l.Lock() // lk:lock
	if locked != nil {
		close(locked)
	}
	hold()
	l.Unlock() // lk:unlock
}

// lkHold returns a hold that lasts 20ms and until n goroutines wait in
// a function whose name ends in fn (a hang guard gives up after 10s), so
// that the scenarios' waits do not depend on the scheduler's speed.
func lkHold(n int, fn string) func() {
	return func() {
		time.Sleep(20 * time.Millisecond)
		buf := make([]byte, 1<<20)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			dump := string(buf[:runtime.Stack(buf, true)])
			waiting := 0
			for _, g := range strings.Split(dump, "\n\n") {
				if strings.Contains(g, fn+"(") {
					waiting++
				}
			}
			if waiting >= n {
				time.Sleep(2 * time.Millisecond) // let them park
				return
			}
		}
	}
}

func lkNoHold() {}

// lkStarve: one goroutine holds l for 20ms while three others queue for
// it, each then holding it briefly.
func lkStarve(l sync.Locker) {
	locked := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { lkCritical(l, lkHold(3, "(*Mutex).Lock"), locked) })
	<-locked
	for range 3 {
		wg.Go(func() { lkCritical(l, lkNoHold, nil) })
	}
	wg.Wait()
}

// lkReaderHolds: a reader holds rw for 20ms (through r, its RLocker)
// while a writer waits for it.
func lkReaderHolds(r, rw sync.Locker) {
	locked := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { lkCritical(r, lkHold(1, "(*RWMutex).Lock"), locked) })
	<-locked
	wg.Go(func() { lkCritical(rw, lkNoHold, nil) })
	wg.Wait()
}

// lkInversion: one goroutine takes a then b twice; then another takes b
// then a. It cannot hang: the second starts after the first is done.
func lkInversion(a, b sync.Locker) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 2 {
			a.Lock()
			b.Lock() // lk:ab
			b.Unlock()
			a.Unlock()
		}
	})
	wg.Wait()
	wg.Go(func() {
		b.Lock()
		a.Lock() // lk:ba
		a.Unlock()
		b.Unlock()
	})
	wg.Wait()
}

// lkTraceRun traces scenario in-process and returns the findings of the
// detector.
func lkTraceRun(t *testing.T, d *Detector, scenario func()) []Finding {
	t.Helper()
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("cannot trace: %v", err)
	}
	scenario()
	trace.Stop()
	a := d.New(DefaultConfig())
	if _, err := parse.Parse(&buf, parse.Options{}, a); err != nil {
		t.Fatalf("parse.Parse(in-process trace) = %v", err)
	}
	fs := a.Findings()
	Sort(fs)
	return fs
}

// lkLine returns the line of this file marked "// lk:NAME".
func lkLine(t *testing.T, name string) int {
	t.Helper()
	src, err := os.ReadFile("mutexwait_trace_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasSuffix(line, "// lk:"+name) {
			return i + 1
		}
	}
	t.Fatalf("no line marked lk:%s", name)
	return 0
}

func lkRelated(f Finding, role string) (Related, bool) {
	for _, r := range f.Related {
		if r.Role == role {
			return r, true
		}
	}
	return Related{}, false
}

func TestMutexWaitPlainVsAnnotated(t *testing.T) {
	lock, unlock := lkLine(t, "lock"), lkLine(t, "unlock")
	tests := []struct {
		name             string
		plain, annotated func()
		plainWhat        string
		annotatedWhat    string
	}{{
		name:          "mutex held 20ms",
		plain:         func() { lkStarve(new(sync.Mutex)) },
		annotated:     func() { lkStarve(new(psync.Mutex)) },
		plainWhat:     "for a sync.Mutex",
		annotatedWhat: "for Mutex#",
	}, {
		name:          "RWMutex read-held 20ms",
		plain:         func() { rw := new(sync.RWMutex); lkReaderHolds(rw.RLocker(), rw) },
		annotated:     func() { rw := new(psync.RWMutex); lkReaderHolds(rw.RLocker(), rw) },
		plainWhat:     "for a sync.RWMutex (write lock)",
		annotatedWhat: "for RWMutex#",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := lkTraceRun(t, MutexWait, tt.plain)
			annotated := lkTraceRun(t, MutexWait, tt.annotated)
			for _, c := range []struct {
				name     string
				fs       []Finding
				evidence Evidence
				what     string
			}{
				{"plain", plain, EvidenceRuntime, tt.plainWhat},
				{"annotated", annotated, EvidenceAnnotations, tt.annotatedWhat},
			} {
				if len(c.fs) != 1 {
					for _, f := range c.fs {
						t.Logf("%s: %s", c.name, f.Message)
					}
					t.Fatalf("%s: %d findings; want 1", c.name, len(c.fs))
				}
				f := c.fs[0]
				t.Logf("%s: %s", c.name, f.Message)
				if f.Location.Line != lock || !strings.HasSuffix(f.Location.File, "mutexwait_trace_test.go") {
					t.Errorf("%s: Location = %v; want mutexwait_trace_test.go:%d", c.name, f.Location, lock)
				}
				if f.Evidence != c.evidence {
					t.Errorf("%s: Evidence = %v; want %v", c.name, f.Evidence, c.evidence)
				}
				if !strings.Contains(f.Message, c.what) {
					t.Errorf("%s: Message = %q; want it to contain %q", c.name, f.Message, c.what)
				}
				// Both name the holder's Unlock: the plain answer is the
				// last holder, the annotated one the hold that
				// overlapped the waits most; here they are the same line.
				if r, ok := lkRelated(f, "holder-unlock"); !ok || r.Location.Line != unlock {
					t.Errorf("%s: holder-unlock = %v (present %v); want line %d", c.name, r.Location, ok, unlock)
				}
				if r, ok := lkRelated(f, "holder"); ok && r.Location.Line != lock {
					t.Errorf("%s: holder = %v; want line %d", c.name, r.Location, lock)
				}
			}
			// The annotations always know the holder's Lock; the runtime
			// events cannot (it was uncontended).
			if _, ok := lkRelated(annotated[0], "holder"); !ok {
				t.Errorf("annotated: no holder; want the Lock at line %d", lock)
			}
		})
	}
}

func TestLockOrderPlainVsAnnotated(t *testing.T) {
	ba, ab := lkLine(t, "ba"), lkLine(t, "ab")
	plain := lkTraceRun(t, LockOrder, func() { lkInversion(new(sync.Mutex), new(sync.Mutex)) })
	if len(plain) != 0 {
		t.Errorf("plain sync: %d lock-order findings; want 0 (uncontended locks leave no event)", len(plain))
	}
	annotated := lkTraceRun(t, LockOrder, func() { lkInversion(new(psync.Mutex), new(psync.Mutex)) })
	if len(annotated) != 1 {
		t.Fatalf("annotated: %d lock-order findings; want 1", len(annotated))
	}
	f := annotated[0]
	t.Log(f.Message)
	if f.Location.Line != ba {
		t.Errorf("Location = %v; want line %d (the minority order)", f.Location, ba)
	}
	if r, ok := lkRelated(f, "other-order-locked"); !ok || r.Location.Line != ab {
		t.Errorf("other-order-locked = %v (present %v); want line %d", r.Location, ok, ab)
	}
	if f.Confidence != ConfidenceTwoGoroutines || len(f.Goroutines) != 2 {
		t.Errorf("Confidence, Goroutines = %q, %v; want %q and two goroutines", f.Confidence, f.Goroutines, ConfidenceTwoGoroutines)
	}
	if got := f.Stats["order_count"]; got != 2 {
		t.Errorf("Stats[order_count] = %d; want 2", got)
	}
}
