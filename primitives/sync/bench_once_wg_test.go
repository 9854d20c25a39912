package sync_test

import (
	"io"
	"runtime/trace"
	stdsync "sync"
	"testing"

	"github.com/blockscope/blockscope/primitives/sync"
)

// The benchmarks run each workload on the standard library's type ("std"),
// on ours ("ours"), and on ours while a trace is being recorded
// ("ours-traced"), so that one run gives the ratios.

// underTrace runs the benchmark body while a trace is written to
// io.Discard.
func underTrace(b *testing.B, body func(b *testing.B)) {
	if err := trace.Start(io.Discard); err != nil {
		b.Skipf("trace.Start: %v (a trace is already being recorded?)", err)
	}
	defer trace.Stop()
	body(b)
}

// The loops are written out for each type, not shared through an
// interface, so that calls are direct (and Once.Do's fast path inlined) as
// in user code.

// BenchmarkOnceFastPath calls Do on a Once whose f has run, from every P:
// the load that each Do makes, uncontended since no one writes.
func BenchmarkOnceFastPath(b *testing.B) {
	f := func() {}
	b.Run("std", func(b *testing.B) {
		var o stdsync.Once
		o.Do(f)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				o.Do(f)
			}
		})
	})
	ours := func(b *testing.B) {
		var o sync.Once
		o.Do(f)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				o.Do(f)
			}
		})
	}
	b.Run("ours", ours)
	b.Run("ours-traced", func(b *testing.B) { underTrace(b, ours) })
}

// BenchmarkOnceSlowPath makes a new Once for every Do: the first call,
// which runs f.
func BenchmarkOnceSlowPath(b *testing.B) {
	f := func() {}
	b.Run("std", func(b *testing.B) {
		for b.Loop() {
			var o stdsync.Once
			o.Do(f)
		}
	})
	ours := func(b *testing.B) {
		for b.Loop() {
			var o sync.Once
			o.Do(f)
		}
	}
	b.Run("ours", ours)
	b.Run("ours-traced", func(b *testing.B) { underTrace(b, ours) })
}

// BenchmarkWaitGroup measures three workloads:
//
//   - uncontended: every P cycles Add(1), Done, Wait on a WaitGroup of its
//     own;
//   - contended: every P cycles Add(1), Done on one shared WaitGroup;
//   - cycle: Add/Done/Wait rounds with several goroutines, the usual shape:
//     the benchmark goroutine Adds 4, four long-lived workers each Done
//     once per round, and the benchmark goroutine Waits for them.
func BenchmarkWaitGroup(b *testing.B) {
	b.Run("uncontended", func(b *testing.B) {
		b.Run("std", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				var wg stdsync.WaitGroup
				for pb.Next() {
					wg.Add(1)
					wg.Done()
					wg.Wait()
				}
			})
		})
		ours := func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				var wg sync.WaitGroup
				for pb.Next() {
					wg.Add(1)
					wg.Done()
					wg.Wait()
				}
			})
		}
		b.Run("ours", ours)
		b.Run("ours-traced", func(b *testing.B) { underTrace(b, ours) })
	})
	b.Run("contended", func(b *testing.B) {
		b.Run("std", func(b *testing.B) {
			var wg stdsync.WaitGroup
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					wg.Add(1)
					wg.Done()
				}
			})
		})
		ours := func(b *testing.B) {
			var wg sync.WaitGroup
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					wg.Add(1)
					wg.Done()
				}
			})
		}
		b.Run("ours", ours)
		b.Run("ours-traced", func(b *testing.B) { underTrace(b, ours) })
	})
	const workers = 4
	b.Run("cycle", func(b *testing.B) {
		b.Run("std", func(b *testing.B) {
			var wg stdsync.WaitGroup
			start := startWorkers(workers, wg.Done)
			for b.Loop() {
				wg.Add(workers)
				for _, c := range start {
					c <- true
				}
				wg.Wait()
			}
			stopWorkers(start)
		})
		ours := func(b *testing.B) {
			var wg sync.WaitGroup
			start := startWorkers(workers, wg.Done)
			for b.Loop() {
				wg.Add(workers)
				for _, c := range start {
					c <- true
				}
				wg.Wait()
			}
			stopWorkers(start)
		}
		b.Run("ours", ours)
		b.Run("ours-traced", func(b *testing.B) { underTrace(b, ours) })
	})
}

// startWorkers starts n goroutines that each call done once for every true
// sent on their channel, and return on false.
func startWorkers(n int, done func()) []chan bool {
	start := make([]chan bool, n)
	for i := range start {
		start[i] = make(chan bool, 1)
		go func() {
			for <-start[i] {
				done()
			}
		}()
	}
	return start
}

func stopWorkers(start []chan bool) {
	for _, c := range start {
		c <- false
	}
}
