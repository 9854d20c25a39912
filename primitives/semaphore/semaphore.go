// Package semaphore provides a weighted semaphore implementation that
// announces itself in execution traces.
//
// It is a drop-in replacement for golang.org/x/sync/semaphore (v0.25.0):
// changing the import path is the only change a program needs. The names,
// signatures and behaviour are the same: waiters are served in FIFO order, so
// a large request at the head of the queue holds back smaller ones behind it;
// an Acquire whose context is already done fails even if the weight is free;
// and a request larger than the semaphore's size waits until its context is
// done without holding back anyone else.
//
// # Synchronization
//
// In the terminology of the Go memory model, a call to Release synchronizes
// before every Acquire or TryAcquire that succeeds after it; in particular,
// the Release that frees the weight a blocked Acquire was waiting for
// synchronizes before that Acquire returns.
//
// # Annotations
//
// While a runtime/trace is being recorded, each Weighted writes user log
// events of kind "sema" (see internal/wire) naming the semaphore, the
// operation and the sequence numbers that pair a Release with the Acquires it
// admits:
//
//   - Acquire that succeeds at once, and TryAcquire that succeeds:
//     acquire SEQ=A n=weight, where A is the semaphore's acquire number
//     (1, 2, ...).
//   - Acquire that has to wait: wait n=weight depth=D, D being the queue
//     length including itself (0 for a request larger than the size, which
//     never joins the queue); then either acquire SEQ=A n=weight ref=R, R
//     being the release number of the Release that admitted it (0 when no
//     Release did: the waiter ahead of it gave up), or cancel n=weight when
//     its context was done.
//   - Acquire whose context was already done, and TryAcquire that fails:
//     cancel n=weight, with no wait before it.
//   - Release: release SEQ=R n=weight depth=W, R being the release number
//     (1, 2, ...) and W the number of waiters still queued after it has
//     admitted those it could.
//
// Sequence numbers are assigned under the semaphore's internal mutex, so they
// follow the real order of the operations. Every event is written while that
// mutex is held, except the acquire of a waiter that was admitted and the
// cancel of a request larger than the size; in particular a release is
// written before the waiters it admits are woken, so it precedes in the trace
// every acquire that names it. Acquire numbers may skip a value: a waiter
// admitted just as its context became done hands its weight back (cancel)
// without using the number it was given, and the waiters that weight then
// admits carry the ref of the Release that had admitted it. When no trace is
// being recorded, the annotations cost one atomic load per operation.
package semaphore

import (
	"container/list"
	"context"
	"sync"

	"github.com/blockscope/blockscope/internal/wire"
)

// waiter is one blocked Acquire. seq and ref are written, under the
// semaphore's mutex, before ready is closed and read only after it is.
type waiter struct {
	n     int64
	ready chan struct{} // closed when the weight has been granted
	seq   uint64        // acquire number granted
	ref   uint64        // release number that admitted the waiter
}

// NewWeighted creates a new weighted semaphore with the given
// maximum combined weight for concurrent access. NewWeighted panics if n is
// negative.
func NewWeighted(n int64) *Weighted {
	if n < 0 {
		panic("semaphore: size < 0")
	}
	return &Weighted{size: n}
}

// Weighted provides a way to bound concurrent access to a resource.
// The callers can request access with a given non-negative weight.
type Weighted struct {
	ident wire.Ident

	size     int64
	mu       sync.Mutex
	cur      int64     // weight held; guarded by mu
	waiters  list.List // of *waiter, FIFO; guarded by mu
	acquires uint64    // acquire numbers given so far; guarded by mu
	releases uint64    // release numbers given so far; guarded by mu
}

// SetName gives the semaphore a name under which blockscope reports it. The
// name is written into the execution trace being recorded, if any, so call
// SetName after the trace has started.
func (s *Weighted) SetName(name string) {
	s.ident.Name(wire.KindSemaphore, name)
}

// Acquire acquires the semaphore with a non-negative weight of n, blocking until resources
// are available or ctx is done. On success, returns nil. On failure, returns
// ctx.Err() and leaves the semaphore unchanged.
//
// If ctx is already done when Acquire is called, Acquire fails even if the
// weight is available. A request larger than the semaphore's size blocks
// until ctx is done.
//
// A successful Acquire writes an acquire event; one that waits writes a wait
// event first; a failed one writes a cancel event (see the package
// documentation).
func (s *Weighted) Acquire(ctx context.Context, n int64) error {
	if n < 0 {
		panic("semaphore: n < 0")
	}
	done := ctx.Done()

	s.mu.Lock()
	select {
	case <-done:
		// The context became done before we took the mutex, so it happened
		// before the acquisition could: fail, as x/sync does, even though
		// the weight may be free.
		if wire.Enabled() {
			s.emit(wire.OpCancel, 0, n, 0, 0)
		}
		s.mu.Unlock()
		return ctx.Err()
	default:
	}

	if s.size-s.cur >= n && s.waiters.Len() == 0 {
		// Fast path. Holding the mutex, we have not synchronized with
		// anything since checking done, so succeeding is correct even if
		// ctx becomes done meanwhile.
		s.cur += n
		s.acquires++
		if wire.Enabled() {
			s.emit(wire.OpAcquire, s.acquires, n, 0, 0)
		}
		s.mu.Unlock()
		return nil
	}

	if n > s.size {
		// This request can never be met; do not let it hold back the queue.
		if wire.Enabled() {
			s.emit(wire.OpWait, 0, n, 0, 0)
		}
		s.mu.Unlock()
		<-done
		if wire.Enabled() {
			s.emit(wire.OpCancel, 0, n, 0, 0)
		}
		return ctx.Err()
	}

	w := &waiter{n: n, ready: make(chan struct{})}
	elem := s.waiters.PushBack(w)
	if wire.Enabled() {
		s.emit(wire.OpWait, 0, n, int64(s.waiters.Len()), 0)
	}
	s.mu.Unlock()

	select {
	case <-done:
		s.mu.Lock()
		select {
		case <-w.ready:
			// Admitted while the context was becoming done: the context
			// wins. Hand the weight back as if we never had it.
			s.handBack(w)
		default:
			front := s.waiters.Front() == elem
			s.waiters.Remove(elem)
			// Leaving the head of the queue may let those behind us in.
			if front && s.size > s.cur {
				s.notifyWaiters(0)
			}
		}
		if wire.Enabled() {
			s.emit(wire.OpCancel, 0, n, 0, 0)
		}
		s.mu.Unlock()
		return ctx.Err()

	case <-w.ready:
		// Admitted. Fail anyway if the context is done by now; checking the
		// channel is cheaper than ctx.Err, which walks the context chain.
		select {
		case <-done:
			s.mu.Lock()
			s.handBack(w)
			if wire.Enabled() {
				s.emit(wire.OpCancel, 0, n, 0, 0)
			}
			s.mu.Unlock()
			return ctx.Err()
		default:
		}
		if wire.Enabled() {
			s.emit(wire.OpAcquire, w.seq, n, 0, w.ref)
		}
		return nil
	}
}

// TryAcquire acquires the semaphore with a non-negative weight of n without blocking.
// On success, returns true. On failure, returns false and leaves the semaphore unchanged.
//
// TryAcquire fails whenever other callers are waiting in Acquire, even if
// the weight is free. It writes an acquire event on success and a cancel
// event on failure.
func (s *Weighted) TryAcquire(n int64) bool {
	if n < 0 {
		panic("semaphore: n < 0")
	}
	s.mu.Lock()
	ok := s.size-s.cur >= n && s.waiters.Len() == 0
	if ok {
		s.cur += n
		s.acquires++
	}
	if wire.Enabled() {
		if ok {
			s.emit(wire.OpAcquire, s.acquires, n, 0, 0)
		} else {
			s.emit(wire.OpCancel, 0, n, 0, 0)
		}
	}
	s.mu.Unlock()
	return ok
}

// Release releases the semaphore with a non-negative weight of n.
//
// Release admits the waiters at the head of the queue whose weight now fits,
// in order, and stops at the first that does not. It panics if more weight
// is released than is held. It writes a release event, before any waiter it
// admits returns from Acquire.
func (s *Weighted) Release(n int64) {
	if n < 0 {
		panic("semaphore: n < 0")
	}
	s.mu.Lock()
	s.cur -= n
	if s.cur < 0 {
		s.mu.Unlock()
		panic("semaphore: released more than held")
	}
	s.releases++
	if wire.Enabled() {
		s.emit(wire.OpRelease, s.releases, n, int64(s.waiters.Len()-s.admissible()), 0)
	}
	s.notifyWaiters(s.releases)
	s.mu.Unlock()
}

// handBack returns the weight of a waiter that was admitted but gives up,
// and passes it on to the queue under the ref that admitted the waiter.
// s.mu must be held.
func (s *Weighted) handBack(w *waiter) {
	s.cur -= w.n
	s.notifyWaiters(w.ref)
}

// notifyWaiters admits waiters from the head of the queue while their
// weight fits, recording ref, the release number that admitted them. It
// stops at the first waiter that does not fit even if a later, smaller one
// would: letting small requests overtake would starve large ones (a
// semaphore of size N used as a read-write lock would never let a writer
// that wants N through). s.mu must be held.
func (s *Weighted) notifyWaiters(ref uint64) {
	for {
		e := s.waiters.Front()
		if e == nil {
			return
		}
		w := e.Value.(*waiter)
		if s.size-s.cur < w.n {
			return
		}
		s.cur += w.n
		s.acquires++
		w.seq = s.acquires
		w.ref = ref
		s.waiters.Remove(e)
		close(w.ready)
	}
}

// admissible reports how many waiters notifyWaiters would admit now,
// without admitting them. s.mu must be held.
func (s *Weighted) admissible() int {
	free := s.size - s.cur
	k := 0
	for e := s.waiters.Front(); e != nil; e = e.Next() {
		w := e.Value.(*waiter)
		if free < w.n {
			break
		}
		free -= w.n
		k++
	}
	return k
}

func (s *Weighted) emit(op wire.Op, seq uint64, n, depth int64, ref uint64) {
	wire.Emit(wire.Event{
		Kind:   wire.KindSemaphore,
		Object: s.ident.ID(),
		Op:     op,
		Seq:    seq,
		N:      n,
		Depth:  depth,
		Ref:    ref,
	})
}
