// Package chans provides Chan, a channel that announces its sends, receives
// and close in execution traces, so that blockscope can pair each send with
// the receive of the same message and name the channel involved.
//
// A Chan[T] behaves as a chan T: Send and Recv block as the channel
// operations do, a buffered Chan is FIFO, sending on a closed Chan panics with
// "send on closed channel" and closing it twice with "close of closed
// channel", as the runtime does. For use in a select statement, SendChan and
// RecvChan expose the underlying channel, whose elements are Msg values; see
// Chan.Prepare and Chan.Received.
//
//	c := chans.Make[int](8)
//	go func() {
//		defer c.Close()
//		for i := range 3 {
//			c.Send(i)
//		}
//	}()
//	for v := range c.All() {
//		fmt.Println(v)
//	}
//
// # Synchronization
//
// In the terminology of the Go memory model, as for a plain channel: a send
// on a Chan synchronizes before the completion of the receive that gets its
// message; a Close synchronizes before a receive that returns because the
// Chan is closed; and for a Chan of capacity C, the k-th receive
// synchronizes before the completion of the (k+C)-th send (for an unbuffered
// Chan, a receive synchronizes before the completion of the send of the
// message it gets).
//
// # Annotations
//
// While a runtime/trace is being recorded, each Chan writes user log events
// of kind "chan" (see internal/wire). Every message carries an id K (1, 2,
// ...) given by its sender before the message enters the channel, and the
// receiver reports the id it finds in the message, so a send and the receive
// of the same message always carry the same K, however many goroutines send
// and receive at once:
//
//   - Send, TrySend and Prepare: wait SEQ=K n=1, written before the message
//     can enter the channel; it is the point from which the send happens
//     before the receive of message K. Then, when the message is in the
//     channel (for an unbuffered Chan, taken by a receiver), send SEQ=K n=C,
//     C being the capacity; or, when it was not sent (TrySend found the Chan
//     full, Unsent, or the send panicked on a closed Chan), cancel SEQ=K n=1.
//   - Recv and TryRecv: wait n=2 before the receive; then recv SEQ=K ref=R
//     n=C, where R is the receive number (1, 2, ...), or recv SEQ=0 n=C when
//     the receive returned because the Chan is closed (no R); or, when
//     TryRecv found nothing, cancel n=2. Received writes the same recv event,
//     with no wait before it.
//   - Close: close SEQ=M, M being the number of messages sent before it.
//
// Message ids can skip values: an id given to a send that did not happen
// while the trace was recorded has its cancel event. Receive numbers count
// the receives that got a message while the trace was recorded, in the order
// in which they completed, which is the channel's order except between
// receives that complete at the same moment in different goroutines.
//
// For the happens-before builder, the edges are:
//
//   - message K: the sender's wait SEQ=K happens before the recv SEQ=K
//     (always, and it precedes it in the trace; the send SEQ=K may come
//     after the recv);
//   - close: the close event happens before every recv SEQ=0;
//   - capacity C: the wait that the recv with ref=R ends happens before the
//     send event of the message that the recv with ref=R+C got. This is
//     exact for an unbuffered Chan (C=0: a receive happens before the
//     completion of the send of the very message it got) and whenever one
//     goroutine at a time receives; when receives race, the receive numbers
//     of receives that completed at the same moment may be swapped.
//
// Close's M is the number of ids given minus those of messages known not to
// have been sent; it is exact when every send happens before the Close, as a
// correct program ensures.
//
// What goes through SendChan and RecvChan is annotated only as far as the
// caller reports it with Prepare, Sent, Unsent and Received (see SendChan):
// best effort, not the exact record the methods give.
//
// When no trace is being recorded, a send costs one atomic add and a
// receive one atomic load beyond the channel operation.
package chans

import (
	"iter"
	"sync/atomic"

	"github.com/blockscope/blockscope/internal/wire"
)

// A Msg is a message as it travels through a Chan's underlying channel: a
// value and the id it was sent with. Make one with Chan.Prepare.
type Msg[T any] struct {
	seq uint64
	v   T
}

// Value returns the value the message carries.
func (m Msg[T]) Value() T { return m.v }

// A Chan is a channel of T values that announces its operations in
// execution traces. Make one with Make; the zero Chan, like a nil channel,
// blocks forever on Send and Recv. A Chan must not be copied after first
// use.
type Chan[T any] struct {
	ident wire.Ident

	c      chan Msg[T]
	sent   atomic.Uint64 // message ids given so far
	unsent atomic.Uint64 // ids given to messages that were never sent
	recvs  atomic.Uint64 // receive numbers given so far (while tracing)
	closed atomic.Bool
}

// Make returns a new Chan with room for capacity buffered values (0: an
// unbuffered Chan). It panics if capacity is negative.
func Make[T any](capacity int) *Chan[T] {
	return &Chan[T]{c: make(chan Msg[T], capacity)}
}

// SetName gives the Chan a name under which blockscope reports it. The name
// is written into the execution trace being recorded, if any, so call
// SetName after the trace has started.
func (c *Chan[T]) SetName(name string) {
	c.ident.Name(wire.KindChan, name)
}

// Len returns the number of values buffered in the Chan.
func (c *Chan[T]) Len() int { return len(c.c) }

// Cap returns the capacity of the Chan.
func (c *Chan[T]) Cap() int { return cap(c.c) }

// Send sends v on the Chan, blocking until there is room in the buffer or,
// for an unbuffered Chan, until a receiver takes it. Send panics if the Chan
// is closed.
//
// Send writes a wait event, then a send event (see the package
// documentation).
func (c *Chan[T]) Send(v T) {
	m := Msg[T]{c.sent.Add(1), v}
	if !wire.Enabled() {
		c.c <- m
		return
	}
	c.emit(wire.OpWait, m.seq, 1, 0)
	finished := false
	defer c.unsentOnPanic(m, &finished)
	c.c <- m
	finished = true
	c.Sent(m)
}

// TrySend sends v on the Chan if it can do so without blocking, and reports
// whether it did. TrySend panics if the Chan is closed.
//
// TrySend writes a wait event, then a send event if it sent v and a cancel
// event if not (see the package documentation).
func (c *Chan[T]) TrySend(v T) bool {
	m := Msg[T]{c.sent.Add(1), v}
	if !wire.Enabled() {
		select {
		case c.c <- m:
			return true
		default:
			c.unsent.Add(1)
			return false
		}
	}
	c.emit(wire.OpWait, m.seq, 1, 0)
	finished, sent := false, false
	defer c.unsentOnPanic(m, &finished)
	select {
	case c.c <- m:
		sent = true
	default:
	}
	finished = true
	if sent {
		c.Sent(m)
	} else {
		c.Unsent(m)
	}
	return sent
}

// unsentOnPanic, deferred by a traced send, closes the send's wait with a
// cancel event when the send did not finish: it panicked because the Chan
// was closed. The panic goes on unchanged.
func (c *Chan[T]) unsentOnPanic(m Msg[T], finished *bool) {
	if !*finished {
		c.Unsent(m)
	}
}

// Recv receives a value from the Chan, blocking until one is available. The
// boolean is false, and the value the zero T, when the receive returned
// because the Chan is closed and drained.
//
// Recv writes a wait event, then a recv event (see the package
// documentation).
func (c *Chan[T]) Recv() (T, bool) {
	if !wire.Enabled() {
		m, ok := <-c.c
		return m.v, ok
	}
	c.emit(wire.OpWait, 0, 2, 0)
	m, ok := <-c.c
	return c.Received(m, ok)
}

// TryRecv receives a value from the Chan if one is available without
// blocking, and reports whether it did. It returns the zero T and false both
// when the Chan is empty and when it is closed and drained; Recv, or a
// select on RecvChan, tells the two apart.
//
// TryRecv writes a wait event, then a recv event if it received a value or
// found the Chan closed and a cancel event if it found the Chan empty (see the
// package documentation).
func (c *Chan[T]) TryRecv() (T, bool) {
	if !wire.Enabled() {
		select {
		case m, ok := <-c.c:
			return m.v, ok
		default:
			var zero T
			return zero, false
		}
	}
	c.emit(wire.OpWait, 0, 2, 0)
	select {
	case m, ok := <-c.c:
		return c.Received(m, ok)
	default:
		if wire.Enabled() {
			c.emit(wire.OpCancel, 0, 2, 0)
		}
		var zero T
		return zero, false
	}
}

// Close closes the Chan: receivers get the values still buffered, then the
// zero T and false. Close panics if the Chan is already closed.
//
// Close writes a close event (see the package documentation).
func (c *Chan[T]) Close() {
	if c.c == nil || c.closed.Swap(true) {
		close(c.c) // panics, as closing a nil or closed channel does
	}
	if wire.Enabled() {
		c.emit(wire.OpClose, c.sent.Load()-c.unsent.Load(), 0, 0)
	}
	close(c.c)
}

// All returns an iterator over the values received from the Chan until it
// is closed and drained: for v := range c.All() is for v := range ch.
func (c *Chan[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		for {
			v, ok := c.Recv()
			if !ok || !yield(v) {
				return
			}
		}
	}
}

// SendChan returns the Chan's underlying channel, for a send in a select
// statement. Send only messages made by Prepare, and report the outcome with
// Sent or Unsent:
//
//	m := c.Prepare(v)
//	select {
//	case c.SendChan() <- m:
//		c.Sent(m)
//	case <-ctx.Done():
//		c.Unsent(m)
//	}
//
// The annotations are then those of TrySend. A send that is not reported
// leaves blockscope believing the sender still waits.
func (c *Chan[T]) SendChan() chan<- Msg[T] { return c.c }

// RecvChan returns the Chan's underlying channel, for a receive in a select
// statement. Pass what a receive gets to Received, which annotates it and
// unwraps the value:
//
//	select {
//	case m, ok := <-c.RecvChan():
//		v, ok := c.Received(m, ok)
//		...
//	case <-ctx.Done():
//	}
//
// A select receive writes no wait event, so blockscope sees the receive but
// not the time spent waiting for it; and receives that are not passed to
// Received are not counted, which shifts the receive numbers (see the
// package documentation).
func (c *Chan[T]) RecvChan() <-chan Msg[T] { return c.c }

// Prepare returns a message carrying v and a fresh message id, for a send on
// SendChan, and writes the wait event of a send (see SendChan).
func (c *Chan[T]) Prepare(v T) Msg[T] {
	m := Msg[T]{c.sent.Add(1), v}
	if wire.Enabled() {
		c.emit(wire.OpWait, m.seq, 1, 0)
	}
	return m
}

// Sent reports that m, made by Prepare, was sent on SendChan: it writes the
// send event.
func (c *Chan[T]) Sent(m Msg[T]) {
	if wire.Enabled() && m.seq != 0 {
		c.emit(wire.OpSend, m.seq, int64(cap(c.c)), 0)
	}
}

// Unsent reports that m, made by Prepare, was not sent after all: it writes
// a cancel event.
func (c *Chan[T]) Unsent(m Msg[T]) {
	c.unsent.Add(1)
	if wire.Enabled() && m.seq != 0 {
		c.emit(wire.OpCancel, m.seq, 1, 0)
	}
}

// Received annotates a receive from RecvChan that got m and ok, and returns
// the value and ok as a receive from a chan T would have.
func (c *Chan[T]) Received(m Msg[T], ok bool) (T, bool) {
	if wire.Enabled() {
		if !ok {
			c.emit(wire.OpRecv, 0, int64(cap(c.c)), 0)
		} else if r := c.recvs.Add(1); m.seq != 0 {
			// A message with no id (a zero Msg sent on SendChan) takes its
			// place in the receive numbers but cannot be paired.
			c.emit(wire.OpRecv, m.seq, int64(cap(c.c)), r)
		}
	}
	return m.v, ok
}

// emit writes one annotation about c. Callers check wire.Enabled first.
func (c *Chan[T]) emit(op wire.Op, seq uint64, n int64, ref uint64) {
	wire.Emit(wire.Event{Kind: wire.KindChan, Object: c.ident.ID(), Op: op, Seq: seq, N: n, Ref: ref})
}
