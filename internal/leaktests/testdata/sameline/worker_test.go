// Package sameline: a test that forgets to close its worker beside a test
// that closes the same kind of worker; only the first leaks.
package sameline

import (
	"testing"

	"example.com/leaktests/internal/park"
)

type worker struct{ jobs chan int }

func start() *worker {
	w := &worker{jobs: make(chan int)}
	go w.run()
	return w
}

func (w *worker) run() {
	for range w.jobs { // want leak error no-waker-alive TestForgetsClose
	}
}

func (w *worker) Close() { close(w.jobs) }

func TestForgetsClose(t *testing.T) {
	w := start()
	w.jobs <- 1
	park.Wait(1, "sameline.(*worker).run", "chan receive")
}

func TestCloses(t *testing.T) {
	w := start()
	defer w.Close()
	w.jobs <- 1
}
