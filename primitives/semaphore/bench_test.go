package semaphore_test

import (
	"context"
	"io"
	"runtime/trace"
	"testing"
)

// benchImpls are x/sync's semaphore, ours, and ours while a trace is being
// recorded (to io.Discard), so that one run compares all three.
var benchImpls = []struct {
	impl
	traced bool
}{
	{impls[0], false},
	{impls[1], false},
	{impl{name: "ours-traced", new: impls[1].new}, true},
}

// startTrace records an execution trace to io.Discard until b ends.
func startTrace(b *testing.B) {
	if trace.IsEnabled() {
		b.Skip("a trace is already being recorded")
	}
	if err := trace.Start(io.Discard); err != nil {
		b.Fatalf("trace.Start: %v", err)
	}
	b.Cleanup(trace.Stop)
}

// BenchmarkAcquireRelease is one goroutine acquiring and releasing: the
// fast path, never contended.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, bm := range benchImpls {
		b.Run(bm.name, func(b *testing.B) {
			s := bm.new(1)
			if bm.traced {
				startTrace(b)
			}
			ctx := context.Background()
			for b.Loop() {
				if err := s.Acquire(ctx, 1); err != nil {
					b.Fatal(err)
				}
				s.Release(1)
			}
		})
	}
}

// BenchmarkTryAcquireRelease is TryAcquire and Release on one goroutine.
func BenchmarkTryAcquireRelease(b *testing.B) {
	for _, bm := range benchImpls {
		b.Run(bm.name, func(b *testing.B) {
			s := bm.new(1)
			if bm.traced {
				startTrace(b)
			}
			for b.Loop() {
				if !s.TryAcquire(1) {
					b.Fatal("TryAcquire(1) = false")
				}
				s.Release(1)
			}
		})
	}
}

// BenchmarkAcquireReleaseParallel is every P acquiring and releasing a
// semaphore of size 1, so that most Acquires queue.
func BenchmarkAcquireReleaseParallel(b *testing.B) {
	for _, bm := range benchImpls {
		b.Run(bm.name, func(b *testing.B) {
			s := bm.new(1)
			if bm.traced {
				startTrace(b)
			}
			ctx := context.Background()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Acquire(ctx, 1); err != nil {
						b.Error(err)
						return
					}
					s.Release(1)
				}
			})
		})
	}
}
