package chans_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/primitives/chans"
)

// channel is what both a Chan and the reference (a plain chan) offer.
type channel interface {
	Send(v int)
	TrySend(v int) bool
	Recv() (int, bool)
	TryRecv() (int, bool)
	Close()
	Len() int
	Cap() int
}

// plain is the reference: a chan int with the methods of a Chan.
type plain chan int

func (c plain) Send(v int)        { c <- v }
func (c plain) Recv() (int, bool) { v, ok := <-c; return v, ok }
func (c plain) Close()            { close(c) }
func (c plain) Len() int          { return len(c) }
func (c plain) Cap() int          { return cap(c) }
func (c plain) TrySend(v int) bool {
	select {
	case c <- v:
		return true
	default:
		return false
	}
}
func (c plain) TryRecv() (int, bool) {
	select {
	case v, ok := <-c:
		return v, ok
	default:
		return 0, false
	}
}

// impls makes a channel of each implementation with the given capacity.
var impls = []struct {
	name string
	make func(capacity int) channel
}{
	{"chans", func(n int) channel { return chans.Make[int](n) }},
	{"chan", func(n int) channel { return make(plain, n) }},
}

// catch runs f and returns what it panicked with, as a string ("" if it did
// not panic).
func catch(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// TestSameAsChan runs scripts of operations that never block on a Chan and
// on a plain channel and compares what each operation returned.
func TestSameAsChan(t *testing.T) {
	// Each op is applied to c and returns a description of its result.
	type op func(c channel) string
	send := func(v int) op { return func(c channel) string { return catch(func() { c.Send(v) }) } }
	trySend := func(v int) op {
		return func(c channel) string {
			var ok bool
			p := catch(func() { ok = c.TrySend(v) })
			return fmt.Sprintf("%v %s", ok, p)
		}
	}
	recv := func(c channel) string { v, ok := c.Recv(); return fmt.Sprint(v, ok) }
	tryRecv := func(c channel) string { v, ok := c.TryRecv(); return fmt.Sprint(v, ok) }
	closeOp := func(c channel) string { return catch(c.Close) }
	lenCap := func(c channel) string { return fmt.Sprint(c.Len(), c.Cap()) }

	tests := []struct {
		name     string
		capacity int
		ops      []op
	}{
		{"buffered FIFO", 3, []op{send(1), send(2), send(3), lenCap, recv, recv, send(4), recv, recv, lenCap}},
		{"full", 2, []op{trySend(1), trySend(2), trySend(3), lenCap, tryRecv, trySend(4), recv, recv, tryRecv}},
		{"unbuffered try", 0, []op{trySend(1), tryRecv, lenCap}},
		{"close drains", 3, []op{send(7), send(8), closeOp, lenCap, tryRecv, recv, recv, tryRecv, recv}},
		{"send on closed", 1, []op{closeOp, send(1), trySend(2), recv}},
		{"close twice", 1, []op{send(5), closeOp, closeOp, recv, recv}},
		{"unbuffered closed", 0, []op{closeOp, recv, tryRecv, lenCap}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var results [][]string
			for _, im := range impls {
				c := im.make(tt.capacity)
				var res []string
				for _, op := range tt.ops {
					res = append(res, op(c))
				}
				results = append(results, res)
			}
			if !slices.Equal(results[0], results[1]) {
				t.Errorf("%s: %q\n%s: %q (reference)", impls[0].name, results[0], impls[1].name, results[1])
			}
		})
	}
}

// TestBlocking checks that Send and Recv block and hand values over, in FIFO
// order, between goroutines, for several capacities.
func TestBlocking(t *testing.T) {
	for _, capacity := range []int{0, 1, 4} {
		t.Run(fmt.Sprintf("cap=%d", capacity), func(t *testing.T) {
			c := chans.Make[int](capacity)
			const n = 100
			go func() {
				for i := range n {
					c.Send(i)
				}
				c.Close()
			}()
			var got []int
			for v := range c.All() {
				got = append(got, v)
			}
			want := make([]int, n)
			for i := range want {
				want[i] = i
			}
			if !slices.Equal(got, want) {
				t.Errorf("received %v; want %v", got, want)
			}
		})
	}
}

// TestSendBlocksWhenFull checks that a Send on a full Chan waits for a
// receive.
func TestSendBlocksWhenFull(t *testing.T) {
	c := chans.Make[string](1)
	c.Send("a")
	done := make(chan struct{})
	go func() {
		c.Send("b")
		close(done)
	}()
	tracetest.WaitParked(t, 1, "(*Chan[...]).Send(", "chan send")
	select {
	case <-done:
		t.Fatal("Send on a full Chan returned before any receive")
	default:
	}
	if v, ok := c.Recv(); v != "a" || !ok {
		t.Errorf("Recv() = %q, %v; want %q, true", v, ok, "a")
	}
	<-done
	if v, ok := c.Recv(); v != "b" || !ok {
		t.Errorf("Recv() = %q, %v; want %q, true", v, ok, "b")
	}
}

// TestCloseWakesReceivers checks that Close releases every blocked Recv with
// the zero value and false.
func TestCloseWakesReceivers(t *testing.T) {
	c := chans.Make[int](0)
	type result struct {
		v  int
		ok bool
	}
	results := make(chan result, 3)
	for range 3 {
		go func() {
			v, ok := c.Recv()
			results <- result{v, ok}
		}()
	}
	tracetest.WaitParked(t, 1, "(*Chan[...]).Recv(", "chan receive")
	c.Close()
	for range 3 {
		if r := <-results; r != (result{0, false}) {
			t.Errorf("Recv() = %v, %v after Close; want 0, false", r.v, r.ok)
		}
	}
}

// TestZero checks that the zero Chan behaves as a nil channel.
func TestZero(t *testing.T) {
	var c chans.Chan[int]
	if c.Len() != 0 || c.Cap() != 0 {
		t.Errorf("Len(), Cap() = %d, %d; want 0, 0", c.Len(), c.Cap())
	}
	if ok := c.TrySend(1); ok {
		t.Errorf("TrySend(1) = true on the zero Chan; want false")
	}
	if v, ok := c.TryRecv(); ok {
		t.Errorf("TryRecv() = %v, true on the zero Chan; want 0, false", v)
	}
	var nilCh chan int
	want := catch(func() { close(nilCh) })
	if got := catch(c.Close); got != want {
		t.Errorf("Close() on the zero Chan panicked with %q; want %q", got, want)
	}
}

// TestSelect uses SendChan and RecvChan in select statements.
func TestSelect(t *testing.T) {
	c := chans.Make[int](1)
	never := make(chan struct{})
	closed := make(chan struct{})
	close(closed)

	// Room: the send case is taken.
	m := c.Prepare(1)
	select {
	case c.SendChan() <- m:
		c.Sent(m)
	case <-never:
		t.Fatal("select took the never-ready case")
	}
	// Full: the other case is taken.
	m = c.Prepare(2)
	select {
	case c.SendChan() <- m:
		t.Fatal("select sent on a full Chan")
	case <-closed:
		c.Unsent(m)
	}
	if m.Value() != 2 {
		t.Errorf("Prepare(2).Value() = %d; want 2", m.Value())
	}
	// A value waits: the receive case is taken.
	select {
	case m, ok := <-c.RecvChan():
		if v, ok := c.Received(m, ok); v != 1 || !ok {
			t.Errorf("Received() = %d, %v; want 1, true", v, ok)
		}
	case <-never:
		t.Fatal("select took the never-ready case")
	}
	// Closed: the receive case reports it.
	c.Close()
	select {
	case m, ok := <-c.RecvChan():
		if v, ok := c.Received(m, ok); v != 0 || ok {
			t.Errorf("Received() = %d, %v after Close; want 0, false", v, ok)
		}
	case <-never:
		t.Fatal("select took the never-ready case")
	}
}

// TestAllBreak checks that breaking out of a range over All leaves the
// remaining values in the Chan.
func TestAllBreak(t *testing.T) {
	c := chans.Make[int](4)
	for i := range 4 {
		c.Send(i)
	}
	for v := range c.All() {
		if v == 1 {
			break
		}
	}
	if c.Len() != 2 {
		t.Errorf("Len() = %d after taking 2 of 4 values; want 2", c.Len())
	}
}

// TestStress has several senders and receivers exchange many values, for
// the race detector: every value arrives exactly once.
func TestStress(t *testing.T) {
	for _, capacity := range []int{0, 3, 64} {
		t.Run(fmt.Sprintf("cap=%d", capacity), func(t *testing.T) {
			const senders, receivers, each = 4, 3, 500
			c := chans.Make[int](capacity)
			var wg sync.WaitGroup
			for s := range senders {
				wg.Go(func() {
					for i := range each {
						v := s*each + i
						if i%3 == 0 {
							for !c.TrySend(v) {
								runtime.Gosched()
							}
						} else {
							c.Send(v)
						}
					}
				})
			}
			got := make([][]int, receivers)
			var rwg sync.WaitGroup
			for r := range receivers {
				rwg.Go(func() {
					for {
						v, ok := c.TryRecv()
						if !ok {
							if v, ok = c.Recv(); !ok {
								return
							}
						}
						got[r] = append(got[r], v)
					}
				})
			}
			wg.Wait()
			c.Close()
			rwg.Wait()
			var all []int
			for _, g := range got {
				all = append(all, g...)
			}
			slices.Sort(all)
			if len(all) != senders*each {
				t.Fatalf("received %d values; want %d", len(all), senders*each)
			}
			for i, v := range all {
				if v != i {
					t.Fatalf("sorted received values[%d] = %d; want %d (lost or duplicated)", i, v, i)
				}
			}
			// One sender's values reach each receiver in the order sent.
			for r, g := range got {
				last := make([]int, senders)
				for i := range last {
					last[i] = -1
				}
				for _, v := range g {
					s := v / each
					if v <= last[s] {
						t.Fatalf("receiver %d got %d after %d from sender %d", r, v, last[s], s)
					}
					last[s] = v
				}
			}
		})
	}
}
