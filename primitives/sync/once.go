package sync

import (
	"sync/atomic"

	"github.com/blockscope/blockscope/internal/wire"
)

// Once is an object that will perform exactly one action.
//
// A Once must not be copied after first use.
//
// In the terminology of [the Go memory model],
// the return from f “synchronizes before”
// the return from any call of once.Do(f).
//
// # Annotations
//
// While a trace is being recorded, a Once (kind "once") writes:
//
//   - from the goroutine that calls f: OpRun with SEQ 1 just before f, and
//     OpRunDone with SEQ 1 and n=1 once f has returned or panicked, before
//     any other Do can return;
//   - from a Do that finds f running in another goroutine: OpWait with SEQ 1
//     and depth the number of goroutines waiting, including itself, and
//     OpWake with SEQ 1 when it returns;
//   - from a Do that finds f already returned: nothing. Its edge is the one
//     from OpRunDone, which the trace holds earlier: the Do that ran f
//     wrote it before any other Do could see that f had returned.
//
// [the Go memory model]: https://go.dev/ref/mem
type Once struct {
	_ noCopy

	// done is set once f has returned. It comes first because Do's fast
	// path, inlined at every call site, loads it and nothing else.
	done atomic.Bool
	// run is nil until a Do claims the call of f; then onceRunning while
	// f runs and no one waits, a *onceRun of this Once's own once some Do
	// waits, and onceReturned after f has returned. So a Do that meets no
	// other allocates nothing.
	run   atomic.Pointer[onceRun]
	ident wire.Ident
}

// onceRun is what a Do that finds f running waits on.
type onceRun struct {
	done    chan struct{} // closed once f has returned
	waiters atomic.Int64  // Do calls blocked on done
}

var (
	onceRunning  = new(onceRun)
	onceReturned = func() *onceRun {
		r := &onceRun{done: make(chan struct{})}
		close(r.done)
		return r
	}()
)

// Do calls the function f if and only if Do is being called for the
// first time for this instance of [Once]. In other words, given
//
//	var once Once
//
// if once.Do(f) is called multiple times, only the first call will invoke f,
// even if f has a different value in each invocation. A new instance of
// Once is required for each function to execute.
//
// Do is intended for initialization that must be run exactly once. Since f
// is niladic, it may be necessary to use a function literal to capture the
// arguments to a function to be invoked by Do:
//
//	config.once.Do(func() { config.init(filename) })
//
// Because no call to Do returns until the one call to f returns, if f causes
// Do to be called, it will deadlock. The trace shows it: the deadlocked
// goroutine writes OpWait on the Once whose OpRun it wrote itself, with no
// OpRunDone in between, so blockscope reports the re-entry as a proven
// deadlock.
//
// If f panics, Do considers it to have returned; future calls of Do return
// without calling f.
func (o *Once) Do(f func()) {
	if !o.done.Load() {
		// Outlined so that the fast path inlines.
		o.doSlow(f)
	}
}

func (o *Once) doSlow(f func()) {
	for {
		r := o.run.Load()
		switch r {
		case nil:
			if o.run.CompareAndSwap(nil, onceRunning) {
				o.call(f)
				return
			}
			continue
		case onceRunning:
			// f runs and no one waits yet: put a channel in place.
			w := &onceRun{done: make(chan struct{})}
			if !o.run.CompareAndSwap(onceRunning, w) {
				continue
			}
			r = w
		}
		o.wait(r)
		return
	}
}

// wait blocks until f has returned.
func (o *Once) wait(r *onceRun) {
	select {
	case <-r.done:
		// f returned since the fast path looked: that is the fast path.
		return
	default:
	}
	depth := r.waiters.Add(1)
	if wire.Enabled() {
		o.event(wire.OpWait, 0, depth)
	}
	<-r.done
	r.waiters.Add(-1)
	if wire.Enabled() {
		o.event(wire.OpWake, 0, 0)
	}
}

// call runs f as the Once's one call and releases the waiters, even if f
// panics.
func (o *Once) call(f func()) {
	if wire.Enabled() {
		o.event(wire.OpRun, 0, 0)
	}
	defer func() {
		// OpRunDone goes first: no Do may return before it is in the trace.
		if wire.Enabled() {
			o.event(wire.OpRunDone, 1, 0)
		}
		o.done.Store(true)
		if r := o.run.Swap(onceReturned); r != onceRunning {
			close(r.done)
		}
	}()
	f()
}

// event writes one annotation; there is one call of f, so SEQ is always 1.
// Callers check wire.Enabled first.
func (o *Once) event(op wire.Op, n, depth int64) {
	wire.Emit(wire.Event{Kind: wire.KindOnce, Object: o.ident.ID(), Op: op, Seq: 1, N: n, Depth: depth})
}

// SetName names the Once in the trace being recorded, if any, by writing an
// OpName event; blockscope then reports the Once by that name. A name given
// while no trace is being recorded is not kept.
func (o *Once) SetName(name string) {
	o.ident.Name(wire.KindOnce, name)
}
