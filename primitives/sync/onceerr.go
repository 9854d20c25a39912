package sync

import (
	"sync/atomic"

	"github.com/blockscope/blockscope/internal/wire"
)

// OnceErr is an object that will perform one action successfully: unlike
// [Once], it tries again when the action fails. The standard library has no
// such type.
//
// Given
//
//	var once OnceErr
//
// a call once.Do(f) returns nil at once if some call of f made through once
// has already returned nil. Otherwise, if another goroutine's f is running, it
// waits for that call to return; if that call returned nil, Do returns nil,
// and if it failed, this Do (or another waiting one) tries again. A Do that
// calls f returns what f returned. So
//
//   - at most one call of f runs at a time, and none starts after one has
//     returned nil;
//   - a Do that returns nil did so because some call of f returned nil;
//   - a Do that returns an error called f itself and got that error: an
//     error is never handed to a caller that did not call f, and each Do
//     calls f at most once.
//
// If f panics, the call counts as failed: the panic goes on in the goroutine
// that called f, and the next Do tries again.
//
// Because a Do that finds f running waits for it, if f causes Do to be called
// on the same OnceErr, it will deadlock, as with [Once].
//
// A OnceErr must not be copied after first use.
//
// In the terminology of [the Go memory model], the return of nil from f
// “synchronizes before” the return from any call of once.Do(f) that returns
// nil, and the return from a call of f that failed “synchronizes before” the
// return from any call of once.Do(f) that waited for it.
//
// # Annotations
//
// While a trace is being recorded, a OnceErr (kind "onceerr") numbers its
// calls of f, its attempts, 1, 2, ... and writes:
//
//   - from the goroutine that calls f: OpRun with SEQ the attempt just
//     before f, and OpRunDone with SEQ the attempt and n=1 if f returned nil,
//     n=0 if it failed or panicked, before any Do that waited can return;
//   - from a Do that finds an attempt running: OpWait with SEQ that attempt
//     and depth the number of goroutines waiting for it, including itself,
//     and OpWake with the same SEQ when the attempt has returned; if it
//     failed, the same Do then writes either OpRun for the next attempt or
//     OpWait on it;
//   - from a Do that finds f already succeeded: nothing, its edge being the
//     earlier OpRunDone with n=1.
//
// [the Go memory model]: https://go.dev/ref/mem
type OnceErr struct {
	_ noCopy

	// done is set once a call of f has returned nil: Do's fast path.
	done atomic.Bool
	// last is the latest attempt, nil before the first.
	last  atomic.Pointer[onceAttempt]
	ident wire.Ident
}

// onceAttempt is one call of a OnceErr's f.
type onceAttempt struct {
	seq     uint64        // 1, 2, ...: the attempt number
	done    chan struct{} // closed once f has returned
	ok      bool          // f returned nil; written before done is closed
	waiters atomic.Int64  // Do calls blocked on done
}

// Do calls f unless a call of f made through this OnceErr has returned nil,
// waiting first for a call of f that is running; see [OnceErr] for the
// guarantees. It returns nil if a call of f returned nil, and otherwise the
// error from the call of f that it made.
func (o *OnceErr) Do(f func() error) error {
	if o.done.Load() {
		return nil
	}
	return o.doSlow(f)
}

func (o *OnceErr) doSlow(f func() error) error {
	for {
		a := o.last.Load()
		seq := uint64(1)
		if a != nil {
			select {
			case <-a.done:
			default:
				o.wait(a)
			}
			if a.ok {
				return nil
			}
			seq = a.seq + 1
		}
		// The last attempt failed, or there was none: claim the next. Only
		// one Do can swap a given attempt out, so attempt numbers are
		// consecutive; the others go round and wait for the winner.
		next := &onceAttempt{seq: seq, done: make(chan struct{})}
		if o.last.CompareAndSwap(a, next) {
			return o.call(next, f)
		}
	}
}

// wait blocks until attempt a has returned.
func (o *OnceErr) wait(a *onceAttempt) {
	depth := a.waiters.Add(1)
	if wire.Enabled() {
		o.event(wire.OpWait, a.seq, 0, depth)
	}
	<-a.done
	a.waiters.Add(-1)
	if wire.Enabled() {
		o.event(wire.OpWake, a.seq, 0, 0)
	}
}

// call runs f as attempt a and releases a's waiters, even if f panics.
func (o *OnceErr) call(a *onceAttempt, f func() error) error {
	if wire.Enabled() {
		o.event(wire.OpRun, a.seq, 0, 0)
	}
	ok := false
	defer func() {
		// OpRunDone goes first: no waiter may return before it is in the trace.
		if wire.Enabled() {
			var n int64
			if ok {
				n = 1
			}
			o.event(wire.OpRunDone, a.seq, n, 0)
		}
		a.ok = ok
		if ok {
			o.done.Store(true)
		}
		close(a.done)
	}()
	err := f()
	ok = err == nil
	return err
}

// Done reports whether a call of f made through o.Do has returned nil, so
// that Do will not call f again. If it reports true, the return of nil from f
// “synchronizes before” the return of Done.
func (o *OnceErr) Done() bool {
	return o.done.Load()
}

// event writes one annotation. Callers check wire.Enabled first.
func (o *OnceErr) event(op wire.Op, seq uint64, n, depth int64) {
	wire.Emit(wire.Event{Kind: wire.KindOnceErr, Object: o.ident.ID(), Op: op, Seq: seq, N: n, Depth: depth})
}

// SetName names the OnceErr in the trace being recorded, if any, by writing
// an OpName event; blockscope then reports the OnceErr by that name. A name
// given while no trace is being recorded is not kept.
func (o *OnceErr) SetName(name string) {
	o.ident.Name(wire.KindOnceErr, name)
}
