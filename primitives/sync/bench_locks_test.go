package sync

import (
	"io"
	"runtime/trace"
	stdsync "sync"
	"testing"
)

// The benchmarks run each workload on the standard library's lock ("std")
// and on ours ("ours"), and on ours again while a trace is being recorded
// ("ours-traced"), so that one run gives the ratios.

// withTrace runs the benchmark body while a trace is written to io.Discard.
func withTrace(b *testing.B, body func(b *testing.B)) {
	if err := trace.Start(io.Discard); err != nil {
		b.Skipf("trace.Start: %v (a trace is already being recorded?)", err)
	}
	defer trace.Stop()
	body(b)
}

func benchLocker(b *testing.B, l Locker) {
	for b.Loop() {
		l.Lock()
		l.Unlock()
	}
}

func BenchmarkMutexUncontended(b *testing.B) {
	b.Run("std", func(b *testing.B) {
		var mu stdsync.Mutex
		for b.Loop() {
			mu.Lock()
			mu.Unlock()
		}
	})
	b.Run("ours", func(b *testing.B) {
		var mu Mutex
		for b.Loop() {
			mu.Lock()
			mu.Unlock()
		}
	})
	b.Run("ours-traced", func(b *testing.B) {
		withTrace(b, func(b *testing.B) {
			var mu Mutex
			for b.Loop() {
				mu.Lock()
				mu.Unlock()
			}
		})
	})
}

// contendedWork is the work done outside the critical section, so that
// lock hand-over is exercised rather than only the holder's cache line.
func contendedWork(n int) int {
	v := 0
	for i := range n {
		v += i * i
	}
	return v
}

var benchSink int

func benchContended(b *testing.B, l Locker, work int) {
	b.RunParallel(func(pb *testing.PB) {
		v := 0
		for pb.Next() {
			l.Lock()
			v++
			l.Unlock()
			v += contendedWork(work)
		}
		benchSink += v & 0 // keep v alive without a data race
	})
}

func BenchmarkMutexContended(b *testing.B) {
	for _, work := range []int{0, 100} {
		name := "work=0/"
		if work != 0 {
			name = "work=100/"
		}
		b.Run(name+"std", func(b *testing.B) { benchContended(b, new(stdsync.Mutex), work) })
		b.Run(name+"ours", func(b *testing.B) { benchContended(b, new(Mutex), work) })
		b.Run(name+"ours-traced", func(b *testing.B) {
			withTrace(b, func(b *testing.B) { benchContended(b, new(Mutex), work) })
		})
	}
}

// rwLocker is what BenchmarkRWMutexReadHeavy needs of both RWMutexes.
type rwLocker interface {
	Lock()
	Unlock()
	RLock()
	RUnlock()
}

func benchReadHeavy(b *testing.B, rw rwLocker) {
	b.RunParallel(func(pb *testing.PB) {
		v := 0
		for i := 0; pb.Next(); i++ {
			if i%100 == 0 {
				rw.Lock()
				rw.Unlock()
			} else {
				rw.RLock()
				v += contendedWork(10)
				rw.RUnlock()
			}
		}
		benchSink += v & 0
	})
}

func BenchmarkRWMutexReadHeavy(b *testing.B) {
	b.Run("std", func(b *testing.B) { benchReadHeavy(b, new(stdsync.RWMutex)) })
	b.Run("ours", func(b *testing.B) { benchReadHeavy(b, new(RWMutex)) })
	b.Run("ours-traced", func(b *testing.B) {
		withTrace(b, func(b *testing.B) { benchReadHeavy(b, new(RWMutex)) })
	})
}

func BenchmarkReentrantMutex(b *testing.B) {
	b.Run("lock", func(b *testing.B) { benchLocker(b, new(ReentrantMutex)) })
	b.Run("reenter", func(b *testing.B) {
		var mu ReentrantMutex
		mu.Lock()
		defer mu.Unlock()
		benchLocker(b, &mu)
	})
}

// condLike is what BenchmarkCondSignal needs of both Conds.
type condLike interface {
	Wait()
	Signal()
}

func BenchmarkCondSignal(b *testing.B) {
	// Ping-pong between two goroutines through two Conds.
	run := func(b *testing.B, mu Locker, newCond func(Locker) condLike) {
		c1, c2 := newCond(mu), newCond(mu)
		turn := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			mu.Lock()
			defer mu.Unlock()
			for i := 0; i < b.N; i++ {
				for turn != 1 {
					c1.Wait()
				}
				turn = 0
				c2.Signal()
			}
		}()
		b.ResetTimer()
		mu.Lock()
		for i := 0; i < b.N; i++ {
			turn = 1
			c1.Signal()
			for turn != 0 {
				c2.Wait()
			}
		}
		mu.Unlock()
		<-done
	}
	b.Run("std", func(b *testing.B) {
		run(b, new(stdsync.Mutex), func(l Locker) condLike { return stdsync.NewCond(l) })
	})
	b.Run("ours", func(b *testing.B) {
		run(b, new(Mutex), func(l Locker) condLike { return NewCond(l) })
	})
}
