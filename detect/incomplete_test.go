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
// no-waker-alive, though the whole trace proves some.
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
	leaks := 0
	for _, f := range res.Findings {
		if f.Kind != detect.Leak.Name {
			continue
		}
		leaks++
		if f.Confidence != detect.ConfidenceBlockedAtEnd || f.Severity != detect.SeverityWarning {
			t.Errorf("leak in a trace cut short: %s (%s) %q; want a blocked-at-end warning", f.Severity, f.Confidence, f.Message)
		}
	}
	if leaks == 0 {
		t.Error("no leak finding: the half trace has goroutines blocked at the cut")
	}
}
