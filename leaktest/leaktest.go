// Package leaktest fails a test that leaves goroutines behind, judged from
// an execution trace of the test: goleak's one line, with the test that
// leaked, who created each goroutine and whether anything can still wake it.
//
//	func TestServe(t *testing.T) {
//		defer leaktest.VerifyNone(t)
//		...
//	}
//
// or, for every test of a package at once, naming each test that leaked:
//
//	func TestMain(m *testing.M) {
//		leaktest.VerifyTestMain(m)
//	}
//
// # Recording
//
// A test binary that links this package starts a runtime/trace flight
// recorder when it initializes, before any test runs, so the goroutines a
// test starts after `defer VerifyNone(t)` are in the trace with their
// creator. The recorder keeps the last ten minutes of the trace, or about
// 32 MiB of it, whichever is less; VerifyNone snapshots it only when a
// goroutine is still there after a short wait, so a clean test costs a
// goroutine dump (about 40 µs). What tracing costs while tests run: the
// runtime records every scheduling event (a blocking channel round trip
// takes 0.7–1.3 µs instead of 0.3 µs, BenchmarkPingPong; code that
// rarely blocks pays little), blockscope's primitives write their
// annotations (trace.IsEnabled is true for the whole run), and the
// window's memory. Set
// BLOCKSCOPE_LEAKTEST=off to turn the recorder off: leaks are then judged
// from the goroutines' stacks alone, as goleak judges them.
//
// The flight recorder runs alongside `go test -trace` (Go 1.25 and later
// allow one trace.Start and one flight recorder at once), so blockscope
// test and a trace of your own still work. A test binary can have only one
// flight recorder: a test that starts its own gets an error from Start.
//
// # What is a leak
//
// A goroutine blocked on a channel, a select, a mutex, a WaitGroup or a
// Cond once the test is over, as blockscope's leak detector decides it
// (see detect.Leak); and a goroutine the test started that is still
// alive in any other state (asleep, in I/O or a syscall, running), which
// outlived the test ("outlived-test", a warning, as the leak detector
// says at the end of a go test -trace run). The runtime's and the testing
// framework's goroutines are never leaks. Goroutines get a while to
// finish first: the goroutines are listed again and again, with sleeps
// from a microsecond doubling up to 100 ms, for up to a second, as goleak
// does. A deadlock among blockscope's primitives (primitives/sync and the
// others) is reported as a deadlock, with its cycle.
//
// VerifyNone judges the goroutines that the test started, directly or
// through the goroutines it started, and those whose origin the trace does
// not show (started before the recorded window, or outside any test); a
// goroutine that another test started is that test's to answer for, so
// VerifyNone works in tests that call t.Parallel, unlike goleak's.
package leaktest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// VerifyNone fails t if goroutines that t started are still blocked, with
// a report of each leak. Use it deferred, as the first line of a test:
//
//	defer leaktest.VerifyNone(t)
func VerifyNone(t testing.TB, opts ...Option) {
	t.Helper()
	o := buildOptions(opts)
	if o.err != nil {
		t.Fatalf("leaktest: %v", o.err)
		return
	}
	if report := find(o, currentID(), false); report != "" {
		t.Error(report)
	}
}

// Check registers VerifyNone as a cleanup of t, which runs once t and its
// subtests are done.
func Check(t testing.TB, opts ...Option) {
	t.Helper()
	t.Cleanup(func() { VerifyNone(t, opts...) })
}

// VerifyTestMain runs the tests of m, then, if they passed, looks for
// leaked goroutines, reports each with the test that started it on
// standard error, and exits 1 if there is any. Call it from TestMain:
//
//	func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }
func VerifyTestMain(m *testing.M, opts ...Option) {
	o := buildOptions(opts)
	if o.err != nil {
		fmt.Fprintf(os.Stderr, "leaktest: %v\n", o.err)
		os.Exit(2)
	}
	code := m.Run()
	if code == 0 {
		if report := find(o, currentID(), true); report != "" {
			fmt.Fprintf(os.Stderr, "%s\n", report)
			code = 1
		}
	}
	os.Exit(code)
}

// find waits for the goroutines to settle and returns the report of what
// is left ("" if nothing). self is the goroutine calling it; all is set
// for a whole package (VerifyTestMain), where every test's goroutines
// count.
func find(o *options, self int64, all bool) string {
	deadline := time.Now().Add(o.settle)
	sleep := time.Microsecond
	judged := false
	for {
		left := candidates(o, self)
		settled := len(left) == 0
		if settled && len(o.detectors) == 0 {
			return ""
		}
		// Judge once early too: if the trace shows none of what is left
		// to be a leak (goroutines of another test, say), there is no
		// need to wait for them.
		done := settled || time.Now().After(deadline)
		if done || !judged && sleep >= 10*time.Millisecond {
			judged = true
			if report := judge(o, self, all, left); report == "" || done {
				return report
			}
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, 100*time.Millisecond)
	}
}

// judge analyzes a snapshot of the recorder and reports the findings about
// the goroutines left, or, without a trace, the goroutines themselves.
func judge(o *options, self int64, all bool, left map[int64]goroutine) string {
	snap, err := snapshot()
	if err != nil {
		return stacksReport(left, err)
	}
	judged := make([]parse.GoID, 0, len(left))
	for id := range left {
		judged = append(judged, parse.GoID(id))
	}
	for {
		cfg := detect.DefaultConfig()
		cfg.Leak = o.leak
		cfg.Leak.Only = judged
		cfg.Leak.Finished = []parse.GoID{parse.GoID(self)} // it is returning
		res, err := detect.RunReader(bytes.NewReader(snap), parse.Options{Path: "flight recorder snapshot"}, cfg)
		if res == nil {
			return stacksReport(left, err)
		}
		// A goroutine another test started is that test's to answer
		// for: judge again without it.
		mine := slices.DeleteFunc(slices.Clone(judged), func(id parse.GoID) bool { return !all && owner(res.Trace, id, self) == ownerOther })
		if len(mine) < len(judged) {
			judged = mine
			continue
		}
		var keep []detect.Finding
		for _, f := range res.Findings {
			switch {
			case !o.reports(f.Kind):
			case f.Kind == detect.Leak.Name:
				keep = append(keep, f)
			case f.Kind == detect.Deadlock.Name:
				if slices.ContainsFunc(f.Goroutines, func(id parse.GoID) bool { return slices.Contains(judged, id) }) {
					keep = append(keep, f)
				}
			case all || slices.ContainsFunc(f.Goroutines, func(id parse.GoID) bool { return owner(res.Trace, id, self) == ownerSelf }):
				keep = append(keep, f)
			}
		}
		keep = append(withoutProven(keep), outlived(res.Trace, left, judged, self, all)...)
		return findingsReport(keep, left, all)
	}
}

// withoutProven drops the leaks whose goroutines a deadlock finding proves
// stuck: the deadlock is the one thing to report about them.
func withoutProven(fs []detect.Finding) []detect.Finding {
	stuck := make(map[parse.GoID]bool)
	for _, f := range fs {
		if f.Kind == detect.Deadlock.Name {
			for _, id := range f.Goroutines {
				stuck[id] = true
			}
		}
	}
	return slices.DeleteFunc(fs, func(f detect.Finding) bool {
		return f.Kind == detect.Leak.Name && !slices.ContainsFunc(f.Goroutines, func(id parse.GoID) bool { return !stuck[id] })
	})
}

// outlived reports the goroutines a test started that are alive but not
// in a wait the leak detector judges (asleep, in I/O or a syscall,
// running): they outlived the test that started them, as the leak
// detector says of such goroutines at the end of a go test -trace run. A
// goroutine's state and stack are the dump's, its test the trace's.
func outlived(t *parse.Trace, left map[int64]goroutine, judged []parse.GoID, self int64, all bool) []detect.Finding {
	type site struct {
		state string
		loc   parse.Frame
		test  string
	}
	var sites []site
	groups := make(map[site][]goroutine)
	for _, id := range judged {
		g, ok := left[int64(id)]
		if !ok || leakStates[g.state] {
			continue
		}
		test, inTest := t.TestOf(id)
		if !all && owner(t, id, self) != ownerSelf || all && !inTest {
			continue
		}
		loc := g.frames[0]
		if i := slices.IndexFunc(g.frames, parse.Frame.IsUser); i >= 0 {
			loc = g.frames[i]
		}
		k := site{g.state, loc, test.Name}
		if groups[k] == nil {
			sites = append(sites, k)
		}
		groups[k] = append(groups[k], g)
	}
	var fs []detect.Finding
	for _, k := range sites {
		gs := groups[k]
		f := detect.Finding{
			Kind: detect.Leak.Name, Severity: detect.SeverityWarning, Confidence: detect.ConfidenceOutlivedTest,
			Location: k.loc, Stack: gs[0].frames, Evidence: detect.EvidenceRuntime, Reason: k.state, Test: k.test,
			Message: fmt.Sprintf("%s still %s at %s:%d: it outlived the test that started it", plural(len(gs), "goroutine"), k.state, filepath.Base(k.loc.File), k.loc.Line),
			Hint:    "stop what the test started before it returns: cancel its context, close its quit channel, Stop or Close what started it, and wait for the goroutine (a WaitGroup, t.Cleanup)",
		}
		if k.test != "" {
			f.Message += "; started by " + k.test
		}
		for _, g := range gs {
			f.Goroutines = append(f.Goroutines, parse.GoID(g.id))
		}
		slices.Sort(f.Goroutines)
		fs = append(fs, f)
	}
	return fs
}

type ownerKind int

const (
	ownerUnknown ownerKind = iota // no test on the creation chain the trace shows
	ownerSelf                     // started by self, directly or not
	ownerOther                    // started by another test
)

// owner says who started goroutine id, following its creation chain in
// the trace: self, another test's goroutine, or nobody known.
func owner(t *parse.Trace, id parse.GoID, self int64) ownerKind {
	kind := ownerUnknown
	g := t.Goroutine(id)
	for steps := 0; g != nil && steps < 10000; steps++ {
		if int64(g.ID) == self {
			return ownerSelf
		}
		if g.TestFunc != "" {
			kind = ownerOther
		}
		g = t.Goroutine(g.Creator)
	}
	return kind
}

// findingsReport writes the findings, each with its goroutines' stack and
// creator, grouped by the test that started them when all tests count.
func findingsReport(fs []detect.Finding, left map[int64]goroutine, all bool) string {
	if len(fs) == 0 {
		return ""
	}
	var b strings.Builder
	if all {
		var tests []string
		for _, f := range fs {
			if name := testName(f, left); !slices.Contains(tests, name) {
				tests = append(tests, name)
			}
		}
		fmt.Fprintf(&b, "leaktest: %s after the tests, by %s:\n", plural(len(fs), "finding"), strings.Join(tests, ", "))
	} else {
		fmt.Fprintf(&b, "leaktest: %s after the test:\n", plural(len(fs), "finding"))
	}
	for _, f := range fs {
		fmt.Fprintf(&b, "\n%s (%s", f.Kind, f.Severity)
		if f.Confidence != "" {
			fmt.Fprintf(&b, ", %s", f.Confidence)
		}
		fmt.Fprintf(&b, "): %s\n", f.Message)
		if all {
			fmt.Fprintf(&b, "    test: %s\n", testName(f, left))
		}
		fmt.Fprintf(&b, "    at %s:%d in %s\n", short(f.Location.File), f.Location.Line, f.Location.Func)
		for _, r := range f.Related {
			fmt.Fprintf(&b, "    %s: goroutine %d at %s:%d in %s\n", r.Role, r.Goroutine, short(r.Location.File), r.Location.Line, r.Location.Func)
		}
		b.WriteString("    stack:\n")
		writeFrames(&b, f.Stack)
		if f.Hint != "" {
			fmt.Fprintf(&b, "    fix: %s\n", f.Hint)
		}
	}
	return b.String()
}

// testName is the test a finding names, or else the function that
// created its first goroutine, as the goroutine dump says.
func testName(f detect.Finding, left map[int64]goroutine) string {
	if f.Test != "" {
		return f.Test
	}
	var names []string
	for _, t := range f.Tests {
		if t.Name != "" {
			names = append(names, t.Name)
		}
	}
	if len(names) > 0 {
		return strings.Join(names, " and ")
	}
	for _, id := range f.Goroutines {
		if g, ok := left[int64(id)]; ok && g.createdBy != "" {
			return "a goroutine created by " + g.createdBy
		}
	}
	return "no test known"
}

// stacksReport lists the goroutines left when there is no trace to judge.
func stacksReport(left map[int64]goroutine, why error) string {
	ids := make([]int64, 0, len(left))
	for id := range left {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	fmt.Fprintf(&b, "leaktest: %s still blocked after the test (judged from stacks alone: %v):\n", plural(len(ids), "goroutine"), why)
	for _, id := range ids {
		g := left[id]
		fmt.Fprintf(&b, "\ngoroutine %d [%s], created by %s:\n", g.id, g.state, g.createdBy)
		writeFrames(&b, g.frames)
	}
	return b.String()
}

// writeFrames writes a stack without the runtime's frames.
func writeFrames(b *strings.Builder, frames []parse.Frame) {
	for _, fr := range frames {
		if !fr.IsRuntime() {
			fmt.Fprintf(b, "        %s\n            %s:%d\n", fr.Func, short(fr.File), fr.Line)
		}
	}
}

// short makes a file relative to the working directory, which go test
// makes the package's directory, when it is below it.
func short(file string) string {
	dir, err := os.Getwd()
	if err != nil || !filepath.IsAbs(file) {
		return file
	}
	if rel, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return file
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
