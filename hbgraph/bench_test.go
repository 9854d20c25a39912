package hbgraph_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/parse"
)

// corpusTrace returns a trace of the shared corpus, skipping where there
// is none (a user's clone).
func corpusTrace(b *testing.B, name string) string {
	dir := os.Getenv("BLOCKSCOPE_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "corpus")
	}
	path := filepath.Join(dir, "go126", name)
	if _, err := os.Stat(path); err != nil {
		b.Skipf("no corpus trace %s (set BLOCKSCOPE_CORPUS): %v", name, err)
	}
	return path
}

// BenchmarkBuild parses a large corpus trace with and without the builder:
// the difference is the graph's cost, vector clocks included.
func BenchmarkBuild(b *testing.B) {
	for _, name := range []string{"stdlib-sync.trace", "stdlib-nethttp-short.trace"} {
		path := corpusTrace(b, name)
		b.Run(name+"/parse", func(b *testing.B) {
			for b.Loop() {
				if _, err := parse.File(path, parse.Options{DropBlocks: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parse+hb", func(b *testing.B) {
			for b.Loop() {
				hb := hbgraph.NewBuilder(hbgraph.Options{})
				if _, err := parse.File(path, parse.Options{DropBlocks: true}, hb); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(hb.Graph().Len()), "nodes")
			}
		})
	}
}
