// Package testmain checks a whole package at once: VERIFIER (goleak or
// leaktest) picks whose VerifyTestMain runs the tests.
package testmain

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/blockscope/blockscope/leaktest"
)

func TestMain(m *testing.M) {
	switch os.Getenv("VERIFIER") {
	case "goleak":
		goleak.VerifyTestMain(m)
	case "leaktest":
		leaktest.VerifyTestMain(m)
	default:
		fmt.Fprintf(os.Stderr, "VERIFIER=%q: want goleak or leaktest\n", os.Getenv("VERIFIER"))
		os.Exit(2)
	}
}

// TestFine leaves nothing behind.
func TestFine(t *testing.T) {
	done := make(chan bool)
	go func() { done <- true }()
	<-done
}

// forget starts a receiver that nobody sends to.
func forget() {
	ch := make(chan int)
	go func() {
		<-ch // leaks: nobody sends
	}()
}

// TestForgetful leaks a goroutine.
func TestForgetful(t *testing.T) { forget() }

// TestForgetfulToo leaks one at the same line.
func TestForgetfulToo(t *testing.T) { forget() }

// TestAlsoFine leaves nothing behind either.
func TestAlsoFine(t *testing.T) {}
