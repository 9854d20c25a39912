// Package errgroup provides synchronization, error propagation, and Context
// cancellation for groups of goroutines working on subtasks of a common task,
// and announces them in execution traces.
//
// It is a drop-in replacement for golang.org/x/sync/errgroup (v0.25.0):
// changing the import path is the only change a program needs. The names,
// signatures and behaviour are the same: the first goroutine to return a
// non-nil error has that error returned by Wait and cancels the Context made
// by WithContext, with the error as its cause; SetLimit bounds the number of
// active goroutines, Go blocking and TryGo failing at the bound; a panic in a
// goroutine is not recovered and crashes the program, as it does in x/sync;
// and a goroutine that calls runtime.Goexit counts as having returned nil.
//
// # Synchronization
//
// In the terminology of the Go memory model, the return of each function
// passed to Go or TryGo synchronizes before the return of any Wait that
// waited for it: every write a goroutine of the group made is visible to the
// caller of Wait once Wait returns. The goroutine started by Go sees every
// write made before the call to Go.
//
// # Annotations
//
// While a runtime/trace is being recorded, each Group writes user log events
// of kind "eg" (see internal/wire) naming the group, the operation and the
// goroutine numbers that tie a goroutine's return to the Wait it releases:
//
//   - Go or TryGo that starts a goroutine: go SEQ=G n=L, where G is the
//     goroutine's number in the group (1, 2, ...) and L the limit (0: none).
//     A Go that finds the limit reached first writes wait SEQ=0 n=1, then
//     blocks; its go event ends that wait. A TryGo that fails at the limit
//     writes nothing.
//   - The goroutine's function returns: godone SEQ=G, n=1 if it returned a
//     non-nil error. It is written by the goroutine itself, before the group
//     counts it as finished.
//   - SetLimit(n): limit n=n (-1: no limit).
//   - Wait: wait SEQ=0 before blocking, then wake SEQ=S when it returns, S
//     being the number of goroutines the group had started: the godone of
//     every goroutine numbered 1..S precedes the wake and happens before it.
//     (This holds whenever Go is used as x/sync requires: a Go that starts
//     a goroutine while the group is empty must happen before the Wait.)
//
// When no trace is being recorded, the annotations cost one atomic load per
// operation.
package errgroup

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/blockscope/blockscope/internal/wire"
)

type token struct{}

// A Group is a collection of goroutines working on subtasks that are part of
// the same overall task. A Group should not be reused for different tasks.
//
// A zero Group is valid, has no limit on the number of active goroutines,
// and does not cancel on error.
type Group struct {
	ident wire.Ident

	cancel func(error)

	wg sync.WaitGroup

	sem chan token // nil: no limit; its length is the number of active goroutines

	started atomic.Uint64 // goroutine numbers given so far

	errOnce sync.Once
	err     error
}

// WithContext returns a new Group and an associated Context derived from ctx.
//
// The derived Context is canceled the first time a function passed to Go
// returns a non-nil error or the first time Wait returns, whichever occurs
// first. Its cause (context.Cause) is that error, or context.Canceled when
// Wait returns with none.
func WithContext(ctx context.Context) (*Group, context.Context) {
	ctx, cancel := context.WithCancelCause(ctx)
	return &Group{cancel: cancel}, ctx
}

// SetName gives the group a name under which blockscope reports it. The name
// is written into the execution trace being recorded, if any, so call SetName
// after the trace has started.
func (g *Group) SetName(name string) {
	g.ident.Name(wire.KindErrgroup, name)
}

// Wait blocks until all function calls from the Go method have returned, then
// returns the first non-nil error (if any) from them.
//
// Wait writes a wait event before blocking and a wake event when it returns
// (see the package documentation).
func (g *Group) Wait() error {
	if wire.Enabled() {
		g.emit(wire.OpWait, 0, 0)
	}
	g.wg.Wait()
	if g.cancel != nil {
		g.cancel(g.err)
	}
	if wire.Enabled() {
		g.emit(wire.OpWake, g.started.Load(), 0)
	}
	return g.err
}

// Go calls the given function in a new goroutine.
//
// The first call to Go must happen before a Wait.
// It blocks until the new goroutine can be added without the number of
// goroutines in the group exceeding the configured limit.
//
// The first goroutine in the group that returns a non-nil error will
// cancel the associated Context, if any. The error will be returned
// by Wait.
//
// Go writes a go event when the goroutine starts, preceded by a wait event
// if it had to block on the limit, and the goroutine writes a godone event
// when f returns (see the package documentation).
func (g *Group) Go(f func() error) {
	if g.sem != nil {
		if wire.Enabled() {
			select {
			case g.sem <- token{}:
			default:
				g.emit(wire.OpWait, 0, 1)
				g.sem <- token{}
			}
		} else {
			g.sem <- token{}
		}
	}
	g.start(f)
}

// TryGo calls the given function in a new goroutine only if the number of
// active goroutines in the group is currently below the configured limit.
//
// The return value reports whether the goroutine was started.
//
// A TryGo that starts a goroutine writes the events Go does; one that fails
// writes none.
func (g *Group) TryGo(f func() error) bool {
	if g.sem != nil {
		select {
		case g.sem <- token{}:
		default:
			return false
		}
	}
	g.start(f)
	return true
}

// start runs f in a new goroutine of the group, the limit (if any) having
// been reserved.
func (g *Group) start(f func() error) {
	g.wg.Add(1)
	n := g.started.Add(1)
	if wire.Enabled() {
		g.emit(wire.OpGo, n, int64(cap(g.sem)))
	}
	go g.run(n, f)
}

// run is goroutine n of the group: it calls f and records its error.
func (g *Group) run(n uint64, f func() error) {
	// A function that panics crashes the program, as in x/sync: the panic is
	// not recovered here and not passed to Wait. A function that calls
	// runtime.Goexit has returned nil.
	failed := false
	defer func() { g.done(n, failed) }()
	if err := f(); err != nil {
		failed = true
		g.errOnce.Do(func() {
			g.err = err
			if g.cancel != nil {
				g.cancel(g.err)
			}
		})
	}
}

// done finishes goroutine n, which failed if f returned an error.
func (g *Group) done(n uint64, failed bool) {
	if wire.Enabled() {
		var bad int64
		if failed {
			bad = 1
		}
		g.emit(wire.OpGoDone, n, bad)
	}
	if g.sem != nil {
		<-g.sem
	}
	g.wg.Done()
}

// SetLimit limits the number of active goroutines in this group to at most n.
// A negative value indicates no limit.
// A limit of zero will prevent any new goroutines from being added.
//
// Any subsequent call to the Go method will block until it can add an active
// goroutine without exceeding the configured limit.
//
// The limit must not be modified while any goroutines in the group are active;
// SetLimit panics if it is.
//
// SetLimit writes a limit event (see the package documentation).
func (g *Group) SetLimit(n int) {
	if n < 0 {
		g.sem = nil
		if wire.Enabled() {
			g.emit(wire.OpLimit, 0, -1)
		}
		return
	}
	if active := len(g.sem); active != 0 {
		panic(fmt.Errorf("errgroup: modify limit while %v goroutines in the group are still active", active))
	}
	g.sem = make(chan token, n)
	if wire.Enabled() {
		g.emit(wire.OpLimit, 0, int64(n))
	}
}

// emit writes one annotation about g. Callers check wire.Enabled first.
func (g *Group) emit(op wire.Op, seq uint64, n int64) {
	wire.Emit(wire.Event{Kind: wire.KindErrgroup, Object: g.ident.ID(), Op: op, Seq: seq, N: n})
}
