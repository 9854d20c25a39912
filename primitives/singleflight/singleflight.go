// Package singleflight provides a duplicate function call suppression
// mechanism that announces itself in execution traces.
//
// It is a drop-in replacement for golang.org/x/sync/singleflight (v0.25.0):
// changing the import path is the only change a program needs. The names,
// signatures and behaviour are the same, including what happens when the
// function panics (every Do caller of the flight panics with an error that
// wraps the value and carries the leader's stack; if a DoChan caller shares
// the flight, the panic is re-raised in a new goroutine so that it cannot be
// recovered and the process crashes rather than leaving the channel empty
// forever) or calls runtime.Goexit (every Do caller of the flight exits too).
//
// # Synchronization
//
// In the terminology of the Go memory model, the return of the function
// passed to Do or DoChan synchronizes before every Do call of the same flight
// returns and before its result is sent on every DoChan channel of the
// flight.
//
// # Annotations
//
// While a runtime/trace is being recorded, each Group writes user log events
// of kind "sf" (see internal/wire). A flight is one execution of a function
// and the calls that share it; flights are numbered 1, 2, ... per Group, and
// SEQ below is that flight number:
//
//   - lead SEQ key=KEY: a call starts a flight, written before the function
//     runs by the goroutine that runs it (for DoChan, the new goroutine).
//   - follow SEQ depth=D key=KEY: a call joins a flight in progress, D being
//     the number of calls that have joined it so far, this one included.
//   - return SEQ n=F key=KEY: the function returned (or panicked, or called
//     runtime.Goexit), F being the number of calls that joined the flight.
//     It is written before any of them is released.
//   - wake SEQ: a Do call that joined a flight is released, just before it
//     returns (or panics, or exits).
//   - forget key=KEY: Forget was called.
//
// A DoChan call that joins a flight does not block, so it writes follow but
// no wake: its result arrives on its channel, after the flight's return.
// Events other than wake, and the lead of a DoChan flight, are written while
// the Group's internal mutex is held, so they appear in the trace in the
// order the operations happened. When no trace is being recorded, the
// annotations cost one atomic load per event.
package singleflight

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/blockscope/blockscope/internal/wire"
)

// errGoexit is the outcome of a call whose function called runtime.Goexit.
var errGoexit = errors.New("runtime.Goexit was called")

// A panicError is the value a function panicked with, and the stack of the
// goroutine at the time.
type panicError struct {
	value any
	stack []byte
}

// Error implements error interface.
func (p *panicError) Error() string {
	return fmt.Sprintf("%v\n\n%s", p.value, p.stack)
}

// Unwrap returns the panic value if it is an error, and nil otherwise.
func (p *panicError) Unwrap() error {
	err, _ := p.value.(error)
	return err
}

func newPanicError(v any) error {
	stack := debug.Stack()
	// The first line, "goroutine N [status]:", will be stale by the time
	// the error is seen: drop it.
	if i := bytes.IndexByte(stack, '\n'); i >= 0 {
		stack = stack[i+1:]
	}
	return &panicError{value: v, stack: stack}
}

// call is one flight: an execution of a function, in progress or done.
type call struct {
	wg sync.WaitGroup

	// val and err are written once, before wg is done, and read only after.
	val any
	err error

	// flight is the flight number, set before the call is published.
	flight uint64

	// dups and chans are guarded by the Group's mutex until wg is done and
	// are only read after.
	dups  int
	chans []chan<- Result
}

// Group represents a class of work and forms a namespace in
// which units of work can be executed with duplicate suppression.
type Group struct {
	ident wire.Ident

	mu      sync.Mutex       // protects m and flights
	m       map[string]*call // lazily initialized
	flights uint64           // flight numbers given so far
}

// Result holds the results of Do, so they can be passed
// on a channel.
type Result struct {
	Val    any
	Err    error
	Shared bool
}

// SetName gives the group a name under which blockscope reports it. The name
// is written into the execution trace being recorded, if any, so call
// SetName after the trace has started.
func (g *Group) SetName(name string) {
	g.ident.Name(wire.KindSingleflight, name)
}

// Do executes and returns the results of the given function, making
// sure that only one execution is in-flight for a given key at a
// time. If a duplicate comes in, the duplicate caller waits for the
// original to complete and receives the same results.
// The return value shared indicates whether v was given to multiple callers.
//
// If fn panics, every Do caller of the flight panics with an error that
// wraps the panic value (errors.Is and errors.As see it if it is an error)
// and whose message holds the stack of the panic. If fn calls
// runtime.Goexit, every Do caller of the flight calls it too.
//
// The leader writes lead and return events around fn; a duplicate writes
// follow and wake events around its wait.
func (g *Group) Do(key string, fn func() (any, error)) (v any, err error, shared bool) {
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		c.dups++
		if wire.Enabled() {
			g.emit(wire.OpFollow, c.flight, 0, int64(c.dups), key)
		}
		g.mu.Unlock()
		c.wg.Wait()
		if wire.Enabled() {
			g.emit(wire.OpWake, c.flight, 0, 0, "")
		}
		if e, ok := c.err.(*panicError); ok {
			panic(e)
		} else if c.err == errGoexit {
			runtime.Goexit()
		}
		return c.val, c.err, true
	}
	c := g.start(key)
	if wire.Enabled() {
		g.emit(wire.OpLead, c.flight, 0, 0, key)
	}
	g.mu.Unlock()

	g.doCall(c, key, fn)
	return c.val, c.err, c.dups > 0
}

// DoChan is like Do but returns a channel that will receive the
// results when they are ready.
//
// The returned channel will not be closed.
//
// A DoChan call that starts a flight runs fn in a new goroutine, which
// writes the lead and return events; one that joins a flight writes a follow
// event and no wake, since it does not wait.
func (g *Group) DoChan(key string, fn func() (any, error)) <-chan Result {
	ch := make(chan Result, 1)
	g.mu.Lock()
	if c, ok := g.m[key]; ok {
		c.dups++
		c.chans = append(c.chans, ch)
		if wire.Enabled() {
			g.emit(wire.OpFollow, c.flight, 0, int64(c.dups), key)
		}
		g.mu.Unlock()
		return ch
	}
	c := g.start(key)
	c.chans = []chan<- Result{ch}
	g.mu.Unlock()

	go g.leadChan(c, key, fn)
	return ch
}

// Forget tells the singleflight to forget about a key. Future calls
// to Do for this key will call the function rather than waiting for
// an earlier call to complete.
//
// Forget writes a forget event.
func (g *Group) Forget(key string) {
	g.mu.Lock()
	delete(g.m, key)
	if wire.Enabled() {
		g.emit(wire.OpForget, 0, 0, 0, key)
	}
	g.mu.Unlock()
}

// start begins a new flight for key. g.mu must be held.
func (g *Group) start(key string) *call {
	if g.m == nil {
		g.m = make(map[string]*call)
	}
	g.flights++
	c := &call{flight: g.flights}
	c.wg.Add(1)
	g.m[key] = c
	return c
}

// leadChan runs a flight started by DoChan.
func (g *Group) leadChan(c *call, key string, fn func() (any, error)) {
	if wire.Enabled() {
		g.emit(wire.OpLead, c.flight, 0, 0, key)
	}
	g.doCall(c, key, fn)
}

// doCall runs fn for flight c and hands its outcome to the flight's callers.
func (g *Group) doCall(c *call, key string, fn func() (any, error)) {
	// fn can end in three ways: it returns, it panics, or it calls
	// runtime.Goexit. A deferred recover tells a panic (recover stops it,
	// so the code after the inner function runs) from Goexit (it does
	// not). The stack of a panic must be taken inside the inner deferred
	// function, before the frames that panicked are unwound.
	returned, recovered := false, false
	defer func() {
		if !returned && !recovered {
			c.err = errGoexit
		}
		g.finish(c, key)
	}()

	func() {
		defer func() {
			if !returned {
				if r := recover(); r != nil {
					c.err = newPanicError(r)
				}
			}
		}()
		c.val, c.err = fn()
		returned = true
	}()
	if !returned {
		recovered = true
	}
}

// finish ends flight c: it releases the Do callers, sends the result to the
// DoChan callers and re-raises a panic.
func (g *Group) finish(c *call, key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if wire.Enabled() {
		g.emit(wire.OpReturn, c.flight, int64(c.dups), 0, key)
	}
	c.wg.Done()
	if g.m[key] == c {
		delete(g.m, key)
	}

	if e, ok := c.err.(*panicError); ok {
		if len(c.chans) > 0 {
			// A recovered panic would leave the channels empty forever:
			// make it unrecoverable, and keep this goroutine in the
			// crash dump.
			go panic(e)
			select {}
		}
		panic(e)
	}
	if c.err == errGoexit {
		// The goroutine is already exiting.
		return
	}
	for _, ch := range c.chans {
		ch <- Result{Val: c.val, Err: c.err, Shared: c.dups > 0}
	}
}

func (g *Group) emit(op wire.Op, flight uint64, n, depth int64, key string) {
	wire.Emit(wire.Event{
		Kind:   wire.KindSingleflight,
		Object: g.ident.ID(),
		Op:     op,
		Seq:    flight,
		N:      n,
		Depth:  depth,
		Key:    key,
	})
}
