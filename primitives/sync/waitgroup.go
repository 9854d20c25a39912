package sync

import (
	"math"
	"runtime"
	stdsync "sync"
	"sync/atomic"

	"github.com/blockscope/blockscope/internal/wire"
)

// A WaitGroup is a counting semaphore typically used to wait
// for a group of goroutines or tasks to finish.
//
// Typically, a main goroutine will start tasks, each in a new
// goroutine, by calling [WaitGroup.Go] and then wait for all tasks to
// complete by calling [WaitGroup.Wait]. For example:
//
//	var wg sync.WaitGroup
//	wg.Go(task1)
//	wg.Go(task2)
//	wg.Wait()
//
// A WaitGroup may also be used for tracking tasks without using Go to
// start new goroutines by using [WaitGroup.Add] and [WaitGroup.Done].
//
// A WaitGroup must not be copied after first use.
//
// In the terminology of [the Go memory model], a call to Done
// “synchronizes before” the return of any Wait call that it unblocks.
//
// # Annotations
//
// While a trace is being recorded, a WaitGroup (kind "wg") numbers its
// epochs: epoch e is the time after the counter has returned to zero e
// times (modulo 2³¹). It writes:
//
//   - from Add (and so from Done and Go): OpAdd with SEQ the epoch the Add
//     belongs to, n the delta and depth the counter after it. The Add that
//     brings the counter to zero ends its epoch and still carries its number;
//   - from a Wait that must block: OpWait with SEQ the epoch it waits for
//     to end and depth the number of Wait calls blocked on that epoch,
//     including itself, and OpWake with the same SEQ when it returns;
//   - from a Wait that returns at once: OpWake only, with SEQ the epoch
//     whose end it saw (the last one ended), or nothing if the counter has
//     never been above zero.
//
// Every OpAdd of epoch e happens before every OpWake of epoch e, and comes
// before it in the trace: while a trace is being recorded, Add calls take
// turns, and each writes its OpAdd before its change to the counter can be
// seen. So the OpAdds of a WaitGroup are in the trace in the order of the
// changes they made, and their depths follow one another.
//
// [the Go memory model]: https://go.dev/ref/mem
type WaitGroup struct {
	noCopy noCopy

	// state is counter<<32 | locked | epoch: the task counter (an int32),
	// the wgLocked bit, and the number of times the counter has returned
	// to zero (31 bits, wrapping), changed together so that every Add
	// knows its epoch.
	state atomic.Uint64
	// waiters is a stack of the Wait calls blocked on the current epoch.
	// Waits push themselves; whoever sees the epoch end takes the whole
	// stack and wakes them.
	waiters atomic.Pointer[wgWaiter]
	ident   wire.Ident
}

// A wgWaiter is one Wait call blocked on an epoch. It blocks receiving from
// ready until the one token it is owed arrives. Waiters are pooled, and a
// waiter goes back to the pool only after it has received its token.
//
// A Wait that pushes itself reads the epoch and depth of the waiter it finds
// on top, which may meanwhile have been woken and reused: hence atomics.
type wgWaiter struct {
	next  *wgWaiter
	ready chan struct{} // capacity 1
	epoch atomic.Uint32
	depth atomic.Int64 // waiters of the epoch in the stack, this one included
}

var wgWaiterPool = stdsync.Pool{
	New: func() any { return &wgWaiter{ready: make(chan struct{}, 1)} },
}

// wakeWaiters takes the stack of waiters and wakes them. It is called by
// whoever sees that the epoch they wait for has ended.
func (wg *WaitGroup) wakeWaiters() {
	for w := wg.waiters.Swap(nil); w != nil; {
		next := w.next // w may be reused as soon as it has its token
		w.ready <- struct{}{}
		w = next
	}
}

const (
	// wgLocked is set in a WaitGroup's state while an Add writes its
	// annotation; the state does not change meanwhile.
	wgLocked = 1 << 31
	// wgEpochs masks the epoch in a WaitGroup's state.
	wgEpochs = wgLocked - 1
)

func splitState(s uint64) (counter int32, epoch uint32) {
	return int32(s >> 32), uint32(s) & wgEpochs
}

// Add adds delta, which may be negative, to the [WaitGroup] task counter.
// If the counter becomes zero, all goroutines blocked on [WaitGroup.Wait] are released.
// If the counter goes negative, Add panics.
//
// Callers should prefer [WaitGroup.Go].
//
// Note that calls with a positive delta that occur when the counter is zero
// must happen before a Wait. Calls with a negative delta, or calls with a
// positive delta that start when the counter is greater than zero, may happen
// at any time.
// Typically this means the calls to Add should execute before the statement
// creating the goroutine or other event to be waited for.
// If a WaitGroup is reused to wait for several independent sets of events,
// new Add calls must happen after all previous Wait calls have returned.
//
// Add writes OpAdd; Add(0) changes nothing and writes nothing.
func (wg *WaitGroup) Add(delta int) {
	if delta == 0 {
		return
	}
	var (
		next    uint64
		counter int32
		epoch   uint32
		v       int64
	)
	for {
		old := wg.state.Load()
		if old&wgLocked != 0 {
			runtime.Gosched() // another Add is writing its annotation
			continue
		}
		counter, epoch = splitState(old)
		v = int64(counter) + int64(delta)
		if delta > 0 && (v > math.MaxInt32 || v < int64(counter)) {
			panic("sync: WaitGroup counter overflow")
		}
		if v < 0 {
			panic("sync: negative WaitGroup counter")
		}
		next = uint64(uint32(v))<<32 | uint64(epoch)
		if v == 0 {
			next = uint64((epoch + 1) & wgEpochs)
		}
		if !wire.Enabled() {
			if wg.state.CompareAndSwap(old, next) {
				break
			}
			continue
		}
		// Write the annotation before the change can be seen, so that it
		// comes first in the trace: lock the state, write, then change it.
		if wg.state.CompareAndSwap(old, old|wgLocked) {
			wg.event(wire.OpAdd, epoch, int64(delta), v)
			wg.state.Store(next)
			break
		}
	}
	switch {
	case counter == 0:
		// A new epoch begins. Waiters still in the stack are Wait calls of
		// the epoch before that have not been woken, let alone returned.
		if wg.waiters.Load() != nil {
			panic("sync: WaitGroup misuse: Add called concurrently with Wait")
		}
	case v == 0:
		// This Add ended the epoch: wake its waiters. Until they have
		// returned, no Add may come.
		if wg.waiters.Load() == nil {
			return
		}
		if wg.state.Load() != next {
			panic("sync: WaitGroup misuse: Add called concurrently with Wait")
		}
		wg.wakeWaiters()
	}
}

// Done decrements the [WaitGroup] task counter by one.
// It is equivalent to Add(-1).
//
// Callers should prefer [WaitGroup.Go].
//
// In the terminology of [the Go memory model], a call to Done
// “synchronizes before” the return of any Wait call that it unblocks.
//
// Done writes OpAdd with n=-1.
//
// [the Go memory model]: https://go.dev/ref/mem
func (wg *WaitGroup) Done() {
	wg.Add(-1)
}

// Wait blocks until the [WaitGroup] task counter is zero.
//
// A Wait that blocks writes OpWait and, when it returns, OpWake; one that
// returns at once writes OpWake only (see [WaitGroup]).
func (wg *WaitGroup) Wait() {
	counter, epoch := splitState(wg.state.Load())
	if counter == 0 {
		if epoch != 0 && wire.Enabled() {
			wg.event(wire.OpWake, (epoch-1)&wgEpochs, 0, 0)
		}
		return
	}
	w := wgWaiterPool.Get().(*wgWaiter)
	w.epoch.Store(epoch)
	for {
		head := wg.waiters.Load()
		depth := int64(1)
		if head != nil && head.epoch.Load() == epoch {
			depth += head.depth.Load()
		}
		w.next = head
		w.depth.Store(depth)
		if wg.waiters.CompareAndSwap(head, w) {
			break
		}
	}
	// The epoch may have ended before w was in the stack, with no one left
	// to wake it: then wake the stack, w included, without waiting.
	if _, now := splitState(wg.state.Load()); now != epoch {
		wg.wakeWaiters()
		<-w.ready
		wgWaiterPool.Put(w)
		if wire.Enabled() {
			wg.event(wire.OpWake, epoch, 0, 0)
		}
		return
	}
	if wire.Enabled() {
		wg.event(wire.OpWait, epoch, 0, w.depth.Load())
	}
	<-w.ready
	wgWaiterPool.Put(w)
	if wire.Enabled() {
		wg.event(wire.OpWake, epoch, 0, 0)
	}
	if wg.state.Load() != uint64((epoch+1)&wgEpochs) {
		panic("sync: WaitGroup is reused before previous Wait has returned")
	}
}

// Go calls f in a new goroutine and adds that task to the [WaitGroup].
// When f returns, the task is removed from the WaitGroup.
//
// The function f must not panic.
//
// If the WaitGroup is empty, Go must happen before a [WaitGroup.Wait].
// Typically, this simply means Go is called to start tasks before Wait is called.
// If the WaitGroup is not empty, Go may happen at any time.
// This means a goroutine started by Go may itself call Go.
// If a WaitGroup is reused to wait for several independent sets of tasks,
// new Go calls must happen after all previous Wait calls have returned.
//
// In the terminology of [the Go memory model], the return from f
// “synchronizes before” the return of any Wait call that it unblocks.
//
// Go writes the OpAdd of Add(1) before starting the goroutine, and the new
// goroutine the OpAdd of Done when f returns.
//
// [the Go memory model]: https://go.dev/ref/mem
func (wg *WaitGroup) Go(f func()) {
	wg.Add(1)
	go func() {
		defer func() {
			if x := recover(); x != nil {
				// f panicked, which will be fatal because this is a new
				// goroutine. Calling Done would let Wait return and race
				// with the panic, possibly exiting the process first; so,
				// as the standard library does, panic without it.
				panic(x)
			}
			// f returned, or called runtime.Goexit.
			wg.Done()
		}()
		f()
	}()
}

// event writes one annotation. Callers check wire.Enabled first.
func (wg *WaitGroup) event(op wire.Op, epoch uint32, n, depth int64) {
	wire.Emit(wire.Event{Kind: wire.KindWaitGroup, Object: wg.ident.ID(), Op: op, Seq: uint64(epoch), N: n, Depth: depth})
}

// SetName names the WaitGroup in the trace being recorded, if any, by
// writing an OpName event; blockscope then reports the WaitGroup by that
// name. A name given while no trace is being recorded is not kept.
func (wg *WaitGroup) SetName(name string) {
	wg.ident.Name(wire.KindWaitGroup, name)
}
