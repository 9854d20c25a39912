package parse

import (
	"testing"

	exptrace "golang.org/x/exp/trace"
)

// TestPredecodeRedo checks that an event x/exp/trace panics on, when a
// decoder pre-decodes it, is marked for the builder to decode again (in
// its own pass, where the panic becomes the pass's error at that event),
// not lost with its decoder or taken for a log that is no annotation.
func TestPredecodeRedo(t *testing.T) {
	var ev exptrace.Event // no log: Log panics on it
	pre := predecode(&ev)
	if !pre.redo || pre.is {
		t.Errorf("predecode of an event Log panics on = %+v; want redo", pre)
	}
}
