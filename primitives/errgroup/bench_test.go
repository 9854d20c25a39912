package errgroup_test

import (
	"io"
	"runtime/trace"
	"testing"
)

// BenchmarkGoWait starts b.N goroutines that return nil and waits for them,
// with each implementation, with no limit and with a limit of 4, tracing off
// and on. Compare blockscope to x/sync within each sub-benchmark group.
func BenchmarkGoWait(b *testing.B) {
	for _, tracing := range []bool{false, true} {
		for _, limit := range []int{-1, 4} {
			for _, im := range impls {
				name := "trace=off"
				if tracing {
					name = "trace=on"
				}
				b.Run(name+"/limit="+itoa(limit)+"/"+im.name, func(b *testing.B) {
					if tracing {
						if err := trace.Start(io.Discard); err != nil {
							b.Skipf("cannot start tracing: %v", err)
						}
						defer trace.Stop()
					}
					g := im.zero()
					g.SetLimit(limit)
					f := func() error { return nil }
					b.ReportAllocs()
					for b.Loop() {
						g.Go(f)
					}
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				})
			}
		}
	}
}

func itoa(n int) string {
	if n < 0 {
		return "none"
	}
	return string(rune('0' + n))
}
