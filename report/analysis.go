package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/blockscope/blockscope/detect"
)

// Analysis is what every output format renders: the outcome of one run of
// blockscope over one or more traces. One shared type for every format,
// as golangci-lint's printers share one issue type: a format reads what it
// needs and ignores the rest.
//
// It is built three ways, which all give the same Analysis for the same
// traces:
//
//   - [FromResult]: the findings of one trace, as detect.Run returns them;
//   - [Merge]: several Analyses, one per trace (analyze a.trace b.trace),
//     or read back from JSON reports ([ReadJSON]) written on other machines
//     (blockscope merge *.json): traces are concatenated and findings with
//     the same [Fingerprint] become one, with the traces that showed it;
//   - by a go test runner, which also fills Tests.
//
// Then a baseline may move findings from Findings to Baselined and
// Suppressed, and formats that need more than findings (pprof's blocking
// profile) get it through their [Format.Gather]: data gathered by a
// parse.Consumer during the one pass over each trace, added here after
// the merge (see [Gatherer]).
type Analysis struct {
	// Traces describes each trace read, in the order given. Findings and
	// Tests refer to them by index.
	Traces []TraceInfo
	// Findings are the findings to report and gate on: neither baselined
	// nor suppressed. Merged by fingerprint across traces, and sorted as
	// detect.Sort sorts them.
	Findings []Finding
	// Baselined counts the findings left out because a baseline holds their
	// fingerprint (a baseline's findings are known, so not listed).
	Baselined int
	// Suppressed are the findings a suppression matched, with its reason:
	// reported as suppressed, never silently dropped, and never failing.
	Suppressed []Suppressed
	// Tests are the outcomes of the tests of a go test run, one per test
	// and trace; empty for analyze. JUnit lists them (the tests that passed
	// too); a finding's Test names the test it is attributed to.
	Tests []Test
	// Blocking is the blocking profile of every blocked interval, gathered
	// only when a format asks for it (pprof); nil otherwise.
	Blocking *BlockProfile
	// Timelines are what the HTML page draws of each trace, in the order
	// of Traces, gathered only when a format asks for them (html).
	Timelines []*Timeline

	// Gate is the run's --fail-on, for formats that mark the findings that
	// fail the run (JUnit's failures, the verdicts); the zero Gate fails
	// none.
	Gate Gate
	// Paths is where the module is, for formats that need file paths
	// relative to it (SARIF, GitHub annotations); the zero Paths leaves
	// paths as the trace has them.
	Paths Paths
}

// Gate says which findings fail the run.
type Gate struct {
	FailOn string                    // as given to --fail-on; "" or "none": none fails
	Fails  func(detect.Finding) bool // nil: none fails
}

// Failing reports whether f fails the run.
func (g Gate) Failing(f detect.Finding) bool {
	return g.Fails != nil && g.Fails(f)
}

// Finding is a detect.Finding with what identifies it across runs and
// traces. It encodes to JSON as the detect.Finding's fields plus
// "fingerprint" and "traces".
type Finding struct {
	detect.Finding
	// Fingerprint is stable across reruns and unrelated edits (see
	// [Fingerprint]); baselines and SARIF's partialFingerprints use it.
	Fingerprint string `json:"fingerprint"`
	// Traces are the indexes in Analysis.Traces of the traces that showed
	// the finding, in order. The detect.Finding's goroutine ids, stacks and
	// durations are those of the first trace that showed it with its
	// highest severity; Duration is the longest in any trace, Total sums
	// them.
	Traces []int `json:"traces"`
}

// Suppressed is a finding a suppression matched.
type Suppressed struct {
	Finding
	// Reason is the suppression's reason, as written in the baseline file.
	Reason string `json:"reason"`
}

// Test is the outcome of one test of a go test run.
type Test struct {
	Trace   int    `json:"trace"`   // index in Analysis.Traces: the trace of the test's package
	Package string `json:"package"` // import path
	Name    string `json:"name"`    // as go test names it: TestFoo/sub
	// Outcome is "pass", "fail" or "skip", as test2json's Action says.
	Outcome string        `json:"outcome"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// Output is the test's output, for a failure's details.
	Output string `json:"output,omitempty"`
}

// FromResult is the Analysis of one trace, its findings fingerprinted.
func FromResult(res *detect.Result) *Analysis {
	info := Info(res.Trace)
	sum := res.Summary
	info.Program = ProgramInfo{
		Goroutines: sum.Goroutines, Created: sum.Created, Exited: sum.Exited,
		BlockedAtEnd: sum.BlockedAtEnd, Left: sum.Left,
		BlockedByReason: make(map[string]int64, len(sum.BlockedByReason)),
	}
	for r, d := range sum.BlockedByReason {
		info.Program.BlockedByReason[r] = int64(d)
	}
	info.Ignored = res.Ignored
	a := &Analysis{Traces: []TraceInfo{info}}
	for _, f := range res.Findings {
		a.Findings = append(a.Findings, Finding{Finding: f, Fingerprint: Fingerprint(f), Traces: []int{0}})
	}
	return a
}

// Merge concatenates the Analyses' traces and tests, and merges their
// findings by fingerprint: one finding for each fingerprint, listing every
// trace that showed it. Baselined counts and suppressed findings add up.
// Blocking profiles are not merged here: gatherers add theirs to the
// result (see [Gatherer]).
func Merge(as ...*Analysis) *Analysis {
	out := &Analysis{}
	// byKey pairs the n-th finding with a fingerprint in one Analysis with
	// the n-th in the others: two findings of one trace never merge.
	byKey := map[string]int{} // fingerprint#n → index in out.Findings
	for _, a := range as {
		base := len(out.Traces)
		out.Traces = append(out.Traces, a.Traces...)
		out.Baselined += a.Baselined
		for _, s := range a.Suppressed {
			s.Traces = shift(s.Traces, base)
			out.Suppressed = append(out.Suppressed, s)
		}
		for _, t := range a.Tests {
			t.Trace += base
			out.Tests = append(out.Tests, t)
		}
		nth := map[string]int{} // fingerprint → findings of a with it so far
		for _, f := range a.Findings {
			f.Traces = shift(f.Traces, base)
			key := fmt.Sprintf("%s#%d", f.Fingerprint, nth[f.Fingerprint])
			nth[f.Fingerprint]++
			i, seen := byKey[key]
			if !seen {
				byKey[key] = len(out.Findings)
				out.Findings = append(out.Findings, f)
				continue
			}
			out.Findings[i] = mergeFinding(out.Findings[i], f)
		}
	}
	sortFindings(out.Findings)
	slices.SortStableFunc(out.Suppressed, func(a, b Suppressed) int { return compareFindings(a.Finding, b.Finding) })
	return out
}

// mergeFinding folds b, seen in later traces, into a.
func mergeFinding(a, b Finding) Finding {
	traces := append(slices.Clone(a.Traces), b.Traces...)
	slices.Sort(traces)
	traces = slices.Compact(traces)
	dur, total := max(a.Duration, b.Duration), totalOf(a)+totalOf(b)
	if b.Severity.Rank() < a.Severity.Rank() {
		a = b
	}
	a.Traces, a.Duration, a.Total = traces, dur, total
	return a
}

// totalOf is a finding's total duration: Total, or Duration when it has
// only one.
func totalOf(f Finding) time.Duration {
	if f.Total > 0 {
		return f.Total
	}
	return f.Duration
}

func shift(idx []int, base int) []int {
	out := make([]int, len(idx))
	for i, v := range idx {
		out[i] = v + base
	}
	return out
}

// sortFindings orders findings as detect.Sort does.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, compareFindings)
}

func compareFindings(a, b Finding) int { return detect.Compare(a.Finding, b.Finding) }
