package detect_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/parse"
)

// TestIncompleteProvesNoLeak: where a trace is cut short, the goroutines
// blocked at the cut may well have been woken after it, so no leak is
// no-waker-alive, though the whole trace proves some. The trace is go
// test -trace's: cut mid-test, with tests running, whose goroutines are
// no leaks at all.
func TestIncompleteProvesNoLeak(t *testing.T) {
	data, err := os.ReadFile(corpus.File(t, "go126", "stdlib-nethttp-short.trace"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "half.trace")
	if err := os.WriteFile(path, data[:len(data)/2], 0o666); err != nil {
		t.Fatal(err)
	}
	res, err := detect.Run(path, parse.Options{}, nil)
	if res == nil || err == nil || res.Trace.Complete {
		t.Fatalf("Run(half a trace) = %v, %v; want a partial result and an error", res, err)
	}
	if run := res.Trace.TestRun(); !run.CutMidTest() || run.TimedOut || len(run.Running) == 0 {
		t.Errorf("TestRun() = %+v; want a test binary cut mid-test (not by -timeout), naming the running tests", run)
	}
	for _, f := range res.Findings {
		if f.Kind != detect.Leak.Name {
			continue
		}
		if f.Severity == detect.SeverityError {
			t.Errorf("leak in a trace cut short: %s (%s) %q; want a warning", f.Severity, f.Confidence, f.Message)
		}
		for _, id := range f.Goroutines {
			if test, ok := res.Trace.TestOf(id); ok && !test.Done {
				t.Errorf("leak %q: goroutine %d of %s, which was still running", f.Message, id, test.Name)
			}
		}
	}
}
