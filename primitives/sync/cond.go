package sync

import (
	"sync/atomic"
	"unsafe"

	"github.com/blockscope/blockscope/internal/wire"
)

// Cond implements a condition variable, a rendezvous point
// for goroutines waiting for or announcing the occurrence
// of an event.
//
// Each Cond has an associated Locker L (often a [*Mutex] or [*RWMutex]),
// which must be held when changing the condition and
// when calling the [Cond.Wait] method.
//
// A Cond must not be copied after first use.
//
// In the terminology of [the Go memory model], Cond arranges that
// a call to [Cond.Broadcast] or [Cond.Signal] “synchronizes before” any Wait call
// that it unblocks.
//
// Waiters are served in FIFO order: each Wait takes a ticket (1, 2, ...),
// Signal wakes the lowest ticket not yet woken and Broadcast all of them.
// The ticket is the SEQ of the annotations (see internal/wire, kind
// "cond") that pair a Signal or Broadcast with the Waits it wakes.
//
// For many simple use cases, users will be better off using channels than a
// Cond (Broadcast corresponds to closing a channel, and Signal corresponds to
// sending on a channel).
//
// [the Go memory model]: https://go.dev/ref/mem
type Cond struct {
	_ noCopy

	// L is held while observing or changing the condition.
	L Locker

	notify  notifyList
	checker copyChecker
	ident   wire.Ident
}

// NewCond returns a new Cond with Locker l.
func NewCond(l Locker) *Cond {
	return &Cond{L: l}
}

// Wait atomically unlocks c.L and suspends execution
// of the calling goroutine. After later resuming execution,
// Wait locks c.L before returning. Unlike in other systems,
// Wait cannot return unless awoken by [Cond.Broadcast] or [Cond.Signal].
//
// Because c.L is not locked while Wait is waiting, the caller
// typically cannot assume that the condition is true when
// Wait returns. Instead, the caller should Wait in a loop:
//
//	c.L.Lock()
//	for !condition() {
//	    c.Wait()
//	}
//	... make use of condition ...
//	c.L.Unlock()
//
// Annotations: wait(SEQ=ticket, depth=waiters including this one) before
// c.L is unlocked, and wake(SEQ=ticket) after c.L is locked again, as Wait
// returns.
func (c *Cond) Wait() {
	c.checker.check()
	t := c.notify.add(c.annotated())
	c.L.Unlock()
	c.notify.wait(t)
	c.L.Lock()
	if wire.Enabled() {
		lockEvent(wire.KindCond, &c.ident, wire.OpWake, t, 0, 0)
	}
}

// Signal wakes one goroutine waiting on c, if there is any: the one that
// has waited longest.
//
// It is allowed but not required for the caller to hold c.L
// during the call.
//
// Signal() does not affect goroutine scheduling priority; if other goroutines
// are attempting to lock c.L, they may be awoken before a "waiting" goroutine.
//
// Annotations: signal(SEQ=the ticket it wakes, 0 if there was no waiter),
// written before the waiter is woken.
func (c *Cond) Signal() {
	c.checker.check()
	if w := c.notify.notifyOne(c.annotated()); w != nil {
		w.ready <- struct{}{}
	}
}

// Broadcast wakes all goroutines waiting on c.
//
// It is allowed but not required for the caller to hold c.L
// during the call.
//
// Annotations: broadcast(SEQ=the first ticket it wakes, n=how many; both 0
// if there was no waiter), written before the waiters are woken.
func (c *Cond) Broadcast() {
	c.checker.check()
	for ws := c.notify.notifyAll(c.annotated()); ws != nil; {
		next := ws.next
		ws.ready <- struct{}{}
		ws = next
	}
}

// annotated returns the Cond's identity if a trace is being recorded, for
// the notify list to annotate Signal and Broadcast with, and nil if not.
func (c *Cond) annotated() *wire.Ident {
	if wire.Enabled() {
		return &c.ident
	}
	return nil
}

// SetName names c in execution traces: it emits name(key=name) if a trace
// is being recorded. It is not part of the standard library's API.
func (c *Cond) SetName(name string) { c.ident.Name(wire.KindCond, name) }

// notifyList is a ticket-based list of waiters, as the runtime's is beneath
// sync.Cond. Wait takes a ticket before it unlocks c.L, so that a Signal
// after the unlock counts the waiter even if it has not parked yet; a
// ticket at or below notified is owed no more waiting.
type notifyList struct {
	tickets  atomic.Uint64 // the last ticket handed out (tickets start at 1)
	notified atomic.Uint64 // tickets up to this one have been notified; written under lock
	lock     spinLock
	head     *lockWaiter // parked waiters, in ticket order
	tail     *lockWaiter
}

// add hands out the next ticket. If x is not nil, it annotates the Wait as
// Cond x, under the lock, so that no Signal or Broadcast that counts the
// ticket can precede the annotation in the trace.
func (l *notifyList) add(x *wire.Ident) uint64 {
	if x == nil {
		return l.tickets.Add(1)
	}
	l.lock.lock()
	t := l.tickets.Add(1)
	lockEvent(wire.KindCond, x, wire.OpWait, t, 0, int64(t-l.notified.Load()))
	l.lock.unlock()
	return t
}

// wait parks until ticket t has been notified.
func (l *notifyList) wait(t uint64) {
	l.lock.lock()
	if t <= l.notified.Load() {
		l.lock.unlock()
		return
	}
	w := getLockWaiter()
	w.ticket = t
	// Tickets are taken outside the lock, so waiters can arrive out of
	// order; keep the list sorted so that Signal's search is short.
	if l.tail == nil || l.tail.ticket < t {
		if l.tail == nil {
			l.head = w
		} else {
			l.tail.next = w
		}
		l.tail = w
	} else {
		p := &l.head
		for (*p).ticket < t {
			p = &(*p).next
		}
		w.next = *p
		*p = w
	}
	l.lock.unlock()
	<-w.ready
	putLockWaiter(w)
}

// notifyOne notifies the oldest ticket not yet notified, if any, and
// returns its waiter if that has parked (nil if it has not yet: then its
// wait returns at once). The caller wakes the waiter. If x is not nil,
// notifyOne annotates the Signal as Cond x, before the ticket counts as
// notified, so that the waiter's wake cannot precede it in the trace.
func (l *notifyList) notifyOne(x *wire.Ident) *lockWaiter {
	// Fast path: no new waiters since the last notification.
	if l.tickets.Load() == l.notified.Load() {
		if x != nil {
			lockEvent(wire.KindCond, x, wire.OpSignal, 0, 0, 0)
		}
		return nil
	}
	l.lock.lock()
	t := l.notified.Load()
	if t == l.tickets.Load() {
		l.lock.unlock()
		if x != nil {
			lockEvent(wire.KindCond, x, wire.OpSignal, 0, 0, 0)
		}
		return nil
	}
	t++
	if x != nil {
		lockEvent(wire.KindCond, x, wire.OpSignal, t, 0, 0)
	}
	l.notified.Store(t)
	// The list holds only tickets above notified, in order: the waiter
	// for t, if it has parked, is the head.
	w := l.head
	if w != nil && w.ticket == t {
		if l.head = w.next; l.head == nil {
			l.tail = nil
		}
		w.next = nil
	} else {
		w = nil
	}
	l.lock.unlock()
	return w
}

// notifyAll notifies every ticket handed out so far and returns the parked
// waiters, linked through next; the caller wakes them. If x is not nil,
// notifyAll annotates the Broadcast as Cond x, before the tickets count as
// notified.
func (l *notifyList) notifyAll(x *wire.Ident) *lockWaiter {
	if l.tickets.Load() == l.notified.Load() {
		if x != nil {
			lockEvent(wire.KindCond, x, wire.OpBroadcast, 0, 0, 0)
		}
		return nil
	}
	l.lock.lock()
	last, notified := l.tickets.Load(), l.notified.Load()
	if x != nil {
		if last == notified {
			lockEvent(wire.KindCond, x, wire.OpBroadcast, 0, 0, 0)
		} else {
			lockEvent(wire.KindCond, x, wire.OpBroadcast, notified+1, int64(last-notified), 0)
		}
	}
	l.notified.Store(last)
	ws := l.head
	l.head, l.tail = nil, nil
	l.lock.unlock()
	return ws
}

// copyChecker holds a pointer to itself to detect a copy of the Cond, as
// sync.Cond's does.
type copyChecker uintptr

func (c *copyChecker) check() {
	self := uintptr(unsafe.Pointer(c))
	p := (*uintptr)(c)
	if v := atomic.LoadUintptr(p); v != self &&
		!atomic.CompareAndSwapUintptr(p, 0, self) &&
		atomic.LoadUintptr(p) != self {
		panic("sync.Cond is copied")
	}
}
