package chans_test

import (
	"io"
	"runtime/trace"
	"testing"

	"github.com/blockscope/blockscope/primitives/chans"
)

// pair is a sender and a receiver, for a Chan or a plain channel.
type pair struct {
	name string
	make func(capacity int) (send func(int), recv func() (int, bool))
}

var pairs = []pair{
	{"chans", func(n int) (func(int), func() (int, bool)) {
		c := chans.Make[int](n)
		return c.Send, c.Recv
	}},
	{"chan", func(n int) (func(int), func() (int, bool)) {
		c := make(chan int, n)
		return func(v int) { c <- v }, func() (int, bool) { v, ok := <-c; return v, ok }
	}},
}

// tracing starts a trace into io.Discard for the rest of the benchmark, if
// on.
func tracing(b *testing.B, on bool) {
	if !on {
		return
	}
	if err := trace.Start(io.Discard); err != nil {
		b.Skipf("cannot start tracing: %v", err)
	}
	b.Cleanup(trace.Stop)
}

func traceName(on bool) string {
	if on {
		return "trace=on"
	}
	return "trace=off"
}

// BenchmarkSendRecv sends b.N values from one goroutine to another through
// a Chan and through a plain channel, unbuffered and buffered, tracing off
// and on.
func BenchmarkSendRecv(b *testing.B) {
	for _, on := range []bool{false, true} {
		for _, capacity := range []int{0, 128} {
			for _, p := range pairs {
				name := traceName(on) + "/cap=" + map[int]string{0: "0", 128: "128"}[capacity] + "/" + p.name
				b.Run(name, func(b *testing.B) {
					tracing(b, on)
					send, recv := p.make(capacity)
					done := make(chan struct{})
					go func() {
						defer close(done)
						for {
							if v, _ := recv(); v < 0 {
								return
							}
						}
					}()
					for b.Loop() {
						send(1)
					}
					send(-1)
					<-done
				})
			}
		}
	}
}

// BenchmarkSendRecvSameGoroutine sends and receives in one goroutine on a
// buffered channel: the cost of the operations without any handoff.
func BenchmarkSendRecvSameGoroutine(b *testing.B) {
	for _, on := range []bool{false, true} {
		for _, p := range pairs {
			b.Run(traceName(on)+"/"+p.name, func(b *testing.B) {
				tracing(b, on)
				send, recv := p.make(1)
				b.ReportAllocs()
				for b.Loop() {
					send(1)
					recv()
				}
			})
		}
	}
}
