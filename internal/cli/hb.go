package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// defaultMaxNodes is about what Graphviz's dot lays out in a few seconds
// (measured: 500 nodes of the corpus' traces take 0.5 to 5 s).
const defaultMaxNodes = 500

type hbOptions struct {
	output          string
	format          string
	goroutines      []int64
	related         bool
	object          string
	from, to        time.Duration
	maxNodes        int
	maxNodesSet     bool
	system          bool
	allowIncomplete bool
	finding         int
	sleeps, parks   bool
	jobs            int
}

func newHB() *cobra.Command {
	o := &hbOptions{}
	prof := &profileFlags{}
	cmd := &cobra.Command{
		Use:   "hb [flags] TRACE",
		Short: "Draw the happens-before graph of a trace (Graphviz DOT or JSON)",
		Long: `hb rebuilds who-happened-before-whom from one execution trace (a path, or -
for standard input) and writes it as a Graphviz digraph: one lane per
goroutine, labelled with its id and entry function, its synchronization
points left to right (start, go statements, blocks, wakes, exit, and every
operation of blockscope's primitives), and the edges between goroutines
coloured by primitive and labelled with the rule of the Go memory model
they follow. Plain sync and channels give only the runtime's unblock edges
(grey, dashed); the primitives give exact edges per object. Where a
goroutine was still blocked when the trace ended, its node is marked
BLOCKED AT END. A park inside a primitive is drawn as part of its
operation's node, and sleeps are left out (--parks, --sleeps draw them).

Real traces are big: draw one finding of analyze (--finding N), or select
goroutines, an object or a time window. The earliest nodes of what is left
are drawn: as many as Graphviz can draw as a bitmap, or --max-nodes (saying
on standard error, and in a comment at the top of the output, what it
cut). The selection is made while the trace is read, keeping only what
will be drawn, so drawing part of a big trace costs about its reading;
--related and --finding first read the file once more for the goroutines
to draw (--finding after analyze's pass), or, from standard input, build
the whole graph. The runtime's and the tracer's goroutines are left out
unless named or --system.

Exit status: 0, or 2 for a usage error, an unreadable trace, or a trace that
could not be read whole (unless --allow-incomplete).`,
		Example: `  blockscope hb trace.out | dot -Tsvg > hb.svg
  blockscope hb --goroutine 7 --related -o hb.dot trace.out
  blockscope hb --object Mutex#3 trace.out | dot -Tpng > mutex3.png
  blockscope hb --from 10ms --to 20ms trace.out
  blockscope hb --format json trace.out > hb.json`,
		Args: exactArgs(1, "TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.maxNodesSet = cmd.Flags().Changed("max-nodes")
			return prof.run(func() error {
				return o.run(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0])
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "", "write to `FILE` instead of standard output")
	f.StringVar(&o.format, "format", "dot", "output `FORMAT`: dot or json")
	f.Int64SliceVar(&o.goroutines, "goroutine", nil, "only these goroutines, by `ID` (a comma list, or the flag repeated)")
	f.Lookup("goroutine").DefValue = "" // pflag would print "(default [])"
	f.BoolVar(&o.related, "related", false, "with --goroutine: add the goroutines that exchanged an edge with them")
	f.StringVar(&o.object, "object", "", "only the annotations about this primitive object, by `ID` as reports write it (Mutex#3, or 3)")
	f.DurationVar(&o.from, "from", 0, "only what happened from this `TIME` after the trace's start (e.g. 10ms)")
	f.DurationVar(&o.to, "to", 0, "only what happened up to this `TIME` after the trace's start (0: the end)")
	f.IntVar(&o.maxNodes, "max-nodes", defaultMaxNodes, "keep at most `N` nodes, the earliest (0: no limit); by default, for DOT, as many as Graphviz can draw as a bitmap (at most 500)")
	f.BoolVar(&o.system, "system", false, "include the runtime's and the tracer's goroutines")
	f.IntVar(&o.finding, "finding", 0, "only finding `N` of blockscope analyze (same numbering, default detector flags): its goroutines, those it names (holders, creators), and those with an edge into theirs")
	f.BoolVar(&o.sleeps, "sleeps", false, "draw sleeps and the timer wakes that end them (left out by default)")
	f.BoolVar(&o.parks, "parks", false, "draw the parks inside blockscope's primitives as nodes of their own (by default part of the operation's node)")
	f.BoolVar(&o.allowIncomplete, "allow-incomplete", false, "draw a damaged trace's graph without exiting 2")
	f.IntVar(&o.jobs, "jobs", runtime.GOMAXPROCS(0), "decode up to `N` of the trace's generations at once (1: one serial pass)")
	prof.bind(f)
	return cmd
}

func (o *hbOptions) filter() (hbgraph.Filter, error) {
	f := hbgraph.Filter{
		Related:    o.related,
		From:       parse.Time(o.from),
		To:         parse.Time(o.to),
		System:     o.system,
		MaxNodes:   o.maxNodes,
		FoldSleeps: !o.sleeps,
		FoldParks:  !o.parks,
	}
	for _, id := range o.goroutines {
		f.Goroutines = append(f.Goroutines, parse.GoID(id))
	}
	if o.object != "" {
		id, err := parse.ParseObjectRef(o.object)
		if err != nil {
			return f, usageError("--object: %v", err)
		}
		f.Object = id
	}
	switch {
	case o.format != "dot" && o.format != "json":
		return f, usageError("unknown --format %q: want dot or json", o.format)
	case o.related && len(o.goroutines) == 0:
		return f, usageError("--related needs --goroutine")
	case o.from < 0 || o.to < 0:
		return f, usageError("--from and --to are times after the trace's start: want them >= 0")
	case o.to != 0 && o.to < o.from:
		return f, usageError("--to %v is before --from %v", o.to, o.from)
	case o.jobs < 1:
		return f, usageError("--jobs %d: want at least 1", o.jobs)
	case o.maxNodes < 0:
		return f, usageError("--max-nodes %d: want 0 (no limit) or more", o.maxNodes)
	case o.finding < 0:
		return f, usageError("--finding %d: want a finding's number, 1 or more, as blockscope analyze numbers them", o.finding)
	case o.finding > 0 && len(o.goroutines) > 0:
		return f, usageError("--finding and --goroutine both choose goroutines: give one")
	}
	return f, nil
}

func (o *hbOptions) run(stdin io.Reader, stdout, stderr io.Writer, path string) error {
	filter, err := o.filter()
	if err != nil {
		return err
	}
	// The selection is applied while reading, keeping only what will be
	// drawn. --related and --finding first read the trace for the
	// goroutines to draw (standard input, read once, builds the whole
	// graph instead).
	var (
		t       *parse.Trace
		g       *hbgraph.Graph
		readErr error
	)
	chooses := o.related || o.finding > 0
	switch {
	case chooses && path == "-":
		var findings []detect.Finding
		b := hbgraph.NewBuilder(hbgraph.Options{})
		if o.finding > 0 {
			// The detectors run in the same pass, numbering findings as
			// analyze does.
			res, err := detect.Run(path, parse.Options{Stdin: stdin, Jobs: o.jobs}, detect.DefaultConfig(), b)
			if res != nil {
				t, findings = res.Trace, res.Findings
			}
			readErr = err
		} else {
			t, readErr = parse.File(path, parse.Options{DropBlocks: true, Stdin: stdin, Jobs: o.jobs}, b)
		}
		if t == nil {
			return &exitError{code: ExitUsage, err: readErr}
		}
		g = b.Graph()
		if o.finding > 0 {
			if o.finding > len(findings) {
				return o.noFinding(len(findings))
			}
			filter.Goroutines = findingGoroutines(g, findings[o.finding-1])
			if len(filter.Goroutines) == 0 {
				return o.quietFinding()
			}
		}
	default:
		if chooses {
			if err := o.chooseGoroutines(path, &filter); err != nil {
				return err
			}
		}
		sel := filter
		b := hbgraph.NewBuilder(hbgraph.Options{Select: &sel})
		t, readErr = parse.File(path, parse.Options{DropBlocks: true, DropExited: true, Stdin: stdin, Jobs: o.jobs}, b)
		if t == nil {
			return &exitError{code: ExitUsage, err: readErr}
		}
		g = b.Graph()
	}
	if filter.Object != wire.NoObject && t.Annotations == 0 {
		return usageError("--object %s: this trace has no annotations: --object needs a program that uses blockscope's primitives (primitives/sync, semaphore, singleflight, errgroup, chans) in place of the standard ones", o.object)
	}
	v, err := g.Select(filter)
	if err != nil {
		return usageError("%v", err)
	}
	if o.format == "dot" && !o.maxNodesSet {
		v = fitGraphviz(g, filter, v)
	}
	var buf bytes.Buffer
	render := report.DOT
	if o.format == "json" {
		render = report.GraphJSON
	}
	if err := render(&buf, v); err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("writing the graph: %w", err)}
	}
	if err := o.write(stdout, buf.Bytes()); err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	for _, w := range g.Warnings {
		fmt.Fprintf(stderr, "blockscope: warning: %s\n", w)
	}
	if v.Len() == 0 {
		fmt.Fprintf(stderr, "blockscope: warning: the graph is empty: nothing the filters select (the trace lasts %v)\n", t.Duration().Round(time.Microsecond))
	}
	if msg := report.CutMessage(v); msg != "" {
		if o.format == "dot" && !o.maxNodesSet {
			msg += " to keep the drawing within Graphviz's bitmap limit"
		}
		fmt.Fprintf(stderr, "blockscope: %s; narrow it with --finding, --goroutine, --object or --from/--to, or set --max-nodes (0: no limit)\n", msg)
	}
	if readErr != nil {
		if !o.allowIncomplete {
			return &exitError{code: ExitUsage, err: fmt.Errorf("%v (the graph covers what was read; --allow-incomplete accepts it)", readErr)}
		}
		fmt.Fprintf(stderr, "blockscope: warning: %v\n", readErr)
	}
	return nil
}

// Graphviz draws no bitmap over 32767 pixels a side (it scales a bigger
// drawing down until its labels cannot be read). Measured on the demo and
// the corpus (dot -Tplain at 96 dpi), a rank (column) of an hb drawing
// takes 190 to 330 px and a lane (row) 50 to 90 px: 72 ranks and 200
// lanes leave a margin.
const (
	maxRanks = 72
	maxLanes = 200
)

// fitGraphviz keeps the earliest nodes of a view that Graphviz can draw as
// a bitmap (see maxRanks): the view itself if it fits, else the largest
// node budget that does (the view's Cut says what it left out).
func fitGraphviz(g *hbgraph.Graph, f hbgraph.Filter, v *hbgraph.View) *hbgraph.View {
	fits := func(v *hbgraph.View) bool {
		ranks, lanes := report.Ranks(v)
		return ranks <= maxRanks && lanes <= maxLanes
	}
	if fits(v) {
		return v
	}
	best := v
	lo, hi := 1, v.Len()-1 // the largest budget that fits is at most hi
	for lo <= hi {
		mid := (lo + hi) / 2
		f.MaxNodes = mid
		w, err := g.Select(f)
		if err != nil {
			return v
		}
		if fits(w) {
			best, lo = w, mid+1
		} else {
			hi = mid - 1
		}
	}
	return best
}

// chooseGoroutines reads the trace before it is drawn, for the goroutines
// to draw: with --related, those named and those that exchanged an edge
// with them; with --finding, after analyze's pass, those findingGoroutines
// says. Each pass keeps only what it needs (see hbgraph.Relation).
func (o *hbOptions) chooseGoroutines(path string, filter *hbgraph.Filter) error {
	rel := hbgraph.Relation{Goroutines: filter.Goroutines, System: o.system}
	if o.finding > 0 {
		res, err := detect.Run(path, parse.Options{Jobs: o.jobs}, detect.DefaultConfig())
		if res == nil {
			return &exitError{code: ExitUsage, err: err}
		}
		if o.finding > len(res.Findings) {
			return o.noFinding(len(res.Findings))
		}
		rel = hbgraph.Relation{Goroutines: findingNames(res.Findings[o.finding-1]), Into: true}
	}
	b := hbgraph.NewBuilder(hbgraph.Options{Relate: &rel})
	if t, err := parse.File(path, parse.Options{DropBlocks: true, DropExited: true, Jobs: o.jobs}, b); t == nil {
		return &exitError{code: ExitUsage, err: err}
	}
	related, seen := b.Related()
	ids := slices.Clone(filter.Goroutines)
	if o.finding > 0 {
		ids = seen
		if len(ids) == 0 {
			return o.quietFinding()
		}
	}
	named := make(map[parse.GoID]bool, len(ids))
	for _, id := range ids {
		named[id] = true
	}
	for _, id := range related {
		if !named[id] {
			ids = append(ids, id)
		}
	}
	filter.Goroutines, filter.Related = ids, false
	return nil
}

// noFinding is the usage error for a --finding past the trace's n findings.
func (o *hbOptions) noFinding(n int) error {
	return usageError("--finding %d: the trace has %s (blockscope analyze lists them)", o.finding, pluralFindings(n))
}

// quietFinding is the usage error for a --finding whose goroutines the
// graph has no node of.
func (o *hbOptions) quietFinding() error {
	return usageError("--finding %d: none of its goroutines took part in any synchronization the trace shows", o.finding)
}

// findingNames are the goroutines a finding names: its own, then those of
// its related sites (holders, creators, wakers).
func findingNames(f detect.Finding) []parse.GoID {
	var ids []parse.GoID
	add := func(id parse.GoID) {
		if id > 0 && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, id := range f.Goroutines {
		add(id)
	}
	for _, r := range f.Related {
		add(r.Goroutine)
	}
	return ids
}

// findingGoroutines are the goroutines a finding names (its own, then
// those of its related sites: holders, creators, wakers) that have a lane
// in the graph, and the goroutines with an edge into theirs (who started,
// woke or released to them): the happens-before paths to their blocks.
func findingGoroutines(g *hbgraph.Graph, f detect.Finding) []parse.GoID {
	var ids []parse.GoID
	add := func(id parse.GoID) {
		if g.Lane(id) != nil && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, id := range findingNames(f) {
		add(id)
	}
	named := slices.Clone(ids)
	for _, e := range g.Edges() {
		from, to := g.Node(e.From).G, g.Node(e.To).G
		if slices.Contains(named, to) && !g.Lane(from).System {
			add(from)
		}
	}
	return ids
}

// write writes the output to -o's file, or to stdout.
func (o *hbOptions) write(stdout io.Writer, data []byte) error {
	if o.output == "" || o.output == "-" {
		_, err := stdout.Write(data)
		return err
	}
	if err := os.WriteFile(o.output, data, 0o644); err != nil {
		return fmt.Errorf("writing the graph: %w", err)
	}
	return nil
}
