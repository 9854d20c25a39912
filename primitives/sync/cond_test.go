package sync

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"
)

// startCondWaiters starts n goroutines that each wait on c once and then
// report their index on woke, after unlocking c.L. They take their tickets
// in index order: each is started only after the previous one has taken
// its ticket.
func startCondWaiters(t *testing.T, c *Cond, n int, woke chan<- int) {
	t.Helper()
	for i := range n {
		before := c.notify.tickets.Load()
		go func() {
			c.L.Lock()
			c.Wait()
			c.L.Unlock()
			woke <- i
		}()
		pollLocks(t, fmt.Sprintf("waiter %d to take its ticket", i), func() bool { return c.notify.tickets.Load() == before+1 })
	}
}

func TestCondSignalFIFO(t *testing.T) {
	for _, l := range []struct {
		name string
		l    Locker
	}{
		{"Mutex", new(Mutex)},
		{"RWMutex", new(RWMutex)},
		{"RLocker", new(RWMutex).RLocker()},
		{"ReentrantMutex", new(ReentrantMutex)},
	} {
		t.Run(l.name, func(t *testing.T) {
			c := NewCond(l.l)
			const n = 5
			woke := make(chan int, n)
			startCondWaiters(t, c, n, woke)
			for want := range n {
				c.Signal()
				if got := recvLocks(t, "a signalled waiter", woke); got != want {
					t.Fatalf("Signal %d woke waiter %d; want %d (FIFO)", want+1, got, want)
				}
			}
			select {
			case i := <-woke:
				t.Fatalf("waiter %d woke without a Signal", i)
			default:
			}
		})
	}
}

func TestCondBroadcast(t *testing.T) {
	c := NewCond(new(Mutex))
	const n = 8
	woke := make(chan int, n)
	startCondWaiters(t, c, n, woke)
	c.Broadcast()
	seen := make(map[int]bool)
	for range n {
		seen[recvLocks(t, "the broadcast waiters", woke)] = true
	}
	if len(seen) != n {
		t.Fatalf("Broadcast woke %d distinct waiters; want %d", len(seen), n)
	}
	// A second round: Broadcast wakes only those waiting at the time.
	startCondWaiters(t, c, 2, woke)
	c.Broadcast()
	recvLocks(t, "the second broadcast", woke)
	recvLocks(t, "the second broadcast", woke)
}

// TestCondSignalBeforeWaitIsLost checks that a Signal or Broadcast with no
// waiter is not remembered: a later Wait still needs one of its own.
func TestCondSignalBeforeWaitIsLost(t *testing.T) {
	c := NewCond(new(Mutex))
	c.Signal()
	c.Broadcast()
	woke := make(chan int, 1)
	startCondWaiters(t, c, 1, woke)
	runtime.Gosched()
	select {
	case <-woke:
		t.Fatal("Wait returned for a Signal made before it")
	default:
	}
	c.Signal()
	recvLocks(t, "the signalled waiter", woke)
}

// TestCondSignalStealing is sync's: a Signal sent while the waiter is
// between taking its ticket and parking must not be lost.
func TestCondSignalStealing(t *testing.T) {
	for range 300 {
		var m Mutex
		c := NewCond(&m)
		ready := make(chan struct{})
		done := make(chan struct{})
		go func() {
			m.Lock()
			close(ready)
			c.Wait()
			m.Unlock()
			close(done)
		}()
		<-ready
		m.Lock() // the waiter has its ticket and has unlocked m
		m.Unlock()
		c.Signal()
		recvLocks(t, "the waiter signalled before it parked", done)
	}
}

func TestCondCopyPanics(t *testing.T) {
	c := Cond{L: new(Mutex)}
	c.Signal()
	var c2 Cond
	reflect.ValueOf(&c2).Elem().Set(reflect.ValueOf(&c).Elem()) // c2 := c, hidden from vet
	const want = "sync.Cond is copied"
	for _, op := range []struct {
		name string
		f    func()
	}{
		{"Signal", c2.Signal},
		{"Broadcast", c2.Broadcast},
		{"Wait", c2.Wait},
	} {
		if got := lockPanic(op.f); got != want {
			t.Errorf("%s on a copied Cond panicked with %v; want %q", op.name, got, want)
		}
	}
	// The original is unaffected.
	if got := lockPanic(c.Signal); got != nil {
		t.Errorf("Signal on the original Cond panicked with %v; want none", got)
	}
}

func TestCondStress(t *testing.T) {
	// A bounded queue with producers and consumers, one Cond per side.
	var mu Mutex
	notEmpty, notFull := NewCond(&mu), NewCond(&mu)
	var queue []int
	const producers, consumers, items, capacity = 3, 3, 2000, 4
	sum := make(chan int, consumers)
	for p := range producers {
		go func() {
			for i := 1; i <= items; i++ {
				mu.Lock()
				for len(queue) == capacity {
					notFull.Wait()
				}
				queue = append(queue, p*items+i)
				if i%3 == 0 {
					notEmpty.Broadcast()
				} else {
					notEmpty.Signal()
				}
				mu.Unlock()
			}
		}()
	}
	for c := range consumers {
		go func() {
			s := 0
			for i := c; i < producers*items; i += consumers {
				mu.Lock()
				for len(queue) == 0 {
					notEmpty.Wait()
				}
				s += queue[0]
				queue = queue[1:]
				notFull.Signal()
				mu.Unlock()
			}
			sum <- s
		}()
	}
	total := 0
	for range consumers {
		total += recvLocks(t, "the consumers", sum)
	}
	n := producers * items
	if want := n * (n + 1) / 2; total != want {
		t.Fatalf("consumers summed %d; want %d", total, want)
	}
}
