// Package framework: a goroutine an assertion library started leaks
// inside the library; the finding points at the test's line.
package framework

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"example.com/leaktests/internal/park"
)

// expect records an assertion's failure without failing the test.
type expect struct {
	*testing.T
	failed bool
}

func (e *expect) Errorf(string, ...any) { e.failed = true }

func TestEventually(t *testing.T) {
	release := make(chan struct{})
	e := &expect{T: t}
	assert.Eventually(e, func() bool { <-release; return true }, 100*time.Millisecond, time.Millisecond) // want leak error no-waker-alive TestEventually
	close(release)
	park.Wait(1, "assert.Eventually.func1", "chan send")
	if !e.failed {
		t.Error("the condition was satisfied; want it late")
	}
}
