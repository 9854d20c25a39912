package sync

import (
	"io"
	"slices"
	"strconv"
	stdsync "sync"
	"testing"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/internal/wire"
)

// These tests record an execution trace around a few operations, read it
// back, and check the annotations. Only one trace can be recorded at a time,
// so none of them is parallel.

// recordOnceTrace runs f while recording a trace and returns the
// annotations of object id in trace order, without OpName events. f must
// join every goroutine it starts before it returns.
func recordOnceTrace(t *testing.T, id wire.ObjectID, f func()) []tracetest.Annotation {
	t.Helper()
	var evs []tracetest.Annotation
	named := false
	for _, a := range tracetest.Of(tracetest.Record(t, f), id) {
		if a.Op == wire.OpName {
			named = true
			continue
		}
		evs = append(evs, a)
	}
	if !named {
		t.Errorf("no OpName event for object %d; the tests name every object", id)
	}
	return evs
}

// checkTrace compares the events with want, as multisets of their strings.
func checkTrace(t *testing.T, evs []tracetest.Annotation, want []string) {
	t.Helper()
	got := make([]string, len(evs))
	for i, e := range evs {
		got[i] = e.String()
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("annotations (sorted) = %q; want %q", got, want)
	}
}

// checkGoroutine checks the events of goroutine g, in order.
func checkGoroutine(t *testing.T, evs []tracetest.Annotation, role string, g exptrace.GoID, want []string) {
	t.Helper()
	var got []string
	for _, e := range evs {
		if e.G == g {
			got = append(got, e.String())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s (goroutine %d) wrote %q; want %q", role, g, got, want)
	}
}

// checkBefore checks that, in trace order, every event matching first
// comes before every event matching then.
func checkBefore(t *testing.T, evs []tracetest.Annotation, first, then func(wire.Event) bool, what string) {
	t.Helper()
	lastFirst, firstThen := -1, len(evs)
	for i, e := range evs {
		if first(e.Event) {
			lastFirst = i
		}
		if then(e.Event) && i < firstThen {
			firstThen = i
		}
	}
	if lastFirst > firstThen {
		t.Errorf("%s: event %d (%v) comes after event %d (%v)", what, lastFirst, evs[lastFirst], firstThen, evs[firstThen])
	}
}

func isOp(op wire.Op, seq uint64) func(wire.Event) bool {
	return func(e wire.Event) bool { return e.Op == op && e.Seq == seq }
}

// TestTraceOnce has two Do calls wait for the one running f, and a last Do
// take the fast path.
func TestTraceOnce(t *testing.T) {
	var o Once
	var waiters []exptrace.GoID
	evs := recordOnceTrace(t, o.ident.ID(), func() {
		o.SetName("config")
		release := make(chan struct{})
		var join stdsync.WaitGroup
		join.Go(func() { o.Do(func() { <-release }) })
		awaitOnceClaimed(t, &o)
		join.Go(func() { o.Do(func() { t.Error("second f called") }) })
		join.Go(func() { o.Do(func() { t.Error("third f called") }) })
		waiters = awaitParkedIn(t, 2, "(*Once).wait")
		close(release)
		join.Wait()
		o.Do(func() { t.Error("fast-path f called") })
	})
	checkTrace(t, evs, []string{
		"once 0 run 1", "once 0 rundone 1 n=1",
		"once 0 wait 1 depth=1", "once 0 wake 1",
		"once 0 wait 1 depth=2", "once 0 wake 1",
	})
	runner := writerOf(evs, wire.OpRun, 1)
	if slices.Contains(waiters, runner) {
		t.Errorf("goroutine %d both ran f and waited", runner)
	}
	checkGoroutine(t, evs, "runner", runner, []string{"once 0 run 1", "once 0 rundone 1 n=1"})
	for _, g := range waiters {
		checkGoroutine(t, evs, "waiter", g, []string{"once 0 wait 1 depth=" + depthOf(evs, g), "once 0 wake 1"})
	}
	checkBefore(t, evs, isOp(wire.OpRunDone, 1), isOp(wire.OpWake, 1), "rundone before wake")
}

// depthOf returns the depth of goroutine g's first event, as text.
func depthOf(evs []tracetest.Annotation, g exptrace.GoID) string {
	for _, e := range evs {
		if e.G == g {
			return strconv.FormatInt(e.Depth, 10)
		}
	}
	return "?"
}

// writerOf returns the goroutine that wrote the first event with op and
// seq, or 0.
func writerOf(evs []tracetest.Annotation, op wire.Op, seq uint64) exptrace.GoID {
	for _, e := range evs {
		if e.Op == op && e.Seq == seq {
			return e.G
		}
	}
	return 0
}

// TestTraceOnceReentry calls Do from f on the same Once: the goroutine
// deadlocks, and the trace proves it by an OpWait written by the goroutine
// whose OpRun is still open.
func TestTraceOnceReentry(t *testing.T) {
	var o Once
	var g exptrace.GoID
	evs := recordOnceTrace(t, o.ident.ID(), func() {
		o.SetName("reentered")
		ended := make(chan any)
		go func() {
			defer func() { ended <- recover() }()
			o.Do(func() { o.Do(func() {}) })
		}()
		g = awaitParkedIn(t, 1, "(*Once).wait")[0]
		// The goroutine would block forever. Release its inner Do by hand,
		// so that it does not outlive the test; the outer Do then closes
		// the channel again, and panics.
		close(o.run.Load().done)
		if p := <-ended; p == nil {
			t.Errorf("re-entered Do returned without the panic of its release by hand")
		}
	})
	if len(evs) < 2 {
		t.Fatalf("annotations = %v; want run, wait, ...", evs)
	}
	want := []string{"once 0 run 1", "once 0 wait 1 depth=1"}
	got := []string{evs[0].String(), evs[1].String()}
	if !slices.Equal(got, want) || evs[0].G != g || evs[1].G != g {
		t.Errorf("first annotations = %q from goroutines %d, %d; want %q from the deadlocked goroutine %d", got, evs[0].G, evs[1].G, want, g)
	}
}

// TestTraceOnceErr has a Do wait for a failing attempt and then make the
// next, successful, one.
func TestTraceOnceErr(t *testing.T) {
	var o OnceErr
	var second exptrace.GoID
	evs := recordOnceTrace(t, o.ident.ID(), func() {
		o.SetName("connect")
		release := make(chan struct{})
		var join stdsync.WaitGroup
		join.Go(func() {
			o.Do(func() error {
				<-release
				return io.ErrUnexpectedEOF
			})
		})
		awaitAttempt(t, &o)
		join.Go(func() { o.Do(func() error { return nil }) })
		second = awaitParkedIn(t, 1, "(*OnceErr).wait")[0]
		close(release)
		join.Wait()
		o.Do(func() error { t.Error("f called after success"); return nil })
	})
	first := writerOf(evs, wire.OpRun, 1)
	if first == second {
		t.Errorf("goroutine %d both made attempt 1 and waited for it", first)
	}
	checkGoroutine(t, evs, "failing caller", first, []string{"onceerr 0 run 1", "onceerr 0 rundone 1"})
	checkGoroutine(t, evs, "waiting caller", second, []string{
		"onceerr 0 wait 1 depth=1", "onceerr 0 wake 1", "onceerr 0 run 2", "onceerr 0 rundone 2 n=1",
	})
	checkTrace(t, evs, []string{
		"onceerr 0 run 1", "onceerr 0 rundone 1",
		"onceerr 0 wait 1 depth=1", "onceerr 0 wake 1", "onceerr 0 run 2", "onceerr 0 rundone 2 n=1",
	})
	checkBefore(t, evs, isOp(wire.OpRunDone, 1), isOp(wire.OpWake, 1), "rundone 1 before wake 1")
}

// TestTraceWaitGroup runs three epochs: one whose Wait blocks on three
// Done calls, one whose Wait returns at once, and one started by Go.
func TestTraceWaitGroup(t *testing.T) {
	var wg WaitGroup
	var waiter1, waiter3 exptrace.GoID
	evs := recordOnceTrace(t, wg.ident.ID(), func() {
		wg.SetName("workers")
		wg.Wait() // never added to: writes nothing

		// Epoch 0.
		release := make(chan struct{})
		var join stdsync.WaitGroup
		wg.Add(3)
		for range 3 {
			join.Go(func() {
				<-release
				wg.Done()
			})
		}
		join.Go(wg.Wait)
		waiter1 = awaitParkedIn(t, 1, "(*WaitGroup).Wait")[0]
		close(release)
		join.Wait()

		// Epoch 1.
		wg.Add(1)
		wg.Done()
		wg.Wait()

		// Epoch 2.
		release = make(chan struct{})
		wg.Go(func() { <-release })
		join.Go(wg.Wait)
		waiter3 = awaitParkedIn(t, 1, "(*WaitGroup).Wait")[0]
		close(release)
		join.Wait()
	})
	checkTrace(t, evs, []string{
		"wg 0 add 0 n=3 depth=3",
		"wg 0 add 0 n=-1 depth=2", "wg 0 add 0 n=-1 depth=1", "wg 0 add 0 n=-1",
		"wg 0 wait 0 depth=1", "wg 0 wake 0",
		"wg 0 add 1 n=1 depth=1", "wg 0 add 1 n=-1", "wg 0 wake 1",
		"wg 0 add 2 n=1 depth=1", "wg 0 add 2 n=-1",
		"wg 0 wait 2 depth=1", "wg 0 wake 2",
	})
	checkGoroutine(t, evs, "epoch 0 waiter", waiter1, []string{"wg 0 wait 0 depth=1", "wg 0 wake 0"})
	checkGoroutine(t, evs, "epoch 2 waiter", waiter3, []string{"wg 0 wait 2 depth=1", "wg 0 wake 2"})
	for e := range uint64(3) {
		checkBefore(t, evs, isOp(wire.OpAdd, e), isOp(wire.OpWake, e), "adds before wake of their epoch")
	}
}

// TestTraceWaitGroupAddOrder has goroutines take the counter to zero and
// back concurrently, and checks that the OpAdds are in the trace in the
// order of their changes: each depth is the one before plus n, and the
// epoch grows by one after every depth of zero.
func TestTraceWaitGroupAddOrder(t *testing.T) {
	const goroutines, pairs = 4, 50
	var wg WaitGroup
	evs := recordOnceTrace(t, wg.ident.ID(), func() {
		wg.SetName("churn")
		runConcurrently(goroutines, func() {
			for range pairs {
				wg.Add(1)
				wg.Done()
			}
		})
	})
	if len(evs) != 2*goroutines*pairs {
		t.Fatalf("%d annotations; want %d OpAdds", len(evs), 2*goroutines*pairs)
	}
	var depth int64
	var epoch uint64
	for i, e := range evs {
		if e.Op != wire.OpAdd || e.Seq != epoch || e.Depth != depth+e.N {
			t.Fatalf("annotation %d = %v; want add %d n=±1 depth=%d+n", i, e, epoch, depth)
		}
		if depth = e.Depth; depth == 0 {
			epoch++
		}
	}
}
