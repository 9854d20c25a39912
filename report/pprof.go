package report

import (
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/blockscope/blockscope/parse"
)

var _ = register(&Format{
	Name:   "pprof",
	Doc:    "a blocking profile of every blocked interval for go tool pprof (gzipped protobuf)",
	Binary: true,
	Gather: func() Gatherer { return newBlockGatherer() },
	Write:  Pprof,
})

// BlockProfile is how long goroutines spent blocked, per blocked stack and
// wait reason: what `go tool trace -pprof=sync` (and =net, and the
// channel waits none of them give) would write, from one pass and in one
// file, with system calls (=syscall) as intervals of reason "syscall":
// from the call's entry to its return (when the goroutine became runnable
// again). Every interval counts, the ones still open at the end of the
// trace included; the runtime's and the tracer's own goroutines do not.
type BlockProfile struct {
	Samples  []BlockSample
	Duration time.Duration // the traces' summed length
	index    map[string]int
}

// BlockSample is the blocked intervals of one stack and wait reason.
type BlockSample struct {
	Reason string        // the wait reason, as parse names it ("chan send")
	Stack  []parse.Frame // innermost first
	Count  int64         // intervals
	Delay  time.Duration // their summed length
}

func (p *BlockProfile) add(s BlockSample) {
	if p.index == nil {
		p.index = map[string]int{}
	}
	var key strings.Builder
	key.WriteString(s.Reason)
	for _, fr := range s.Stack {
		key.WriteString("\n" + fr.Func + " " + fr.String())
	}
	if i, ok := p.index[key.String()]; ok {
		p.Samples[i].Count += s.Count
		p.Samples[i].Delay += s.Delay
		return
	}
	p.index[key.String()] = len(p.Samples)
	p.Samples = append(p.Samples, s)
}

// blockGatherer sums blocked intervals per stack and reason as they end.
type blockGatherer struct {
	byStack map[blockKey]*BlockSample
	profile BlockProfile
	// syscalls are the system calls under way, by goroutine.
	syscalls map[parse.GoID]syscall
}

// syscall is a system call under way: when it began, and where.
type syscall struct {
	start parse.Time
	stack parse.StackID
}

// ReasonSyscall is the reason of a system call's interval in a
// [BlockProfile] (parse names waits, and a system call is none).
const ReasonSyscall = "syscall"

type blockKey struct {
	stack  parse.StackID
	reason string
}

func newBlockGatherer() *blockGatherer {
	return &blockGatherer{byStack: map[blockKey]*BlockSample{}, syscalls: map[parse.GoID]syscall{}}
}

func (g *blockGatherer) Event(t *parse.Trace, ev *parse.Event) {
	switch ev.Kind {
	case parse.EvWake:
		g.interval(t, ev.G, ev.Stack, ev.Reason, ev.Time-ev.Start)
	case parse.EvStop:
		if gr := t.Goroutine(ev.G); gr != nil && gr.State == parse.StateSyscall {
			g.syscalls[ev.G] = syscall{ev.Time, ev.Stack}
		}
	case parse.EvRun:
		// Back from the system call when the goroutine became runnable
		// (ev.Start), or now when it went on running.
		if sc, ok := g.syscalls[ev.G]; ok {
			delete(g.syscalls, ev.G)
			g.interval(t, ev.G, sc.stack, ReasonSyscall, max(ev.Start, sc.start)-sc.start)
		}
	case parse.EvExit:
		delete(g.syscalls, ev.G)
	}
}

func (g *blockGatherer) interval(t *parse.Trace, id parse.GoID, stack parse.StackID, reason string, d parse.Time) {
	if reason == parse.ReasonSystem {
		return
	}
	if gr := t.Goroutine(id); gr == nil || gr.System {
		return
	}
	k := blockKey{stack, reason}
	s := g.byStack[k]
	if s == nil {
		s = &BlockSample{Reason: reason}
		g.byStack[k] = s
	}
	s.Count++
	s.Delay += d.Duration()
}

// Finalize adds the intervals still open at the end, and turns stack ids
// into frames.
func (g *blockGatherer) Finalize(t *parse.Trace) {
	end := parse.Time(t.End - t.Start)
	for _, gr := range t.Goroutines() {
		if gr.State == parse.StateWaiting {
			g.interval(t, gr.ID, gr.Stack, gr.Reason, end-gr.Since)
		}
	}
	for id, sc := range g.syscalls {
		if gr := t.Goroutine(id); gr != nil && gr.State == parse.StateSyscall {
			g.interval(t, id, sc.stack, ReasonSyscall, end-sc.start)
		}
	}
	keys := make([]blockKey, 0, len(g.byStack))
	for k := range g.byStack {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b blockKey) int {
		if a.stack != b.stack {
			return int(a.stack - b.stack)
		}
		return strings.Compare(a.reason, b.reason)
	})
	for _, k := range keys {
		s := *g.byStack[k]
		s.Stack = t.Stacks.Frames(k.stack)
		g.profile.add(s)
	}
	g.profile.Duration = t.Duration()
	g.byStack = nil
}

// AddTo adds this trace's intervals to a's blocking profile.
func (g *blockGatherer) AddTo(a *Analysis) {
	if a.Blocking == nil {
		a.Blocking = &BlockProfile{}
	}
	for _, s := range g.profile.Samples {
		a.Blocking.add(s)
	}
	a.Blocking.Duration += g.profile.Duration
}

// reasonLabel groups wait reasons as go tool trace's -pprof kinds do:
// chan, select, sync, net, sleep, or the reason itself.
func reasonLabel(reason string) string {
	switch reason {
	case parse.ReasonChanSend, parse.ReasonChanReceive, parse.ReasonForever:
		return "chan"
	case parse.ReasonSelect:
		return "select"
	case parse.ReasonSync, parse.ReasonCond:
		return "sync"
	case parse.ReasonNetwork:
		return "net"
	case parse.ReasonSleep:
		return "sleep"
	case ReasonSyscall:
		return "syscall"
	}
	return reason
}

// Pprof writes a's blocking profile as a gzipped pprof protobuf: sample
// types contentions/count and delay/nanoseconds (as Go's own block
// profile), each sample the blocked stack, labelled "reason" (chan, select,
// sync, net, sleep, ...) and "wait" (the exact wait reason). With no
// profile gathered it writes an empty one.
func Pprof(w io.Writer, a *Analysis) error {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "contentions", Unit: "count"},
			{Type: "delay", Unit: "nanoseconds"},
		},
		DefaultSampleType: "delay",
		PeriodType:        &profile.ValueType{Type: "contentions", Unit: "count"},
		Period:            1,
	}
	if a.Blocking != nil {
		p.DurationNanos = int64(a.Blocking.Duration)
		funcs := map[[2]string]*profile.Function{}
		locs := map[parse.Frame]*profile.Location{}
		for _, s := range a.Blocking.Samples {
			sample := &profile.Sample{
				Value: []int64{s.Count, int64(s.Delay)},
				Label: map[string][]string{"reason": {reasonLabel(s.Reason)}, "wait": {s.Reason}},
			}
			for _, fr := range s.Stack {
				loc := locs[fr]
				if loc == nil {
					fn := funcs[[2]string{fr.Func, fr.File}]
					if fn == nil {
						fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: fr.Func, SystemName: fr.Func, Filename: fr.File}
						funcs[[2]string{fr.Func, fr.File}] = fn
						p.Function = append(p.Function, fn)
					}
					loc = &profile.Location{ID: uint64(len(p.Location) + 1), Line: []profile.Line{{Function: fn, Line: int64(fr.Line)}}}
					locs[fr] = loc
					p.Location = append(p.Location, loc)
				}
				sample.Location = append(sample.Location, loc)
			}
			p.Sample = append(p.Sample, sample)
		}
	}
	return p.Write(w)
}
