package detect_test

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	exptrace "golang.org/x/exp/trace"

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

// BenchmarkParse measures one pass over the corpus's largest traces three
// ways: the bare x/exp/trace read loop (the baseline: nothing can be
// faster), parse.File alone, and parse.File with every detector
// (detect.Run, what analyze does). Compare the events/s of the last two
// with the baseline's.
func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"stdlib-nethttp-short.trace", "stdlib-sync.trace"} {
		path := filepath.Join(corpusFiles(b, "go126", name)[0])
		events := countEvents(b, path)
		b.Run(strings.TrimSuffix(name, ".trace"), func(b *testing.B) {
			b.Run("exptrace", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					countEvents(b, path)
				}
				reportEvents(b, events)
			})
			b.Run("parse", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := parse.File(path, parse.Options{DropBlocks: true}); err != nil {
						b.Fatal(err)
					}
				}
				reportEvents(b, events)
			})
			b.Run("detect", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := detect.Run(path, parse.Options{}, detect.DefaultConfig()); err != nil {
						b.Fatal(err)
					}
				}
				reportEvents(b, events)
			})
		})
	}
}

// countEvents reads a trace with x/exp/trace alone and counts its events.
func countEvents(b *testing.B, path string) int {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := exptrace.NewReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		_, err := r.ReadEvent()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

func reportEvents(b *testing.B, events int) {
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
