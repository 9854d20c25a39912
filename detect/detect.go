// Package detect runs blockscope's detectors over a trace and reports their
// findings.
//
// A detector is a value ([Detector]) whose analyzer consumes parse's event
// stream in the same single pass as every other and reports findings when
// the trace ends. Findings point at the user's line (see
// [parse.Stacks.Location]) and say which evidence they rest on.
package detect

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/parse"
)

// Severity ranks a finding.
type Severity string

// The severities, most severe first.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Rank orders severities: 0 for error, 1 for warning, 2 for info.
func (s Severity) Rank() int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}

// AtLeast reports whether s is min or more severe.
func (s Severity) AtLeast(min Severity) bool { return s.Rank() <= min.Rank() }

// Evidence names what a finding rests on.
type Evidence string

// The evidence sources.
const (
	// EvidenceRuntime: the runtime's own scheduling events, which carry no
	// object identity.
	EvidenceRuntime Evidence = "runtime"
	// EvidenceAnnotations: blockscope primitives' annotations, which name
	// the object and pair each release with its acquire.
	EvidenceAnnotations Evidence = "annotations"
)

// Confidences of findings about primitive objects (mutex-wait,
// semaphore-queue, singleflight-fanin).
const (
	// ConfidenceExact: from primitives' annotations, which name the
	// object and pair each release with its acquire.
	ConfidenceExact = "exact"
	// ConfidencePerCallSite: from the runtime's events alone; waits are
	// grouped by call site, which may serve more than one object.
	ConfidencePerCallSite = "per-call-site"
)

// Site is a place in the program: a location and the stack it was read from.
type Site struct {
	// Goroutine is 0 (and left out of JSON) for a site several goroutines
	// share, such as the most common Release call of a semaphore.
	Goroutine parse.GoID    `json:"goroutine,omitempty"`
	Location  parse.Frame   `json:"location"`
	Stack     []parse.Frame `json:"stack,omitempty"`
	// UserFrame is the index in Stack of the frame the user's code begins
	// at (see [parse.LocationIndex]); frames before it are the runtime's,
	// sync's or blockscope's primitives'.
	UserFrame int `json:"user_frame,omitempty"`
}

// Related is another goroutine that plays a part in a finding: the holder
// of a lock, the creator of a leaked goroutine, a waker.
type Related struct {
	Role string `json:"role"`
	Site
}

// Finding is one thing blockscope reports. Its JSON field names are stable.
type Finding struct {
	Kind       string       `json:"kind"`
	Severity   Severity     `json:"severity"`
	Confidence string       `json:"confidence,omitempty"`
	Cause      string       `json:"cause,omitempty"` // the kind of bug, where a detector tells them apart (see Deadlock)
	Message    string       `json:"message"`
	Goroutines []parse.GoID `json:"goroutines"`
	// Count is the number of goroutines involved when Goroutines lists
	// only some of them (0: Goroutines lists them all).
	Count    int           `json:"count,omitempty"`
	Location parse.Frame   `json:"location"`
	Stack    []parse.Frame `json:"stack"`
	// UserFrame is the index in Stack of the frame the user's code begins
	// at (see [parse.LocationIndex]).
	UserFrame int      `json:"user_frame"`
	Evidence  Evidence `json:"evidence"`
	// Reason is the wait reason, for findings about blocked goroutines.
	Reason string `json:"reason,omitempty"`
	// Duration is the finding's main duration (the longest block or wait);
	// Total sums them where there are several.
	Duration time.Duration `json:"duration_ns"`
	Total    time.Duration `json:"total_ns,omitempty"`
	// Created says how the goroutines came to be: one creation chain per
	// distinct way (see Creation).
	Created []Creation `json:"created,omitempty"`
	// Test is the test that (transitively) started the goroutines, if
	// they all come from one; Tests lists them, for a leak.
	Test    string     `json:"test,omitempty"`
	Tests   []LeakTest `json:"tests,omitempty"`
	Related []Related  `json:"related,omitempty"`
	// Object names the primitive object a finding is about, where known.
	Object string `json:"object,omitempty"`
	// Stats holds detector-specific figures (counts, percentiles in ns).
	Stats map[string]int64 `json:"stats,omitempty"`
	// HolderStates (mutex-wait) is the share of the waited time the root
	// holder spent running, blocked, runnable, or the waiters queued behind
	// others: fractions that sum to 1.
	HolderStates map[string]float64 `json:"holder_states,omitempty"`
	// Hint says what to look at and what usually fixes it.
	Hint string `json:"hint,omitempty"`
}

// Analyzer is one detector's state over one pass.
type Analyzer interface {
	parse.Consumer
	// Findings returns what the analyzer found; called after Finalize.
	Findings() []Finding
}

// Detector is a kind of finding and the analyzer that reports it.
type Detector struct {
	Name string // the finding kind, as --fail-on names it
	Doc  string // one paragraph: what it reports, its evidence and flags
	New  func(cfg *Config) Analyzer
}

// registry holds every detector; each detector's file registers itself.
var registry []*Detector

// register adds a detector; called from init in the detector's file.
func register(d *Detector) *Detector {
	registry = append(registry, d)
	slices.SortFunc(registry, func(a, b *Detector) int { return strings.Compare(a.Name, b.Name) })
	return d
}

// Detectors lists every detector, by name.
func Detectors() []*Detector {
	return slices.Clone(registry)
}

// Lookup returns the detector of that name, or nil.
func Lookup(name string) *Detector {
	for _, d := range Detectors() {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Result is the outcome of Run.
type Result struct {
	Trace    *parse.Trace
	Findings []Finding
	// Summary counts the program's own goroutines (see [Summary]).
	Summary Summary
	// Ignored are the goroutines set aside as known or by
	// --ignore-created-by (see [LeakOptions]): listed, never findings.
	Ignored []Ignored
	// Explain says, by detector name, why the goroutine
	// LeakOptions.Explain names was or was not reported, for the
	// detectors that can say.
	Explain map[string]string
}

// Run parses the trace at path ("-" for opts.Stdin) with every detector in
// one pass; the extra consumers see the same stream. Detectors keep
// summaries, so Run sets opts.DropBlocks and opts.DropExited: the trace
// keeps the records of live goroutines and of those a live one's creation
// chain runs through (an extra consumer that needs another exited
// goroutine's record after the pass calls Trace.Retain while it lives).
// Like parse.File, it returns a partial result together with the error
// when the trace could be read only in part.
func Run(path string, opts parse.Options, cfg *Config, consumers ...parse.Consumer) (*Result, error) {
	opts.DropBlocks, opts.DropExited = true, true
	return run(func(cs []parse.Consumer) (*parse.Trace, error) { return parse.File(path, opts, cs...) }, cfg, consumers)
}

// RunReader is Run on a trace read from r, such as a flight recorder's
// snapshot held in memory; opts.Path names it in errors. A snapshot is
// small, so unlike Run it keeps every goroutine's record, exited or not,
// for callers that follow the creation chains of the goroutines findings
// name (unless opts.DropExited).
func RunReader(r io.Reader, opts parse.Options, cfg *Config, consumers ...parse.Consumer) (*Result, error) {
	opts.DropBlocks = true
	return run(func(cs []parse.Consumer) (*parse.Trace, error) { return parse.Parse(r, opts, cs...) }, cfg, consumers)
}

// run is Run and RunReader, parsing with read.
func run(read func([]parse.Consumer) (*parse.Trace, error), cfg *Config, consumers []parse.Consumer) (*Result, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	sum := newSummarizer()
	consumers = append(consumers, sum)
	var analyzers []Analyzer
	var names []string
	for _, d := range Detectors() {
		a := d.New(cfg)
		analyzers = append(analyzers, a)
		names = append(names, d.Name)
		consumers = append(consumers, a)
	}
	t, err := read(consumers)
	if t == nil {
		return nil, err
	}
	reconcileLeaks(analyzers)
	res := &Result{Trace: t, Summary: sum.sum}
	for i, a := range analyzers {
		res.Findings = append(res.Findings, a.Findings()...)
		if ig, ok := a.(interface{ Ignored() []Ignored }); ok {
			res.Ignored = append(res.Ignored, ig.Ignored()...)
		}
		if ex, ok := a.(interface{ Explain() string }); ok && cfg.Leak.Explain != 0 {
			if res.Explain == nil {
				res.Explain = make(map[string]string)
			}
			res.Explain[names[i]] = ex.Explain()
		}
	}
	res.Findings = dropExplained(res.Findings)
	Sort(res.Findings)
	markUserFrames(res.Findings)
	addCreations(t, res.Findings)
	for i := range res.Findings {
		res.Findings[i].Object = t.LabelObjects(res.Findings[i].Object)
	}
	return res, err
}

// markUserFrames sets where the user's code begins in findings' stacks.
func markUserFrames(fs []Finding) {
	for i := range fs {
		f := &fs[i]
		f.UserFrame = parse.LocationIndex(f.Stack)
		for j := range f.Related {
			f.Related[j].UserFrame = parse.LocationIndex(f.Related[j].Stack)
		}
	}
}

// Sort orders findings by kind, file, line and first goroutine, so output
// is deterministic (see [Compare]).
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, Compare)
}

// Compare orders two findings by kind, file, line, first goroutine and
// message: the order of every report.
func Compare(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Location.File, b.Location.File),
		cmp.Compare(a.Location.Line, b.Location.Line),
		cmp.Compare(firstG(a), firstG(b)),
		cmp.Compare(a.Message, b.Message),
	)
}

func firstG(f Finding) parse.GoID {
	if len(f.Goroutines) == 0 {
		return -1
	}
	return f.Goroutines[0]
}

// site builds a Site from a goroutine and one of its stacks.
func site(t *parse.Trace, g parse.GoID, stack parse.StackID) Site {
	loc, _ := t.Stacks.Location(stack)
	return Site{Goroutine: g, Location: loc, Stack: t.Stacks.Frames(stack)}
}

// plural returns "1 goroutine" or "3 goroutines".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// shortFunc drops the package path from a function name.
func shortFunc(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	if dot := strings.IndexByte(fn[slash+1:], '.'); dot >= 0 {
		return fn[slash+1+dot+1:]
	}
	return fn
}

// roundDuration rounds for messages: 3 significant figures at most.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(10 * time.Nanosecond)
	}
	return d
}
