package parse_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/parse"
)

// FuzzParse feeds Parse damaged and foreign input: it must return a model
// or an error of its own kinds, never panic or hang, and a model it
// returns must be consistent.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.trace"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed traces in testdata: %v", err)
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/3])
		f.Add(gzipped(f, data))
	}
	// Old-format traces take another path through x/exp/trace: seed with
	// the corpus's small ones where it is present.
	if dir, ok := corpus.Find(); ok {
		old, _ := filepath.Glob(filepath.Join(dir, "v1", "*_good"))
		bad, _ := filepath.Glob(filepath.Join(dir, "bad", "*"))
		for _, path := range append(old, bad...) {
			if data, err := os.ReadFile(path); err == nil && len(data) < 10000 {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("go 1.11 trace\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c consumer
		tr, err := parse.Parse(bytes.NewReader(data), parse.Options{Path: "fuzz"}, &c)
		if err != nil {
			var pe *parse.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v (%T); want a *parse.Error", err, err)
			}
		}
		if tr == nil {
			if err == nil {
				t.Fatal("Parse returned neither a model nor an error")
			}
			return
		}
		if tr.Complete != (err == nil) || tr.Err != err {
			t.Errorf("Complete, Err = %v, %v; want %v, %v", tr.Complete, tr.Err, err == nil, err)
		}
		if c.finalized != 1 {
			t.Errorf("consumer finalized %d times; want 1", c.finalized)
		}
		for _, g := range tr.Goroutines() {
			// Every stack a goroutine names must resolve.
			for _, id := range []parse.StackID{g.Stack, g.CreateStack, g.StartStack} {
				if id < 0 || int(id) >= tr.Stacks.Len() {
					t.Fatalf("goroutine %d names stack %d of %d", g.ID, id, tr.Stacks.Len())
				}
				tr.Stacks.Location(id)
			}
			if tr.Goroutine(g.ID) == nil {
				t.Errorf("Goroutine(%d) = nil for a listed goroutine", g.ID)
			}
		}
	})
}
