package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// explainBlocks collects one goroutine's blocking intervals during the
// pass, with who woke it.
type explainBlocks struct {
	id     parse.GoID
	blocks []parse.Block
}

func (e *explainBlocks) Event(t *parse.Trace, ev *parse.Event) {
	if ev.G != e.id {
		return
	}
	t.Retain(e.id) // explained after the pass, exited or not
	switch ev.Kind {
	case parse.EvBlock:
		e.blocks = append(e.blocks, parse.Block{Start: ev.Time, Reason: ev.Reason, Stack: ev.Stack, Waker: parse.NoGoroutine})
	case parse.EvWake:
		if n := len(e.blocks); n > 0 && e.blocks[n-1].End == 0 {
			b := &e.blocks[n-1]
			b.End, b.Waker, b.WakerStack = ev.Time, ev.Peer, ev.PeerStack
		}
	}
}

func (e *explainBlocks) Finalize(*parse.Trace) {}

// explain writes why each detector did or did not report one goroutine:
// its creation chain, its blocking intervals with reason and waker, its
// test, and each detector's verdict.
func explain(w io.Writer, path string, opts parse.Options, cfg *detect.Config, id parse.GoID) error {
	cfg.Leak.Explain = id
	blocks := &explainBlocks{id: id}
	res, readErr := detect.Run(path, opts, cfg, blocks)
	if res == nil {
		return &exitError{code: ExitUsage, err: readErr}
	}
	t := res.Trace
	g := t.Goroutine(id)
	if g == nil {
		return usageError("--explain %d: no goroutine %d in %s", id, id, t.Path)
	}
	at := func(stack parse.StackID) string {
		if f, ok := t.Stacks.Location(stack); ok {
			return fmt.Sprintf("%s (%s:%d)", f.Func, baseName(f.File), f.Line)
		}
		return "an unknown place"
	}
	ms := func(tm parse.Time) string { return tm.Duration().Round(time.Microsecond).String() }

	fmt.Fprintf(w, "Goroutine %d: %s\n", id, orUnknown(g.Entry))
	switch g.State {
	case parse.StateWaiting:
		fmt.Fprintf(w, "  at the end: waiting (%s) since %s, in %s\n", g.Reason, ms(g.Since), at(g.Stack))
	case parse.StateExited:
		fmt.Fprintf(w, "  exited at %s\n", ms(g.Exited))
	default:
		fmt.Fprintf(w, "  at the end: %s since %s\n", g.State, ms(g.Since))
	}
	if test, ok := t.TestOf(id); ok {
		what := "test"
		if test.Example {
			what = "example"
		}
		sub, done := "", "had returned"
		if test.Subtest {
			sub = " (in a subtest)"
		}
		if !test.Done {
			done = "had not finished when the trace ended"
		}
		fmt.Fprintf(w, "  %s: %s%s, which %s\n", what, orUnknown(test.Name), sub, done)
	} else {
		fmt.Fprintf(w, "  test: none (started outside any test)\n")
	}

	fmt.Fprintf(w, "\nCreation chain\n")
	seen := 0
	for cur := g; cur != nil && seen < 50; cur = t.Goroutine(cur.Creator) {
		seen++
		switch {
		case cur.Preexisting:
			fmt.Fprintf(w, "  goroutine %d (%s) existed before the trace began\n", cur.ID, orUnknown(cur.Entry))
		case cur.Creator == parse.NoGoroutine:
			fmt.Fprintf(w, "  goroutine %d (%s) started at %s by no goroutine (a timer's function, or the runtime)\n", cur.ID, orUnknown(cur.Entry), ms(cur.Created))
		default:
			fmt.Fprintf(w, "  goroutine %d (%s) created at %s by goroutine %d in %s\n", cur.ID, orUnknown(cur.Entry), ms(cur.Created), cur.Creator, at(cur.CreateStack))
		}
		if t.IsTestRunner(cur.Creator) {
			fmt.Fprintf(w, "  goroutine %d runs the tests\n", cur.Creator)
			break
		}
	}

	fmt.Fprintf(w, "\nBlocking (%s in the trace)\n", countOf(len(blocks.blocks), "interval"))
	const shown = 20
	for i, b := range blocks.blocks {
		if i == shown/2 && len(blocks.blocks) > shown {
			fmt.Fprintf(w, "  … %d more …\n", len(blocks.blocks)-shown)
		}
		if i >= shown/2 && i < len(blocks.blocks)-shown/2 {
			continue
		}
		switch {
		case b.End == 0:
			fmt.Fprintf(w, "  %s–end  %s in %s, still blocked\n", ms(b.Start), b.Reason, at(b.Stack))
		case b.Waker == parse.NoGoroutine:
			fmt.Fprintf(w, "  %s–%s  %s in %s, woken by a timer, the network poller or itself\n", ms(b.Start), ms(b.End), b.Reason, at(b.Stack))
		default:
			fmt.Fprintf(w, "  %s–%s  %s in %s, woken by goroutine %d in %s\n", ms(b.Start), ms(b.End), b.Reason, at(b.Stack), b.Waker, at(b.WakerStack))
		}
	}

	fmt.Fprintf(w, "\nDetectors\n")
	for _, d := range detect.Detectors() {
		var in []string
		for i, f := range res.Findings {
			if f.Kind == d.Name && (slices.Contains(f.Goroutines, id) || slices.ContainsFunc(f.Related, func(r detect.Related) bool { return r.Goroutine == id })) {
				in = append(in, fmt.Sprintf("#%d %s (%s)", i+1, f.Severity, orUnknown(f.Confidence)))
			}
		}
		why := res.Explain[d.Name]
		switch {
		case len(in) > 0 && why != "":
			fmt.Fprintf(w, "  %s: in finding %s: %s\n", d.Name, strings.Join(in, ", "), why)
		case len(in) > 0:
			fmt.Fprintf(w, "  %s: in finding %s\n", d.Name, strings.Join(in, ", "))
		case why != "":
			fmt.Fprintf(w, "  %s: %s\n", d.Name, why)
		default:
			fmt.Fprintf(w, "  %s: not in any of its findings (it reports %s)\n", d.Name, d.Doc)
		}
	}
	if readErr != nil {
		fmt.Fprintf(w, "\nWARNING: %v\n", readErr)
	}
	return nil
}

// countOf returns "1 interval" or "3 intervals".
func countOf(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func baseName(path string) string {
	return path[strings.LastIndexByte(path, '/')+1:]
}
