package sync

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

func TestRWMutexExclusion(t *testing.T) {
	// The write side alone is a mutex.
	for _, n := range []int{2, 10} {
		t.Run(fmt.Sprintf("goroutines=%d", n), func(t *testing.T) {
			hammerLocker(t, new(RWMutex), n, 2000)
		})
	}
}

// TestRWMutexParallelReaders is sync's TestParallelReaders: n readers must
// all be able to hold the read lock at once.
func TestRWMutexParallelReaders(t *testing.T) {
	for _, n := range []int{1, 3, 10} {
		t.Run(fmt.Sprintf("readers=%d", n), func(t *testing.T) {
			var rw RWMutex
			inside := make(chan struct{})
			leave := make(chan struct{})
			done := make(chan struct{})
			for range n {
				go func() {
					rw.RLock()
					inside <- struct{}{}
					<-leave
					rw.RUnlock()
					done <- struct{}{}
				}()
			}
			for range n {
				recvLocks(t, "every reader to hold the read lock at once", inside)
			}
			if rw.TryLock() {
				t.Fatal("TryLock while readers hold the lock = true; want false")
			}
			if !rw.TryRLock() {
				t.Fatal("TryRLock while only readers hold the lock = false; want true")
			}
			rw.RUnlock()
			close(leave)
			for range n {
				recvLocks(t, "the readers to leave", done)
			}
			if !rw.TryLock() {
				t.Fatal("TryLock after all readers left = false; want true")
			}
			rw.Unlock()
		})
	}
}

func TestRWMutexTry(t *testing.T) {
	var rw RWMutex
	steps := []struct {
		name string
		op   func() bool
		want bool
	}{
		{"TryLock of unlocked", rw.TryLock, true},
		{"TryLock of write-locked", rw.TryLock, false},
		{"TryRLock of write-locked", rw.TryRLock, false},
		{"Unlock, then TryRLock", func() bool { rw.Unlock(); return rw.TryRLock() }, true},
		{"TryRLock of read-locked", rw.TryRLock, true},
		{"TryLock of read-locked", rw.TryLock, false},
		{"RUnlock twice, then TryLock", func() bool { rw.RUnlock(); rw.RUnlock(); return rw.TryLock() }, true},
	}
	for _, s := range steps {
		if got := s.op(); got != s.want {
			t.Fatalf("%s = %v; want %v", s.name, got, s.want)
		}
	}
	rw.Unlock()
}

// TestRWMutexWriterPreference checks that a writer waiting for a reader
// keeps newly arriving readers out until it has had the lock.
func TestRWMutexWriterPreference(t *testing.T) {
	var rw RWMutex
	var events []string // appended while holding the lock in either mode; the lock orders the appends of the writer and the late reader
	var first atomic.Bool

	rw.RLock() // the reader already inside
	writerDone := make(chan struct{})
	go func() {
		rw.Lock()
		events = append(events, "writer")
		rw.Unlock()
		close(writerDone)
	}()
	// Wait until the writer has announced itself to readers.
	pollLocks(t, "the writer to wait for the reader", func() bool { return rw.readerCount.Load() < 0 })
	if rw.TryRLock() {
		t.Fatal("TryRLock with a writer waiting = true; want false")
	}
	lateDone := make(chan struct{})
	go func() {
		rw.RLock()
		if first.CompareAndSwap(false, true) {
			events = append(events, "late reader")
		}
		rw.RUnlock()
		close(lateDone)
	}()
	// The late reader must be queued behind the writer, not inside.
	pollLocks(t, "the late reader to wait for the writer", func() bool { return rw.readerSem.nwait.Load() == 1 || first.Load() })
	if first.Load() {
		t.Fatal("a reader arriving while a writer waits got the read lock before the writer")
	}
	rw.RUnlock() // lets the writer in, then the late reader
	recvLocks(t, "the writer", writerDone)
	recvLocks(t, "the late reader", lateDone)
	if want := []string{"writer", "late reader"}; fmt.Sprint(events) != fmt.Sprint(want) {
		t.Fatalf("events = %q; want %q", events, want)
	}
}

func TestRWMutexRLocker(t *testing.T) {
	var rw RWMutex
	rl := rw.RLocker()
	rl.Lock()
	rl.Lock() // two read locks at once
	if rw.TryLock() {
		t.Fatal("TryLock while RLocker holds read locks = true; want false")
	}
	rl.Unlock()
	rl.Unlock()
	if !rw.TryLock() {
		t.Fatal("TryLock after RLocker unlocked = false; want true")
	}
	rw.Unlock()
	// RLocker's Lock honours writer preference like RLock: hammer it
	// together with writers.
	hammerRWMutex(t, &rw, 2, 200)
}

func TestRWMutexMisusePanics(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*RWMutex)
		op    func(*RWMutex)
		want  string
	}{
		{"Unlock of unlocked", func(*RWMutex) {}, (*RWMutex).Unlock, "sync: Unlock of unlocked RWMutex"},
		{"Unlock of read-locked", (*RWMutex).RLock, (*RWMutex).Unlock, "sync: Unlock of unlocked RWMutex"},
		{"RUnlock of unlocked", func(*RWMutex) {}, (*RWMutex).RUnlock, "sync: RUnlock of unlocked RWMutex"},
		{"RUnlock of write-locked", (*RWMutex).Lock, (*RWMutex).RUnlock, "sync: RUnlock of unlocked RWMutex"},
		{"second RUnlock", func(rw *RWMutex) { rw.RLock(); rw.RUnlock() }, (*RWMutex).RUnlock, "sync: RUnlock of unlocked RWMutex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rw RWMutex
			tt.setup(&rw)
			if got := lockPanic(func() { tt.op(&rw) }); got != tt.want {
				t.Fatalf("%s panicked with %v; want %q", tt.name, got, tt.want)
			}
		})
	}
}

// hammerRWMutex is sync's HammerRWMutex: writers and readers check, through
// an activity counter, that a writer is alone and readers only share with
// readers.
func hammerRWMutex(t *testing.T, rw *RWMutex, writers, iters int) {
	t.Helper()
	const readers = 6
	var activity atomic.Int32
	done := make(chan string, writers+readers)
	reader := func() {
		for i := 0; i < iters; i++ {
			rw.RLock()
			if n := activity.Add(1); n < 1 || n >= 10000 {
				done <- fmt.Sprintf("reader saw activity %d: a writer is inside", n)
				return
			}
			if i%10 == 0 {
				runtime.Gosched()
			}
			activity.Add(-1)
			rw.RUnlock()
		}
		done <- ""
	}
	writer := func() {
		for i := 0; i < iters; i++ {
			rw.Lock()
			if n := activity.Add(10000); n != 10000 {
				done <- fmt.Sprintf("writer saw activity %d: others are inside", n)
				return
			}
			runtime.Gosched()
			activity.Add(-10000)
			rw.Unlock()
		}
		done <- ""
	}
	for i := 0; i < writers+readers; i++ {
		if i < writers {
			go writer()
		} else {
			go reader()
		}
	}
	for range writers + readers {
		if msg := recvLocks(t, "readers and writers", done); msg != "" {
			t.Fatal(msg)
		}
	}
}

func TestRWMutexStress(t *testing.T) {
	for _, writers := range []int{1, 3} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			var rw RWMutex
			hammerRWMutex(t, &rw, writers, 1000)
			if !rw.TryLock() {
				t.Fatal("TryLock after the stress = false; want true")
			}
			rw.Unlock()
		})
	}
}
