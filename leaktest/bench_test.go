package leaktest_test

import (
	"testing"

	"github.com/blockscope/blockscope/leaktest"
)

// BenchmarkPingPong is scheduling-heavy work, to compare with the recorder
// on (the default) and off (BLOCKSCOPE_LEAKTEST=off).
func BenchmarkPingPong(b *testing.B) {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	for i := 0; b.Loop(); i++ {
		ping <- i
		<-pong
	}
	close(ping)
	<-pong
}

// BenchmarkVerifyNoneClean is what a clean test pays: one goroutine dump.
func BenchmarkVerifyNoneClean(b *testing.B) {
	for b.Loop() {
		leaktest.VerifyNone(b)
	}
}
