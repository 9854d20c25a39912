package hbgraph_test

import (
	"testing"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/parse"
)

// BenchmarkBuild parses a large corpus trace with and without the builder:
// the difference is the graph's cost, vector clocks included, or, selecting
// while reading, what hb's default selection costs.
func BenchmarkBuild(b *testing.B) {
	for _, name := range []string{"stdlib-sync.trace", "stdlib-nethttp-short.trace"} {
		path := corpus.File(b, "go126", name)
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
		// hb's default: select while reading, 500 nodes, parks and sleeps
		// folded; the difference from parse is what selecting costs.
		b.Run(name+"/parse+hb-select", func(b *testing.B) {
			for b.Loop() {
				f := hbgraph.Filter{MaxNodes: 500, FoldParks: true, FoldSleeps: true}
				hb := hbgraph.NewBuilder(hbgraph.Options{Select: &f})
				if _, err := parse.File(path, parse.Options{DropBlocks: true, DropExited: true}, hb); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(hb.Graph().Len()), "nodes")
			}
		})
	}
}
