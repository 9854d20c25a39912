package detect_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/parse"
)

// TestCorpusRun runs every detector over every good trace of the corpus:
// each is read whole, and every leak finding is well formed.
func TestCorpusRun(t *testing.T) {
	var files []string
	files = append(files, corpus.Files(t, "v1", "*_good")...)
	files = append(files, corpus.Files(t, "go126", "*.trace")...)
	files = append(files, corpus.Files(t, "goker", "*.trace")...)
	files = append(files, corpus.Files(t, filepath.Join("goker", "negatives"), "*.trace")...)
	files = append(files, corpus.Files(t, "bad", "gzipped.trace.gz")...)
	for _, path := range files {
		name := strings.TrimPrefix(path, filepath.Dir(filepath.Dir(path))+string(filepath.Separator))
		t.Run(name, func(t *testing.T) {
			if testing.Short() && strings.Contains(name, "stdlib-") {
				t.Skip("large trace, -short")
			}
			res, err := detect.Run(path, parse.Options{}, detect.DefaultConfig())
			if err != nil {
				t.Fatalf("Run(%q) error: %v", path, err)
			}
			if !res.Trace.Complete || res.Trace.Events == 0 {
				t.Errorf("Complete, Events = %v, %d; want true, > 0", res.Trace.Complete, res.Trace.Events)
			}
			for _, f := range res.Findings {
				if f.Kind == "leak" {
					checkLeakFinding(t, res.Trace, f)
				}
				if f.Kind == "" || f.Message == "" || f.Severity == "" {
					t.Errorf("finding %+v lacks a kind, message or severity", f)
				}
			}
		})
	}
}
