package sync

import (
	"sync/atomic"

	"github.com/blockscope/blockscope/internal/wire"
)

// A RWMutex is a reader/writer mutual exclusion lock.
// The lock can be held by an arbitrary number of readers or a single writer.
// The zero value for a RWMutex is an unlocked mutex.
//
// A RWMutex must not be copied after first use.
//
// If any goroutine calls [RWMutex.Lock] while the lock is already held by
// one or more readers, concurrent calls to [RWMutex.RLock] will block until
// the writer has acquired (and released) the lock, to ensure that
// the lock eventually becomes available to the writer.
// Note that this prohibits recursive read-locking.
// A [RWMutex.RLock] cannot be upgraded into a [RWMutex.Lock],
// nor can a [RWMutex.Lock] be downgraded into a [RWMutex.RLock].
//
// In the terminology of [the Go memory model],
// the n'th call to [RWMutex.Unlock] “synchronizes before” the m'th call to Lock
// for any n < m, just as for [Mutex].
// For any call to RLock, there exists an n such that
// the n'th call to Unlock “synchronizes before” that call to RLock,
// and the corresponding call to [RWMutex.RUnlock] “synchronizes before”
// the n+1'th call to Lock.
//
// Writers exclude each other with the same lock as [Mutex] (normal and
// starvation modes included); a writer then waits for the readers already
// inside to leave, while readers arriving after it wait for its Unlock.
//
// While a runtime/trace is being recorded, every operation is annotated
// (see internal/wire, kind "rwmutex"). The write lock's acquisition number
// g (1, 2, ...) is the SEQ that pairs the operations: Unlock g happens
// before Lock g+1 and before every RLock carrying SEQ g, and each RUnlock
// carrying SEQ g happens before Lock g+1.
//
// [the Go memory model]: https://go.dev/ref/mem
type RWMutex struct {
	_           noCopy
	w           Mutex        // held if there are pending writers; its own annotations unused
	writerSem   mutexSema    // for the writer to wait for departing readers
	readerSem   mutexSema    // for readers to wait for the writer to finish
	readerCount atomic.Int32 // number of pending readers; negative while a writer is pending
	readerWait  atomic.Int32 // number of departing readers a writer waits for
	g           uint64       // write acquisition number; written only by the writer
	ident       wire.Ident
}

// rwmutexMaxReaders is subtracted from readerCount to announce a writer.
const rwmutexMaxReaders = 1 << 30

// RLock locks rw for reading.
//
// It should not be used for recursive read locking; a blocked Lock
// call excludes new readers from acquiring the lock. See the
// documentation on the [RWMutex] type.
//
// Annotations: rlock(SEQ=g of the last write Unlock, 0 if none), preceded
// by wait(n=1) if the reader has to wait for a writer.
func (rw *RWMutex) RLock() {
	if r := rw.readerCount.Add(1); r < 0 || wire.Enabled() {
		rw.rlockSlow(r)
	}
}

// rlockSlow completes RLock: it waits for a pending writer if r, the
// reader count after this reader's arrival, is negative, and annotates.
func (rw *RWMutex) rlockSlow(r int32) {
	if r < 0 {
		// A writer is pending: wait for it.
		if wire.Enabled() {
			lockEvent(wire.KindRWMutex, &rw.ident, wire.OpWait, 0, 1, 0)
		}
		rw.readerSem.acquire(false)
	}
	if wire.Enabled() {
		// No writer can change g while a reader is inside.
		lockEvent(wire.KindRWMutex, &rw.ident, wire.OpRLock, rw.g, 0, 0)
	}
}

// TryRLock tries to lock rw for reading and reports whether it succeeded.
// A successful TryRLock emits rlock(SEQ=g of the last write Unlock); a
// failed one emits nothing.
//
// Note that while correct uses of TryRLock do exist, they are rare,
// and use of TryRLock is often a sign of a deeper problem
// in a particular use of mutexes.
func (rw *RWMutex) TryRLock() bool {
	for {
		c := rw.readerCount.Load()
		if c < 0 {
			return false
		}
		if rw.readerCount.CompareAndSwap(c, c+1) {
			if wire.Enabled() {
				lockEvent(wire.KindRWMutex, &rw.ident, wire.OpRLock, rw.g, 0, 0)
			}
			return true
		}
	}
}

// RUnlock undoes a single [RWMutex.RLock] call;
// it does not affect other simultaneous readers.
// It is a run-time error if rw is not locked for reading
// on entry to RUnlock: as in the standard library, a fatal error
// "sync: RUnlock of unlocked RWMutex" that recover cannot catch.
//
// Annotations: runlock(SEQ=the g its RLock carried), written before the
// read lock is released.
func (rw *RWMutex) RUnlock() {
	var r int32
	traced := wire.Enabled()
	if !traced {
		if r = rw.readerCount.Add(-1); r >= 0 {
			return
		}
	}
	rw.rUnlockSlow(r, traced)
}

// rUnlockSlow completes RUnlock. If traced, the reader has not left yet:
// it annotates and leaves; otherwise r is the reader count it left.
func (rw *RWMutex) rUnlockSlow(r int32, traced bool) {
	if traced {
		if c := rw.readerCount.Load(); c == 0 || c == -rwmutexMaxReaders {
			fatal("sync: RUnlock of unlocked RWMutex")
		}
		lockEvent(wire.KindRWMutex, &rw.ident, wire.OpRUnlock, rw.g, 0, 0)
		if r = rw.readerCount.Add(-1); r >= 0 {
			return
		}
	}
	if r+1 == 0 || r+1 == -rwmutexMaxReaders {
		rw.readerCount.Add(1) // undo, for a recovered panic
		fatal("sync: RUnlock of unlocked RWMutex")
	}
	// A writer is pending: the last departing reader lets it in.
	if rw.readerWait.Add(-1) == 0 {
		rw.writerSem.release(false)
	}
}

// Lock locks rw for writing.
// If the lock is already locked for reading or writing,
// Lock blocks until the lock is available.
//
// Annotations: lock(SEQ=g), preceded, if the writer has to wait for
// another writer or for readers, by wait(depth=queued writers including
// this one). The writers' lock may also emit starve and normal, as
// [Mutex.Lock] does.
func (rw *RWMutex) Lock() {
	waited := false
	// First, resolve competition with other writers.
	if !atomic.CompareAndSwapInt32(&rw.w.state, 0, mutexLocked) {
		if wire.Enabled() {
			lockEvent(wire.KindRWMutex, &rw.ident, wire.OpWait, 0, 0, rw.w.waiters()+1)
		}
		waited = true
		rw.w.acquireSlow(&rw.ident, wire.KindRWMutex)
	}
	// Announce to readers there is a pending writer.
	r := rw.readerCount.Add(-rwmutexMaxReaders) + rwmutexMaxReaders
	// Wait for active readers.
	if r != 0 && rw.readerWait.Add(r) != 0 {
		if !waited && wire.Enabled() {
			lockEvent(wire.KindRWMutex, &rw.ident, wire.OpWait, 0, 0, 1)
		}
		rw.writerSem.acquire(false)
	}
	rw.g++
	if wire.Enabled() {
		lockEvent(wire.KindRWMutex, &rw.ident, wire.OpLock, rw.g, 0, 0)
	}
}

// TryLock tries to lock rw for writing and reports whether it succeeded.
// A successful TryLock emits lock(SEQ=g); a failed one emits nothing.
//
// Note that while correct uses of TryLock do exist, they are rare,
// and use of TryLock is often a sign of a deeper problem
// in a particular use of mutexes.
func (rw *RWMutex) TryLock() bool {
	if !rw.w.tryAcquire() {
		return false
	}
	if !rw.readerCount.CompareAndSwap(0, -rwmutexMaxReaders) {
		rw.w.release()
		return false
	}
	rw.g++
	if wire.Enabled() {
		lockEvent(wire.KindRWMutex, &rw.ident, wire.OpLock, rw.g, 0, 0)
	}
	return true
}

// Unlock unlocks rw for writing. It is a run-time error if rw is
// not locked for writing on entry to Unlock: as in the standard library,
// a fatal error "sync: Unlock of unlocked RWMutex" that recover cannot
// catch.
//
// As with Mutexes, a locked [RWMutex] is not associated with a particular
// goroutine. One goroutine may [RWMutex.RLock] ([RWMutex.Lock]) a RWMutex and then
// arrange for another goroutine to [RWMutex.RUnlock] ([RWMutex.Unlock]) it.
//
// Annotations: unlock(SEQ=g of the Lock it releases), written before the
// lock is released.
func (rw *RWMutex) Unlock() {
	if wire.Enabled() {
		if rw.readerCount.Load() >= 0 {
			fatal("sync: Unlock of unlocked RWMutex")
		}
		lockEvent(wire.KindRWMutex, &rw.ident, wire.OpUnlock, rw.g, 0, 0)
	}
	// Announce to readers there is no active writer.
	r := rw.readerCount.Add(rwmutexMaxReaders)
	if r >= rwmutexMaxReaders {
		rw.readerCount.Add(-rwmutexMaxReaders) // undo, for a recovered panic
		fatal("sync: Unlock of unlocked RWMutex")
	}
	// Unblock the readers that arrived while the writer was pending.
	for i := 0; i < int(r); i++ {
		rw.readerSem.release(false)
	}
	// Allow other writers to proceed.
	rw.w.release()
}

// RLocker returns a [Locker] interface that implements
// the [Locker.Lock] and [Locker.Unlock] methods by calling rw.RLock and rw.RUnlock.
func (rw *RWMutex) RLocker() Locker {
	return (*rlocker)(rw)
}

// SetName names rw in execution traces: it emits name(key=name) if a trace
// is being recorded. It is not part of the standard library's API.
func (rw *RWMutex) SetName(name string) { rw.ident.Name(wire.KindRWMutex, name) }

type rlocker RWMutex

func (r *rlocker) Lock()   { (*RWMutex)(r).RLock() }
func (r *rlocker) Unlock() { (*RWMutex)(r).RUnlock() }
