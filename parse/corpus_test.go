package parse_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/parse"
)

var v1Version = regexp.MustCompile(`_1_(\d+)_`)

// TestCorpusGood reads every good trace of the corpus, old format and new,
// whole.
func TestCorpusGood(t *testing.T) {
	var files []string
	files = append(files, corpus.Files(t, "v1", "*_good")...)
	files = append(files, corpus.Files(t, "go126", "*.trace")...)
	files = append(files, corpus.Files(t, "goker", "*.trace")[:3]...)
	files = append(files, filepath.Join(corpus.Dir(t, "bad"), "gzipped.trace.gz"))
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if testing.Short() && strings.Contains(path, "stdlib-") {
				t.Skip("large trace, -short")
			}
			tr, err := parse.File(path, parse.Options{DropBlocks: true})
			if err != nil {
				t.Fatalf("File(%q) error: %v", path, err)
			}
			if !tr.Complete || tr.Events == 0 || len(tr.Goroutines()) == 0 || tr.Duration() <= 0 {
				t.Errorf("Complete, Events, goroutines, Duration = %v, %d, %d, %v; want true and > 0", tr.Complete, tr.Events, len(tr.Goroutines()), tr.Duration())
			}
			// v1/stress_1_19_good is written by Go 1.19.
			wantVersion := "1.26"
			if m := v1Version.FindStringSubmatch(filepath.Base(path)); m != nil {
				wantVersion = "1." + m[1]
			}
			if tr.GoVersion != wantVersion {
				t.Errorf("GoVersion = %q; want %q", tr.GoVersion, wantVersion)
			}
			if tr.BadAnnotations > 0 {
				t.Errorf("%d bad annotations in a trace without blockscope primitives: %v", tr.BadAnnotations, tr.Warnings)
			}
			for _, g := range tr.Goroutines() {
				if g.State == parse.StateWaiting && g.Reason == "" {
					t.Errorf("goroutine %d (%s) waits with no reason", g.ID, g.Entry)
				}
				if g.State == parse.StateUnknown {
					t.Errorf("goroutine %d (%s) in an unknown state", g.ID, g.Entry)
				}
			}
		})
	}
}

// TestCorpusStacksAcrossGenerations checks that stacks stay interned across
// generations, whose stack tables are separate.
func TestCorpusStacksAcrossGenerations(t *testing.T) {
	path := filepath.Join(corpus.Dir(t, "go126"), "xsync-semaphore.trace")
	tr, err := parse.File(path, parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkUniqueStacks(t, tr)
}

// TestCorpusBad checks the error for each damaged or foreign input.
func TestCorpusBad(t *testing.T) {
	dir := corpus.Dir(t, "bad")
	want := map[string]error{
		"bad-header.trace":            parse.ErrEmpty,
		"bitflips.trace":              parse.ErrTruncated,
		"cpu-profile-not-trace.pprof": parse.ErrNotTrace,
		"empty.trace":                 parse.ErrEmpty,
		"gzipped.trace.gz":            nil,
		"header-only.trace":           parse.ErrEmpty,
		"random-bytes.trace":          parse.ErrNotTrace,
		"text.trace":                  parse.ErrNotTrace,
		"truncated-mid-batch.trace":   parse.ErrTruncated,
		"v1-truncated.trace":          parse.ErrTruncated,
		"zeroed-tail.trace":           parse.ErrTruncated,
	}
	files := corpus.Files(t, "bad", "*")
	if len(files) != len(want) {
		t.Errorf("%d files in %s; want %d: update this test", len(files), dir, len(want))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			kind, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s: update this test", name)
			}
			tr, err := parse.File(path, parse.Options{})
			if !errors.Is(err, kind) || kind == nil && err != nil {
				t.Fatalf("File(%q) error = %v; want %v", path, err, kind)
			}
			if kind == nil {
				return
			}
			if tr != nil {
				t.Errorf("File(%q) returned a model of %d events; want none", path, tr.Events)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, path+": ") || strings.Contains(msg, "\n") {
				t.Errorf("File(%q) error = %q; want one line that starts with the path", path, msg)
			}
		})
	}
}

// damage returns ways to damage the later generations of a multi-generation
// trace: the model of what was read comes back with the error.
func damage(data []byte) map[string][]byte {
	n := len(data)
	cut := func(frac float64) []byte { return data[:int(float64(n)*frac)] }
	zero := bytes.Clone(data)
	clear(zero[n*9/10:])
	flip := bytes.Clone(data)
	for i := n * 9 / 10; i < n; i += 97 {
		flip[i] ^= 0xff
	}
	return map[string][]byte{
		"truncated at 60%": cut(0.6),
		"truncated at 95%": cut(0.95),
		"zeroed tail":      zero,
		"bytes flipped":    flip,
	}
}

// TestDamagedLaterGenerations checks that a trace whose later generations
// are damaged yields the model of what was read, marked incomplete.
func TestDamagedLaterGenerations(t *testing.T) {
	path := filepath.Join(corpus.Dir(t, "go126"), "xsync-semaphore.trace")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := parse.Parse(bytes.NewReader(data), parse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range damage(data) {
		t.Run(name, func(t *testing.T) {
			var c consumer
			tr, err := parse.Parse(bytes.NewReader(bad), parse.Options{Path: "damaged.trace"}, &c)
			if !errors.Is(err, parse.ErrTruncated) {
				t.Fatalf("Parse error = %v; want %v", err, parse.ErrTruncated)
			}
			if tr == nil {
				t.Fatal("Parse returned no model; want what was read")
			}
			if tr.Complete || tr.Err != err {
				t.Errorf("Complete, Err = %v, %v; want false, the returned error", tr.Complete, tr.Err)
			}
			if tr.Events == 0 || tr.Events >= whole.Events {
				t.Errorf("Events = %d; want some, fewer than the whole trace's %d", tr.Events, whole.Events)
			}
			var pe *parse.Error
			if !errors.As(err, &pe) || pe.Events != tr.Events || !strings.Contains(err.Error(), "damaged.trace: ") {
				t.Errorf("error = %v; want a *parse.Error naming the file and the %d events read", err, tr.Events)
			}
			if c.finalized != 1 {
				t.Errorf("consumers finalized %d times; want 1", c.finalized)
			}
		})
	}
}
