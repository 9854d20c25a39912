package sync

import (
	"runtime"
	"runtime/trace"
	"sync/atomic"

	"github.com/blockscope/blockscope/internal/wire"
)

// A Mutex is a mutual exclusion lock.
// The zero value for a Mutex is an unlocked mutex.
//
// A Mutex must not be copied after first use.
//
// In the terminology of [the Go memory model],
// the n'th call to [Mutex.Unlock] “synchronizes before” the m'th call to [Mutex.Lock]
// for any n < m: for any sync.Mutex or sync.RWMutex variable l and n < m,
// call n of l.Unlock() is synchronized before call m of l.Lock() returns.
// A successful call to [Mutex.TryLock] is equivalent to a call to Lock.
// A failed call to TryLock does not establish any “synchronizes before”
// relation at all.
//
// Mutex is built as the standard library's is: a state word holding a
// locked bit, a woken bit, a starving bit and a waiter count, acquired by
// compare-and-swap on the fast path; waiters spin briefly and then park
// (on channels) in a FIFO queue. In normal mode a woken waiter competes
// with newly arriving goroutines, which usually win since they are already
// running. A waiter that has waited more than 1 ms switches the mutex to
// starvation mode, in which Unlock hands the mutex directly to the waiter
// at the head of the queue and new arrivals queue at its tail; the mutex
// returns to normal mode when a waiter that acquires it is the last one or
// waited less than 1 ms. [Mutex.Waiters], [Mutex.Locked] and
// [Mutex.Starving] expose this state.
//
// While a runtime/trace is being recorded, every acquisition and release
// is annotated (see internal/wire, kind "mutex"); the lock's acquisition
// number g (1, 2, ...) is the SEQ that pairs Unlock g with Lock g+1. To
// keep the fast path free of it, g counts only the acquisitions made while
// a trace is being recorded: a trace that starts with the program numbers
// every acquisition, and a later one continues from where the previous
// trace of the same mutex left off.
//
// [the Go memory model]: https://go.dev/ref/mem
type Mutex struct {
	_     noCopy
	state int32 // mutexLocked | mutexWoken | mutexStarving | waiters<<mutexWaiterShift
	sema  mutexSema
	g     uint64 // acquisitions made while tracing; written and read only by the holder
	ident wire.Ident
}

// Lock locks m.
// If the lock is already in use, the calling goroutine
// blocks until the mutex is available.
//
// Annotations: an uncontended Lock emits lock(SEQ=g); one that has to wait
// emits wait(depth=waiters including this one) when it starts waiting, even
// if it only spins, then lock(SEQ=g). A waiter that switches the mutex to
// starvation mode emits starve(depth=waiters), and one that switches it
// back emits normal(depth=waiters).
func (m *Mutex) Lock() {
	// Fast path: grab an unlocked mutex, unless a trace is being recorded
	// (trace.IsEnabled is wire.Enabled, spelled out to fit the inlining
	// budget). Everything else is in one outlined call, so that Lock
	// inlines.
	if trace.IsEnabled() || !atomic.CompareAndSwapInt32(&m.state, 0, mutexLocked) {
		m.lockSlow()
	}
}

// lockSlow completes Lock when the fast path did not take the mutex: it
// acquires it, then numbers and annotates the acquisition.
func (m *Mutex) lockSlow() {
	if !atomic.CompareAndSwapInt32(&m.state, 0, mutexLocked) {
		if wire.Enabled() {
			lockEvent(wire.KindMutex, &m.ident, wire.OpWait, 0, 0, m.waiters()+1)
		}
		m.acquireSlow(&m.ident, wire.KindMutex)
	}
	m.traceLock()
}

// traceLock numbers and annotates an acquisition, if a trace is being
// recorded.
func (m *Mutex) traceLock() {
	if wire.Enabled() {
		m.g++
		lockEvent(wire.KindMutex, &m.ident, wire.OpLock, m.g, 0, 0)
	}
}

// TryLock tries to lock m and reports whether it succeeded.
// A successful TryLock emits lock(SEQ=g); a failed one emits nothing.
//
// Note that while correct uses of TryLock do exist, they are rare,
// and use of TryLock is often a sign of a deeper problem
// in a particular use of mutexes.
func (m *Mutex) TryLock() bool {
	if !m.tryAcquire() {
		return false
	}
	m.traceLock()
	return true
}

// Unlock unlocks m.
// It is a run-time error if m is not locked on entry to Unlock: as in the
// standard library, a fatal error "sync: unlock of unlocked mutex" that
// recover cannot catch.
//
// A locked [Mutex] is not associated with a particular goroutine.
// It is allowed for one goroutine to lock a Mutex and then
// arrange for another goroutine to unlock it.
//
// Annotations: unlock(SEQ=g of the Lock it releases), written before the
// mutex is released.
func (m *Mutex) Unlock() {
	// Fast path: drop the lock bit, unless a trace is being recorded
	// (trace.IsEnabled is wire.Enabled, spelled out to fit the inlining
	// budget, as in Lock). One outlined call for the rest.
	var new int32
	if !trace.IsEnabled() {
		if new = atomic.AddInt32(&m.state, -mutexLocked); new == 0 {
			return
		}
	}
	m.unlockSlow(new)
}

// unlockSlow completes Unlock. new is the state Unlock's fast path left,
// or 0 if a trace is being recorded: then the lock bit is still set, and
// the release is annotated before it is dropped.
func (m *Mutex) unlockSlow(new int32) {
	if new == 0 {
		if atomic.LoadInt32(&m.state)&mutexLocked == 0 {
			fatal("sync: unlock of unlocked mutex")
		}
		lockEvent(wire.KindMutex, &m.ident, wire.OpUnlock, m.g, 0, 0)
		if new = atomic.AddInt32(&m.state, -mutexLocked); new == 0 {
			return
		}
	}
	m.releaseSlow(new)
}

// Waiters returns the number of goroutines queued in Lock, as of some
// moment during the call. A waiter that has been woken and is competing
// for the mutex again is not counted until it queues again.
func (m *Mutex) Waiters() int { return int(m.waiters()) }

// Locked reports whether m is held, as of some moment during the call. In
// starvation mode a mutex being handed from one goroutine to the next
// counts as held.
func (m *Mutex) Locked() bool {
	return atomic.LoadInt32(&m.state)&(mutexLocked|mutexStarving) != 0
}

// Starving reports whether m is in starvation mode, as of some moment
// during the call.
func (m *Mutex) Starving() bool {
	return atomic.LoadInt32(&m.state)&mutexStarving != 0
}

// SetName names m in execution traces: it emits name(key=name) if a trace
// is being recorded. It is not part of the standard library's API.
func (m *Mutex) SetName(name string) { m.ident.Name(wire.KindMutex, name) }

const (
	mutexLocked      = 1 << iota // mutex is locked
	mutexWoken                   // a goroutine is awake and competing: Unlock need not wake another
	mutexStarving                // ownership is handed off in FIFO order
	mutexWaiterShift = iota      // the waiter count is state >> mutexWaiterShift

	// starvationThresholdNs is how long a waiter waits before it switches
	// the mutex to starvation mode.
	starvationThresholdNs = 1e6

	// Spinning: a waiter spins at most mutexSpinRounds times before it
	// parks, each round polling the state up to mutexSpinPolls times (the
	// standard library pauses 30 times per round). The runtime-internal
	// spin checks of sync.Mutex (other processors running, an empty run
	// queue) are not available to us; spinning only where two goroutines
	// can run at once is the part we can check.
	mutexSpinRounds = 4
	mutexSpinPolls  = 30
)

// multicore reports whether spinning can help: a spinning waiter can only
// see the mutex released by a holder running on another core at the same
// time. GOMAXPROCS is read once, at start-up: reading it again takes a
// scheduler lock.
var multicore = runtime.NumCPU() > 1 && runtime.GOMAXPROCS(0) > 1

// The lock itself, without annotations of its own, is shared by Mutex,
// RWMutex (its writers' lock) and ReentrantMutex: those acquire and release
// their inner Mutex with the methods below and annotate as their kinds.

func (m *Mutex) waiters() int64 {
	return int64(atomic.LoadInt32(&m.state) >> mutexWaiterShift)
}

// tryAcquire is TryLock without annotations.
func (m *Mutex) tryAcquire() bool {
	old := atomic.LoadInt32(&m.state)
	if old&(mutexLocked|mutexStarving) != 0 {
		return false
	}
	// There may be a goroutine waiting for the mutex, but we are running
	// now and can try to grab the mutex before that goroutine wakes up.
	return atomic.CompareAndSwapInt32(&m.state, old, old|mutexLocked)
}

// release is Unlock without annotations.
func (m *Mutex) release() {
	if new := atomic.AddInt32(&m.state, -mutexLocked); new != 0 {
		m.releaseSlow(new)
	}
}

// acquireSlow acquires m after the fast path failed. If x is not nil,
// switches into and out of starvation mode are annotated as object x of
// the given kind.
func (m *Mutex) acquireSlow(x *wire.Ident, kind wire.Kind) {
	var waitStart int64
	starving := false
	awoke := false
	iter := 0
	old := atomic.LoadInt32(&m.state)
	for {
		// Don't spin in starvation mode: ownership is handed off to
		// waiters, so we could not acquire the mutex anyway.
		if old&(mutexLocked|mutexStarving) == mutexLocked && multicore && iter < mutexSpinRounds {
			// Set the woken flag, if nobody has, to tell Unlock not to
			// wake another waiter while we are about to take the mutex.
			if !awoke && old&mutexWoken == 0 && old>>mutexWaiterShift != 0 &&
				atomic.CompareAndSwapInt32(&m.state, old, old|mutexWoken) {
				awoke = true
			}
			for i := 0; i < mutexSpinPolls; i++ {
				if atomic.LoadInt32(&m.state)&mutexLocked == 0 {
					break
				}
			}
			iter++
			old = atomic.LoadInt32(&m.state)
			continue
		}
		new := old
		// Don't try to acquire a starving mutex: new arrivals must queue.
		if old&mutexStarving == 0 {
			new |= mutexLocked
		}
		if old&(mutexLocked|mutexStarving) != 0 {
			new += 1 << mutexWaiterShift
		}
		// Switch to starvation mode, but not if the mutex is unlocked:
		// Unlock expects a starving mutex to have waiters.
		if starving && old&mutexLocked != 0 {
			new |= mutexStarving
		}
		if awoke {
			// We were woken (or set the flag while spinning): reset it.
			if new&mutexWoken == 0 {
				panic("sync: inconsistent mutex state")
			}
			new &^= mutexWoken
		}
		if !atomic.CompareAndSwapInt32(&m.state, old, new) {
			old = atomic.LoadInt32(&m.state)
			continue
		}
		if old&(mutexLocked|mutexStarving) == 0 {
			break // locked the mutex with the CAS
		}
		if x != nil && new&mutexStarving != 0 && old&mutexStarving == 0 && wire.Enabled() {
			lockEvent(kind, x, wire.OpStarve, 0, 0, int64(new>>mutexWaiterShift))
		}
		// A waiter that has waited before requeues at the front.
		queueLIFO := waitStart != 0
		if waitStart == 0 {
			waitStart = lockNanotime()
		}
		m.sema.acquire(queueLIFO)
		starving = starving || lockNanotime()-waitStart > starvationThresholdNs
		old = atomic.LoadInt32(&m.state)
		if old&mutexStarving != 0 {
			// The mutex was handed to us, but the state still says it is
			// unlocked and counts us as a waiter. Fix that.
			if old&(mutexLocked|mutexWoken) != 0 || old>>mutexWaiterShift == 0 {
				panic("sync: inconsistent mutex state")
			}
			delta := int32(mutexLocked - 1<<mutexWaiterShift)
			normal := !starving || old>>mutexWaiterShift == 1
			if normal {
				// Leave starvation mode here, considering the wait time:
				// starvation mode is so inefficient that two goroutines
				// could go lock-step in it forever.
				delta -= mutexStarving
			}
			new = atomic.AddInt32(&m.state, delta)
			if x != nil && normal && wire.Enabled() {
				lockEvent(kind, x, wire.OpNormal, 0, 0, int64(new>>mutexWaiterShift))
			}
			break
		}
		awoke = true
		iter = 0
	}
}

// releaseSlow finishes a release whose fast path left state new != 0.
func (m *Mutex) releaseSlow(new int32) {
	if (new+mutexLocked)&mutexLocked == 0 {
		atomic.AddInt32(&m.state, mutexLocked) // undo, for a recovered panic
		fatal("sync: unlock of unlocked mutex")
	}
	if new&mutexStarving != 0 {
		// Starvation mode: hand the mutex to the next waiter. The lock
		// bit stays clear until it takes over, but the starving bit keeps
		// new arrivals out.
		m.sema.release(true)
		return
	}
	old := new
	for {
		// Nobody to wake, or a goroutine has already been woken or
		// grabbed the lock, or the mutex turned starving (then the
		// handoff is not ours to make): get out of the way.
		if old>>mutexWaiterShift == 0 || old&(mutexLocked|mutexWoken|mutexStarving) != 0 {
			return
		}
		// Grab the right to wake someone.
		new = (old - 1<<mutexWaiterShift) | mutexWoken
		if atomic.CompareAndSwapInt32(&m.state, old, new) {
			m.sema.release(false)
			return
		}
		old = atomic.LoadInt32(&m.state)
	}
}

// mutexSema is a counting semaphore with a queue of parked goroutines,
// modelled on the runtime semaphore beneath sync.Mutex: acquire takes a
// unit or parks; release adds a unit and wakes the head of the queue,
// which then competes for the unit, or, with handoff, receives it directly.
type mutexSema struct {
	count atomic.Uint32
	nwait atomic.Uint32 // queued waiters; changes only under lock
	lock  spinLock
	head  *lockWaiter
	tail  *lockWaiter
}

func (s *mutexSema) tryAcquire() bool {
	for {
		v := s.count.Load()
		if v == 0 {
			return false
		}
		if s.count.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

// acquire takes a unit, parking until one is released. A waiter queues at
// the tail, or at the head if lifo (a waiter requeueing after a wake).
func (s *mutexSema) acquire(lifo bool) {
	if s.tryAcquire() {
		return
	}
	w := getLockWaiter()
	defer putLockWaiter(w)
	for {
		s.lock.lock()
		// Count ourselves before the last try, so that a release either
		// sees us waiting or leaves the unit we take here.
		s.nwait.Add(1)
		if s.tryAcquire() {
			s.nwait.Add(^uint32(0))
			s.lock.unlock()
			return
		}
		w.handoff = false
		if lifo {
			w.next = s.head
			s.head = w
			if s.tail == nil {
				s.tail = w
			}
		} else {
			w.next = nil
			if s.tail == nil {
				s.head = w
			} else {
				s.tail.next = w
			}
			s.tail = w
		}
		s.lock.unlock()
		<-w.ready
		if w.handoff || s.tryAcquire() {
			return
		}
	}
}

// release adds a unit and wakes the first waiter, if any. With handoff,
// it takes the unit on the waiter's behalf and yields, so that the waiter
// can start running at once.
func (s *mutexSema) release(handoff bool) {
	s.count.Add(1)
	if s.nwait.Load() == 0 {
		return
	}
	s.lock.lock()
	if s.nwait.Load() == 0 {
		s.lock.unlock()
		return
	}
	w := s.head
	s.head = w.next
	if s.head == nil {
		s.tail = nil
	}
	w.next = nil
	s.nwait.Add(^uint32(0))
	s.lock.unlock()
	handedOff := handoff && s.tryAcquire()
	w.handoff = handedOff
	w.ready <- struct{}{}
	if handedOff {
		runtime.Gosched()
	}
}

// spinLock guards the short critical sections of the wait queues.
type spinLock struct{ v atomic.Uint32 }

func (l *spinLock) lock() {
	for i := 0; !l.v.CompareAndSwap(0, 1); i++ {
		if i >= 16 || !multicore {
			// The holder may have been preempted; let it run.
			runtime.Gosched()
		}
	}
}

func (l *spinLock) unlock() { l.v.Store(0) }
