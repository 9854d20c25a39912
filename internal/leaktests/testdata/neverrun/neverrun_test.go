// Package neverrun: the last test starts a goroutine that has not run when
// the tests end and tracing stops (on one P the test runner runs first;
// under load the scheduler may still run it before the trace stops, and
// it blocks).
package neverrun

import (
	"runtime"
	"testing"
)

func background(ch chan int) { // the goroutine's start: a never-run leak is reported here
	ch <- 1 // where it blocks if it ran
}

func TestStartsLate(t *testing.T) {
	runtime.GOMAXPROCS(1)
	go background(make(chan int))
}
