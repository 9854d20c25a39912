// Package timeout: a test still running when -timeout fires. Its workers,
// whose deferred stop had not run, are no leaks; the test before it, which
// returned and left a worker behind, leaked.
package timeout

import (
	"testing"
	"time"

	"example.com/leaktests/internal/park"
)

func worker(stop chan struct{}) {
	<-stop // want leak error no-waker-alive TestLeaksFirst
}

func TestLeaksFirst(t *testing.T) {
	go worker(make(chan struct{}))
	park.Wait(1, "timeout.worker", "chan receive")
}

func TestSlow(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	for range 2 {
		go worker(stop)
	}
	time.Sleep(time.Hour)
}
