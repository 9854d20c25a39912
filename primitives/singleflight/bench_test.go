package singleflight_test

import (
	"io"
	"runtime/trace"
	"strconv"
	"testing"
)

// benchImpls are x/sync's singleflight, ours, and ours while a trace is
// being recorded (to io.Discard), so that one run compares all three.
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

var sink any

// BenchmarkDo is one goroutine calling Do: every call leads its own
// flight.
func BenchmarkDo(b *testing.B) {
	fn := func() (any, error) { return 1, nil }
	for _, bm := range benchImpls {
		b.Run(bm.name, func(b *testing.B) {
			g := bm.new()
			if bm.traced {
				startTrace(b)
			}
			for b.Loop() {
				v, _, _ := g.Do("key", fn)
				sink = v
			}
		})
	}
}

// BenchmarkDoParallel is every P calling Do on a few keys, so that calls
// contend for the group and some share flights.
func BenchmarkDoParallel(b *testing.B) {
	keys := make([]string, 4)
	for i := range keys {
		keys[i] = "key" + strconv.Itoa(i)
	}
	fn := func() (any, error) { return 1, nil }
	for _, bm := range benchImpls {
		b.Run(bm.name, func(b *testing.B) {
			g := bm.new()
			if bm.traced {
				startTrace(b)
			}
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					g.Do(keys[i%len(keys)], fn)
					i++
				}
			})
		})
	}
}
