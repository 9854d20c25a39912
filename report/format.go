package report

import (
	"io"
	"slices"
	"strings"

	"github.com/blockscope/blockscope/parse"
)

// Format is one output format: a printer over the shared [Analysis].
// Each format's file registers it (text.go, json.go, junit.go, ...);
// commands choose them by name with --format and --output NAME=FILE.
type Format struct {
	// Name is what --format and --output call it: "text", "sarif".
	Name string
	// Doc is one line for help: what it is and who reads it.
	Doc string
	// Binary formats (pprof) are for files and tools, not terminals.
	Binary bool
	// Gather, if set, returns a new Gatherer for one trace: the format
	// needs data beyond findings, collected in the same single pass.
	Gather func() Gatherer
	// Write renders the analysis.
	Write func(w io.Writer, a *Analysis) error
}

// Gatherer collects, during the one streaming pass over a trace, what a
// format needs beyond findings (pprof: every blocked interval's stack and
// delay). It aggregates as events stream by (memory follows what it
// keeps, never the number of events), turning the trace's StackIDs into
// frames by Finalize at the latest, since StackIDs mean nothing after the
// trace. After the traces are merged, AddTo adds what it gathered to the
// merged Analysis; the gatherers of several traces are added in trace
// order.
type Gatherer interface {
	parse.Consumer
	AddTo(a *Analysis)
}

// formats holds every format, by name; each format's file registers itself.
var formats []*Format

func register(f *Format) *Format {
	formats = append(formats, f)
	slices.SortFunc(formats, func(a, b *Format) int { return strings.Compare(a.Name, b.Name) })
	return f
}

// Formats lists every format, by name.
func Formats() []*Format {
	return slices.Clone(formats)
}

// FormatNames lists every format's name.
func FormatNames() []string {
	var names []string
	for _, f := range formats {
		names = append(names, f.Name)
	}
	return names
}

// LookupFormat returns the format of that name, or nil.
func LookupFormat(name string) *Format {
	for _, f := range formats {
		if f.Name == name {
			return f
		}
	}
	return nil
}
