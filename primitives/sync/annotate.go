package sync

import (
	stdsync "sync"
	"time"

	"github.com/blockscope/blockscope/internal/wire"
)

// This file holds what the lock types share: the annotation helper, the
// monotonic clock of the starvation threshold, and the parked-goroutine
// record that mutexSema and notifyList queue.

// lockEvent writes one annotation about object x. Callers check
// wire.Enabled first, so that nothing is built while no trace is recorded.
func lockEvent(kind wire.Kind, x *wire.Ident, op wire.Op, seq uint64, n, depth int64) {
	wire.Emit(wire.Event{Kind: kind, Object: x.ID(), Op: op, Seq: seq, N: n, Depth: depth})
}

// lockEpoch anchors lockNanotime; time.Since reads the monotonic clock.
var lockEpoch = time.Now()

// lockNanotime returns monotonic nanoseconds since the package started.
func lockNanotime() int64 { return int64(time.Since(lockEpoch)) }

// A lockWaiter is one parked goroutine: it blocks receiving from ready
// until a releaser sends the one token it is owed. Waiters are pooled;
// a waiter returns to the pool only after it has received its token, so a
// pooled ready channel is always empty.
type lockWaiter struct {
	next    *lockWaiter
	ready   chan struct{} // capacity 1
	handoff bool          // mutexSema: the releaser acquired on the waiter's behalf
	ticket  uint64        // notifyList: the waiter's ticket
}

var lockWaiterPool = stdsync.Pool{
	New: func() any { return &lockWaiter{ready: make(chan struct{}, 1)} },
}

func getLockWaiter() *lockWaiter { return lockWaiterPool.Get().(*lockWaiter) }

func putLockWaiter(w *lockWaiter) {
	w.next, w.handoff, w.ticket = nil, false, 0
	lockWaiterPool.Put(w)
}
