// Package sleeping: a test's slow backend still sleeps when the tests end;
// when it wakes it sends on a channel nobody reads any more.
package sleeping

import (
	"testing"
	"time"
)

func fetch(results chan<- string) {
	time.Sleep(time.Hour) // want leak warning outlived-test TestGivesUp
	results <- "late"
}

func TestGivesUp(t *testing.T) {
	results := make(chan string)
	go fetch(results)
	select {
	case <-results:
		t.Fatal("a result already")
	case <-time.After(time.Millisecond):
	}
}

func TestNothing(t *testing.T) {}
