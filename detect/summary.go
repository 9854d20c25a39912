package detect

import (
	"time"

	"github.com/blockscope/blockscope/parse"
)

// Summary counts the program's own goroutines and their blocked time,
// leaving out the runtime's, the tracer's and package testing's: what a
// report's summary shows unless asked for everything.
type Summary struct {
	// Goroutines, Created, Exited and BlockedAtEnd count the program's
	// goroutines (seen, created during the trace, exited, waiting at its
	// end).
	Goroutines, Created, Exited, BlockedAtEnd int
	// Left counts the goroutines left out: the runtime's, the tracer's,
	// and package testing's own (its runner, alarms, and test goroutines
	// idle in the framework at the end).
	Left int
	// BlockedByReason sums, by wait reason, the time the program's
	// goroutines spent blocked (goroutine-time: two goroutines blocked for
	// the same second count two seconds), leaving out waits in package
	// testing's own code.
	BlockedByReason map[string]time.Duration
}

// summarizer builds a Summary in the pass.
type summarizer struct {
	sum  Summary
	idle map[parse.StackID]bool // stack → blocked in package testing's own code
}

func newSummarizer() *summarizer {
	return &summarizer{
		sum:  Summary{BlockedByReason: make(map[string]time.Duration)},
		idle: make(map[parse.StackID]bool),
	}
}

// harnessWait reports (and caches) whether a blocked stack waits in
// package testing's own code.
func (s *summarizer) harnessWait(t *parse.Trace, stack parse.StackID) bool {
	idle, ok := s.idle[stack]
	if !ok {
		idle = idleFramework(t.Stacks, stack)
		s.idle[stack] = idle
	}
	return idle
}

// Kinds are the events summarizer takes (see parse.Selective).
func (*summarizer) Kinds() parse.Kinds {
	return parse.KindsOf(parse.EvWake, parse.EvExit)
}

func (s *summarizer) Event(t *parse.Trace, ev *parse.Event) {
	if ev.Kind == parse.EvExit {
		// Counted now: the record may be dropped (parse.Options.DropExited).
		if g := t.Goroutine(ev.G); g != nil {
			s.count(t, g)
		}
	}
	if ev.Kind != parse.EvWake {
		return
	}
	if g := t.Goroutine(ev.G); g == nil || g.System || s.harnessWait(t, ev.Stack) {
		return
	}
	s.sum.BlockedByReason[ev.Reason] += time.Duration(ev.Time - ev.Start)
}

func (s *summarizer) Finalize(t *parse.Trace) {
	for g := range t.All() {
		if g.State != parse.StateExited { // exits were counted as they came
			s.count(t, g)
		}
	}
}

// count adds a goroutine, exited or at the end of the trace, to the
// summary.
func (s *summarizer) count(t *parse.Trace, g *parse.Goroutine) {
	waiting := g.State == parse.StateWaiting
	if g.System || harnessGoroutine(g.Entry) || waiting && s.harnessWait(t, g.Stack) {
		s.sum.Left++
		return
	}
	s.sum.Goroutines++
	if !g.Preexisting {
		s.sum.Created++
	}
	switch {
	case g.State == parse.StateExited:
		s.sum.Exited++
	case waiting:
		s.sum.BlockedAtEnd++
		end := parse.Time(t.End - t.Start)
		s.sum.BlockedByReason[g.Reason] += time.Duration(end - g.Since)
	}
}

// harnessGoroutine reports whether a goroutine starting in entry is
// package testing's own (its runner's helpers, the -timeout alarm), not a
// test: tests start in testing.tRunner.
func harnessGoroutine(entry string) bool {
	return entry != "testing.tRunner" && (parse.Frame{Func: entry}).Package() == "testing"
}
