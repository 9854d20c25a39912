package detect_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// findCorpus returns the shared trace corpus (see its README):
// $BLOCKSCOPE_CORPUS, or shared/corpus in the nearest directory above the
// test's that has one (../shared/corpus beside the repository).
func findCorpus() (string, bool) {
	if dir := os.Getenv("BLOCKSCOPE_CORPUS"); dir != "" {
		return dir, true
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// corpusFiles returns the files matching pattern in the corpus folder sub,
// failing if there are none, and skipping the test where there is no
// corpus, as in a user's clone.
func corpusFiles(t testing.TB, sub, pattern string) []string {
	t.Helper()
	dir, ok := findCorpus()
	if !ok {
		t.Skip("no shared/corpus folder above the repository (set BLOCKSCOPE_CORPUS to use one): skipping the corpus tests")
	}
	files, err := filepath.Glob(filepath.Join(dir, sub, pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no %s in the corpus folder %s", pattern, sub)
	}
	return files
}

// TestCorpusRun runs every detector over every good trace of the corpus:
// each is read whole, and every leak finding is well formed.
func TestCorpusRun(t *testing.T) {
	var files []string
	files = append(files, corpusFiles(t, "v1", "*_good")...)
	files = append(files, corpusFiles(t, "go126", "*.trace")...)
	files = append(files, corpusFiles(t, "goker", "*.trace")...)
	files = append(files, corpusFiles(t, filepath.Join("goker", "negatives"), "*.trace")...)
	files = append(files, corpusFiles(t, "bad", "gzipped.trace.gz")...)
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
