// Package sleeping: a test's slow backend still sleeps when the tests end;
// when it wakes it sends on a channel nobody reads any more.
package sleeping

import (
	"testing"
	"time"

	"example.com/leaktests/internal/park"
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
	park.Wait(1, "sleeping.fetch", "sleep")
}

func TestNothing(t *testing.T) {}
