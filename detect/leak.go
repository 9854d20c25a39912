package detect

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/internal/idmap"
	"github.com/blockscope/blockscope/parse"
)

// Leak reports goroutines still blocked at the end of the trace on a
// channel, a select, a nil channel, a sync.Mutex or RWMutex, a WaitGroup or a
// Cond: the goroutine leaks and partial deadlocks that goleak finds at the
// end of a test, found here from the trace alone.
//
// Goroutines blocked in sleep, network I/O or a syscall, the runtime's and
// the tracer's own goroutines, and the testing framework's idle goroutines
// are never leaks. Goroutines leaked at the same site (line and reason) are
// one finding, which lists the tests that leaked there (see
// parse.Trace.TestOf).
//
// In a trace of go test -trace (parse.TestRun.Framework), a goroutine
// started under a test or example that has returned outlived its test: a
// leak whatever its state. Sleeping, running, runnable or never run, its
// confidence is "outlived-test" (severity warning); blocked, it is judged
// as below, counting no goroutine of a finished test as a waker, so that a
// correct test beside a leaking one changes nothing. The goroutines of a
// test still running at the end (a -timeout, a binary that died) are no
// leaks. The walk from wakers to their creators stops at the test runner
// (parse.Trace.IsTestRunner): it lives until the tests end and starts
// tests, not wakers.
//
// Confidence "no-waker-alive" (severity error): no goroutine that could wake
// it is left: every goroutine that ever woke a waiter at the same blocked
// site has exited or is itself stuck, and so has, for each of them that
// exited, the goroutine that started it (which might start another); for a
// site nobody was ever woken at, the goroutine's creator stands in; and no
// timer or network poller ever woke a waiter there (a goroutine running a
// timer's function, such as a context's deadline, is a timer); or it waits
// on a nil channel or an empty select, which nothing can end. Confidence
// "blocked-at-end" (severity warning): blocked when the trace ended, but a
// live goroutine might still wake it; idle workers of a server traced
// mid-run look like this, and so does every leak of a trace that was cut
// short, since what came after the cut is unknown. Goroutines of a deadlock
// finding are that finding's alone, and stuck for leak's fixpoint (see
// reconcileLeaks).
//
// Goroutines hung in a plain sync Lock, RLock or Once.Do with no sign of
// the lock changing hands since are called a likely lock deadlock, with
// the advice to trace again on primitives/sync (see plainLockHang).
//
// Confidence "janitor-alive" (severity info): blocked, and the only live
// goroutines that might wake it are timer-driven (sleeping, or ticking
// where a timer woke them): idle workers of a pool whose janitor lives on.
// Known process-lifetime goroutines of popular libraries (KnownGoroutines)
// and those IgnoreCreatedBy names are set aside and listed (Ignored), not
// reported. A finding never points inside package testing or an assertion
// library: such a goroutine points at its creation site outside them.
//
// Options (LeakOptions): IgnoreTopFunction, IgnoreAnyFunction,
// IgnoreCreatedBy, ReportKnown, MinBlocked (default 0: a short trace still
// reports), Explain.
//
// Wrong:
//
//	ch := make(chan int)
//	go func() { ch <- work() }() // leaks when the select times out
//	select {
//	case v := <-ch:
//	case <-time.After(time.Second):
//	}
//
// Right: make(chan int, 1), so the send never blocks.
var Leak = register(&Detector{
	Name: "leak",
	Doc:  "goroutines blocked at trace end on channels, select, mutexes, WaitGroups or Conds",
	New:  func(cfg *Config) Analyzer { return newLeak(cfg.Leak) },
})

// Leak confidences.
const (
	ConfidenceNoWaker      = "no-waker-alive"
	ConfidenceBlockedAtEnd = "blocked-at-end"
	ConfidenceOutlivedTest = "outlived-test"
	ConfidenceJanitorAlive = "janitor-alive"
)

// LeakOptions configure the leak detector, as goleak's options do.
type LeakOptions struct {
	// IgnoreTopFunction ignores goroutines blocked in one of these
	// functions (full names, as in stacks): any frame from the innermost
	// to the finding's location counts, so "sync.(*Mutex).Lock" and
	// "example.com/pool.(*Pool).worker" both match a worker waiting for a
	// lock in worker.
	IgnoreTopFunction []string
	// IgnoreAnyFunction ignores goroutines with one of these functions
	// anywhere in their stack.
	IgnoreAnyFunction []string
	// IgnoreCreatedBy ignores goroutines with one of these functions on
	// their creation stack (the go statement's stack; a name ending in
	// "[" or "." matches the functions it begins). They are listed as
	// ignored, with the name that matched.
	IgnoreCreatedBy []string
	// ReportKnown reports the goroutines of KnownGoroutines as any other;
	// by default they are listed as "ignored (known)".
	ReportKnown bool
	// MinBlocked ignores goroutines blocked for less than this at the end.
	MinBlocked time.Duration
	// Explain, when not 0, makes the detector say why it did or did not
	// report that goroutine (see Result.Explain).
	Explain parse.GoID
	// Finished are goroutines that count as exited although the trace
	// ends while they run: a test's goroutine judging its own leaks
	// (package leaktest) cannot wake them any more.
	Finished []parse.GoID
	// Only, when not nil, limits the goroutines judged to these (package
	// leaktest judges those still blocked when it looks, and not another
	// test's).
	Only []parse.GoID
}

// leakReasons are the waits nothing but another goroutine can end.
var leakReasons = map[string]bool{
	parse.ReasonChanSend:    true,
	parse.ReasonChanReceive: true,
	parse.ReasonSelect:      true,
	parse.ReasonForever:     true,
	parse.ReasonSync:        true,
	parse.ReasonCond:        true,
}

type siteKey struct {
	reason string
	loc    parse.Frame
}

type siteWakers struct {
	wakers []parse.GoID            // distinct goroutines that woke a waiter here, in order
	seen   map[parse.GoID]struct{} // the same, as a set
	last   parse.GoID              // the latest of them (most wakes repeat it)
	env    bool                    // a timer or the network poller woke a waiter here
	// lastWake is when a waiter was last woken here.
	lastWake parse.Time
	// creators holds each waker's creator, taken at its wake: the
	// waker's record may be gone by the end (parse.Options.DropExited).
	creators []parse.GoID
	// potential is wakers and their spawners (see again), once computed.
	potential []parse.GoID

	// Past compactAt wakers (see forget), the wakers that exited are
	// forgotten: only their creators can still matter, kept in
	// spawners while they live; forgotten counts the goroutines dropped.
	spawners  []parse.GoID
	forgotten int
	compactAt int
}

// leakForgetWakers is the number of wakers a site keeps before it forgets
// those that exited.
var leakForgetWakers = 1024

// forget drops the wakers that exited, keeping their creators while
// those live: an exited waker can wake nobody, and its creator (see
// again) matters only while it can run. The verdicts stay those the
// whole list gives; what Explain lists counts the forgotten. Called
// before a waker is added, so that wakers is never left empty.
func (sw *siteWakers) forget(t *parse.Trace) {
	keep, creators, spawners := sw.wakers[:0], sw.creators[:0], sw.spawners[:0]
	kept := make(map[parse.GoID]bool)
	for _, s := range sw.spawners {
		if t.Exited(s) {
			sw.forgotten++
		} else {
			spawners = append(spawners, s)
			kept[s] = true
		}
	}
	sw.seen = make(map[parse.GoID]struct{})
	for i, w := range sw.wakers {
		if !t.Exited(w) {
			keep, creators = append(keep, w), append(creators, sw.creators[i])
			sw.seen[w] = struct{}{}
			continue
		}
		sw.forgotten++
		if c := sw.creators[i]; c != parse.NoGoroutine && !t.Exited(c) && !kept[c] {
			spawners = append(spawners, c)
			kept[c] = true
		}
	}
	sw.wakers, sw.creators, sw.spawners = keep, creators, spawners
	sw.compactAt = 2 * (len(sw.wakers) + len(sw.spawners))
}

type leak struct {
	opts       LeakOptions
	explained  string       // why opts.Explain was or was not reported
	wakerStory string       // who might wake opts.Explain, in words
	ignored    []Ignored    // set aside by IgnoreCreatedBy or KnownGoroutines
	trace      *parse.Trace // set by Finalize
	sites      map[siteKey]*siteWakers
	// lastWaker is who last woke each goroutine (see releasedByTest).
	lastWaker idmap.Map[parse.GoID, parse.GoID]
	// byStack caches sites by blocked stack: the site of the reason last
	// seen with the stack (a stack almost always has one).
	byStack  []leakStackSite
	findings []Finding
}

type leakStackSite struct {
	reason string
	sw     *siteWakers
}

func newLeak(opts LeakOptions) *leak {
	return &leak{
		opts:  opts,
		sites: make(map[siteKey]*siteWakers),
	}
}

// site returns the site of a wait for reason at stack, adding it if new.
func (l *leak) site(t *parse.Trace, reason string, stack parse.StackID) *siteWakers {
	if int(stack) < len(l.byStack) {
		if c := l.byStack[stack]; c.sw != nil && c.reason == reason {
			return c.sw
		}
	} else {
		l.byStack = append(l.byStack, make([]leakStackSite, int(stack)+1-len(l.byStack))...)
	}
	loc, _ := t.Stacks.Location(stack)
	k := siteKey{reason, loc}
	sw := l.sites[k]
	if sw == nil {
		sw = &siteWakers{seen: make(map[parse.GoID]struct{}), last: parse.NoGoroutine}
		l.sites[k] = sw
	}
	l.byStack[stack] = leakStackSite{reason, sw}
	return sw
}

func (l *leak) loc(t *parse.Trace, s parse.StackID) parse.Frame {
	f, _ := t.Stacks.Location(s)
	return f
}

// Kinds are the events leak takes (see parse.Selective).
func (*leak) Kinds() parse.Kinds {
	return parse.KindsOf(parse.EvWake, parse.EvExit)
}

// Event records who wakes waiters at each blocked site.
func (l *leak) Event(t *parse.Trace, ev *parse.Event) {
	switch ev.Kind {
	case parse.EvWake:
		l.lastWaker.Set(ev.G, ev.Peer)
	case parse.EvExit:
		l.lastWaker.Delete(ev.G)
	}
	if ev.Kind != parse.EvWake || !leakReasons[ev.Reason] {
		return
	}
	sw := l.site(t, ev.Reason, ev.Stack)
	sw.lastWake = ev.Time
	if ev.Peer == parse.NoGoroutine {
		sw.env = true
	} else if ev.Peer != sw.last {
		sw.last = ev.Peer
		if _, ok := sw.seen[ev.Peer]; !ok {
			if len(sw.wakers) >= max(sw.compactAt, leakForgetWakers) {
				sw.forget(t)
			}
			sw.seen[ev.Peer] = struct{}{}
			sw.wakers = append(sw.wakers, ev.Peer)
			creator := parse.NoGoroutine
			if g := t.Goroutine(ev.Peer); g != nil {
				creator = g.Creator
			}
			sw.creators = append(sw.creators, creator)
			if timerCallback(t, ev.Peer) {
				sw.env = true
			}
		}
	}
}

// timerCallback reports whether a goroutine runs a timer's function
// (time.AfterFunc, and so a context's deadline): its wakes are a timer's,
// and the timer lives on after the goroutine exits. The runtime starts
// such goroutines from the scheduler, with no goroutine as creator (Go
// before 1.14 from its timer goroutine, in time.goFunc).
func timerCallback(t *parse.Trace, id parse.GoID) bool {
	g := t.Goroutine(id)
	if g == nil || g.Preexisting || g.System {
		return false
	}
	return g.Creator == parse.NoGoroutine || t.Stacks.Has(g.CreateStack, "time.goFunc")
}

// Finalize finds the goroutines blocked at the end and groups them.
func (l *leak) Finalize(t *parse.Trace) {
	l.trace = t
	l.report(nil)
}

// report makes the findings, again if need be: stuck holds the goroutines
// a deadlock finding proves stuck, which the runtime's events alone cannot
// tell (see reconcileLeaks); they are left to that finding.
func (l *leak) report(stuck map[parse.GoID]bool) {
	t := l.trace
	l.findings, l.ignored = nil, nil
	end := parse.Time(t.End - t.Start)
	framework := t.TestRun().Framework
	knownList := KnownGoroutines
	if l.opts.ReportKnown {
		knownList = nil
	}
	setAside := make(map[string]*Ignored) // by reason and location
	var asideOrder []*Ignored
	var leaked []leakedG
	candidate := make(map[parse.GoID]bool)
	outlived := make(map[parse.GoID]bool)
	why := func(g *parse.Goroutine, format string, args ...any) {
		if l.opts.Explain != 0 && g.ID == l.opts.Explain {
			l.explained = fmt.Sprintf(format, args...)
		}
	}
	for g := range t.All() {
		switch {
		case g.System:
			why(g, "not a leak: a goroutine of the runtime or the tracer")
			continue
		case g.State == parse.StateExited:
			why(g, "not a leak: it exited")
			continue
		case l.opts.Only != nil && !slices.Contains(l.opts.Only, g.ID):
			why(g, "not judged: outside the goroutines asked about (Only)")
			continue
		}
		test, inTest := t.TestOf(g.ID)
		if inTest && !test.Done && framework {
			why(g, "not a leak: its test %s had not finished when the trace ended", test.Name)
			continue // its test still ran: see TestRun.Running
		}
		out := inTest && test.Done
		blocked := g.State == parse.StateWaiting && leakReasons[g.Reason]
		// Whatever its state, a goroutine that outlived its test is a
		// leak where the trace ends with the tests (go test -trace); a
		// trace stopped by other code (a harness, a test) ends when that
		// code chose, and only a blocked goroutine is known to be stuck.
		switch {
		case !blocked && !out:
			why(g, "not a leak: %s at the end, which only another goroutine cannot end, and it did not outlive a test", leakState(g))
			continue
		case !blocked && !framework:
			why(g, "not a leak: %s at the end after its test returned, but the trace was not stopped by the testing framework (go test -trace), so only a blocked goroutine is known to be stuck", leakState(g))
			continue
		case !blocked && l.releasedByTest(t, g, test):
			why(g, "not a leak: its own test woke it last (released it) and it had not blocked since: on its way out")
			continue
		}
		stack := leakStack(g)
		if blocked && idleFramework(t.Stacks, g.Stack) {
			why(g, "not a leak: the testing framework waiting for tests")
			continue
		}
		if l.ignoredStack(t.Stacks, stack) {
			why(g, "ignored by --ignore-top or --ignore-any")
			continue
		}
		if ig, ok := l.setAside(t, g, knownList); ok {
			why(g, "ignored: %s", strings.TrimPrefix(ig.Library+": "+ig.Reason, ": "))
			key := ig.Reason + "\x00" + ig.Location.String()
			if prev := setAside[key]; prev == nil {
				setAside[key] = &ig
				asideOrder = append(asideOrder, &ig)
			} else if prev.Test != ig.Test {
				prev.Test = "" // several tests
			}
			setAside[key].Goroutines = append(setAside[key].Goroutines, g.ID)
			continue
		}
		if blocked {
			candidate[g.ID] = true
		}
		if out {
			outlived[g.ID] = true
		}
		if stuck[g.ID] {
			why(g, "not reported as a leak: a deadlock finding names it")
			continue // a deadlock finding's goroutines are that finding's
		}
		if g.State == parse.StateWaiting && time.Duration(end-g.Since) < l.opts.MinBlocked {
			why(g, "ignored: blocked for less than --min-blocked")
			continue
		}
		leaked = append(leaked, leakedG{g: g, test: test, inTest: inTest, blocked: blocked})
	}
	wakeable, janitor := l.wakeable(t, candidate, outlived, stuck)
	l.wakerStory = ""
	if g := t.Goroutine(l.opts.Explain); l.opts.Explain != 0 && g != nil && candidate[g.ID] {
		l.wakerStory = l.tellWakers(t, g, wakeable, outlived[g.ID])
	}

	var groups []*leakGroup
	index := make(map[siteKey]*leakGroup)
	for _, lg := range leaked {
		g := lg.g
		switch {
		case !lg.blocked:
			lg.confidence = ConfidenceOutlivedTest
			why(g, "a leak (outlived-test): %s at the end, after its test %s returned", leakState(g), lg.test.Name)
		case !wakeable[g.ID] && t.Complete:
			// A trace cut short proves nothing about what came after.
			lg.confidence = ConfidenceNoWaker
			why(g, "a leak (no-waker-alive): blocked on %s at the end, and %s", g.Reason, l.wakerStory)
		case janitor[g.ID]:
			lg.confidence = ConfidenceJanitorAlive
			why(g, "an idle worker (janitor-alive, info): %s", l.wakerStory)
		default:
			lg.confidence = ConfidenceBlockedAtEnd
			if !t.Complete {
				why(g, "a leak (blocked-at-end): blocked on %s when a trace cut short ended; what came after is unknown", g.Reason)
			} else {
				why(g, "a leak (blocked-at-end): blocked on %s at the end, but %s", g.Reason, l.wakerStory)
			}
		}
		// One finding per site: a leak at one line in many tests is one
		// thing to fix, found many times; the finding lists the tests.
		k := siteKey{leakState(g), leakLocation(t, g)}
		gr := index[k]
		if gr == nil {
			gr = &leakGroup{key: k}
			index[k] = gr
			groups = append(groups, gr)
		}
		gr.gs = append(gr.gs, lg)
	}
	for _, gr := range groups {
		l.findings = append(l.findings, l.finding(t, end, gr))
	}
	for _, ig := range asideOrder {
		l.ignored = append(l.ignored, *ig)
	}
}

// setAside says whether g is set aside rather than reported: created by a
// function IgnoreCreatedBy names, or a known process-lifetime goroutine.
func (l *leak) setAside(t *parse.Trace, g *parse.Goroutine, list []Known) (Ignored, bool) {
	ig := Ignored{Kind: "leak", Location: l.loc(t, leakStack(g)), Test: testOf(t, g)}
	if name := createdBy(t, g, l.opts.IgnoreCreatedBy); name != "" {
		ig.Reason = "--ignore-created-by " + name
		return ig, true
	}
	if k, ok := known(t, g, list); ok {
		ig.Library, ig.Reason = k.Library, k.Reason
		return ig, true
	}
	return Ignored{}, false
}

// Ignored returns the goroutines set aside (see LeakOptions); called after
// Finalize.
func (l *leak) Ignored() []Ignored { return l.ignored }

// releasedByTest reports whether a goroutine running or runnable at the
// end was last woken by its own test (which closed its channel, say) and
// has not blocked since: it was let go, and was on its way out when the
// trace stopped.
func (l *leak) releasedByTest(t *parse.Trace, g *parse.Goroutine, test parse.Test) bool {
	if g.State != parse.StateRunning && g.State != parse.StateRunnable {
		return false
	}
	w, ok := l.lastWaker.Get(g.ID)
	if !ok || w == parse.NoGoroutine {
		return false
	}
	wt, ok := t.TestOf(w)
	return ok && wt.Name == test.Name && wt.Example == test.Example
}

// leakedG is one goroutine reported as leaked, with what decided it.
type leakedG struct {
	g          *parse.Goroutine
	test       parse.Test
	inTest     bool
	blocked    bool // on a wait only another goroutine can end (leakReasons)
	confidence string
}

// leakGroup is the goroutines leaked at one site: one finding.
type leakGroup struct {
	key siteKey
	gs  []leakedG
}

// leakStack is the stack a leaked goroutine is reported at: where it
// waits, else (running, runnable, never run) where it started.
func leakStack(g *parse.Goroutine) parse.StackID {
	if g.State == parse.StateWaiting && g.Stack != parse.NoStack {
		return g.Stack
	}
	return g.StartStack
}

// leakLocation is where a leak finding points: the location of its stack
// (see leakStack) unless that is in the test framework (a goroutine an
// assertion library started and left inside itself); then, up the
// creation chain, the first creation site outside it: the test's line.
func leakLocation(t *parse.Trace, g *parse.Goroutine) parse.Frame {
	loc, _ := t.Stacks.Location(leakStack(g))
	seen := 0
	for cur := g; loc.IsTestFramework() && cur != nil && seen < 100; cur = t.Goroutine(cur.Creator) {
		seen++
		if up, ok := t.Stacks.Location(cur.CreateStack); ok && !up.IsTestFramework() {
			return up
		}
	}
	return loc
}

// leakState is what a leaked goroutine was doing at the end: its wait
// reason, or its state ("never-run" for one created and never started).
func leakState(g *parse.Goroutine) string {
	switch {
	case g.State == parse.StateWaiting:
		return g.Reason
	case g.State == parse.StateRunnable && !g.Preexisting && g.Since == g.Created:
		return stateNeverRun
	}
	return g.State.String()
}

const stateNeverRun = "never-run"

// confidenceRank orders leak confidences, strongest first.
func confidenceRank(c string) int {
	switch c {
	case ConfidenceNoWaker:
		return 0
	case ConfidenceBlockedAtEnd:
		return 1
	case ConfidenceOutlivedTest:
		return 2
	}
	return 3
}

// again returns the goroutines that could wake a waiter at the site again:
// those that did, and for each of them that has exited, the goroutine that
// started it. A server that starts a goroutine per request, each of which
// hands a result to a collector and exits, starts the collector's next
// waker too: while it lives, the collector is not stuck. In a test binary
// the walk stops at the test runner (see parse.Trace.IsTestRunner): it
// lives until the tests end, and starts tests, not wakers.
func (sw *siteWakers) again(t *parse.Trace) []parse.GoID {
	if sw.potential != nil {
		return sw.potential
	}
	sw.potential = slices.Clone(sw.wakers)
	spawners := make(map[parse.GoID]bool)
	for i, w := range sw.wakers {
		creator := sw.creators[i]
		if !t.Exited(w) || creator == parse.NoGoroutine || t.IsTestRunner(creator) {
			continue
		}
		if _, ok := sw.seen[creator]; !ok && !spawners[creator] {
			spawners[creator] = true
			sw.potential = append(sw.potential, creator)
		}
	}
	for _, creator := range sw.spawners {
		if _, ok := sw.seen[creator]; !ok && !spawners[creator] && !t.IsTestRunner(creator) {
			spawners[creator] = true
			sw.potential = append(sw.potential, creator)
		}
	}
	return sw.potential
}

// wakeable decides, for each candidate, whether some goroutine that could
// wake it is still able to run: a fixpoint over "woken by a live goroutine,
// or by a candidate that is itself wakeable". A candidate that outlived
// its test counts only goroutines outside finished tests: what a finished
// test left behind is its own leak, so a correct test that used the same
// code never makes another test's leak look wakeable. Stuck goroutines (of
// a deadlock finding) are not wakeable.
func (l *leak) wakeable(t *parse.Trace, candidate, outlived, stuck map[parse.GoID]bool) (result, janitor map[parse.GoID]bool) {
	live := func(id parse.GoID) bool {
		g := t.Goroutine(id)
		if g == nil || g.State == parse.StateExited || t.IsTestRunner(id) || slices.Contains(l.opts.Finished, id) {
			return false
		}
		if g.System || g.State != parse.StateWaiting {
			return true // the runtime's goroutines (finalizers, cleanups) run again
		}
		if !leakReasons[g.Reason] {
			return true // sleeping or in the network: it will run again
		}
		return false
	}
	done := make(map[parse.GoID]bool)
	finished := func(id parse.GoID) bool {
		d, ok := done[id]
		if !ok {
			test, in := t.TestOf(id)
			d = in && test.Done
			done[id] = d
		}
		return d
	}
	potential := make(map[parse.GoID][]parse.GoID, len(candidate))
	result = make(map[parse.GoID]bool, len(candidate))
	for id := range candidate {
		if stuck[id] {
			continue
		}
		g := t.Goroutine(id)
		sw := l.sites[siteKey{g.Reason, l.loc(t, g.Stack)}]
		switch {
		case g.Reason == parse.ReasonForever:
			// A nil channel or an empty select: nothing can wake it.
		case sw != nil && sw.env:
			result[id] = true // a timer or the network woke waiters here before
		case sw != nil && len(sw.wakers) > 0:
			potential[id] = sw.again(t)
		case g.Creator != parse.NoGoroutine && !t.IsTestRunner(g.Creator):
			potential[id] = []parse.GoID{g.Creator}
		case g.Creator != parse.NoGoroutine:
			// Started by the test runner (an example's goroutine): it
			// wakes nothing.
		default:
			result[id] = true // nothing known: it may well be woken
		}
		if outlived[id] {
			potential[id] = slices.DeleteFunc(slices.Clone(potential[id]), finished)
		}
	}
	for changed := true; changed; {
		changed = false
		for id, ps := range potential {
			if result[id] {
				continue
			}
			for _, p := range ps {
				if p != id && (live(p) || candidate[p] && result[p]) {
					result[id] = true
					changed = true
					break
				}
			}
		}
	}
	// A candidate only timer-driven goroutines might wake (a pool's
	// janitor, sleeping or ticking, that woke workers here before) is an
	// idle worker of a live pool.
	janitor = make(map[parse.GoID]bool)
	for id, ps := range potential {
		if !result[id] {
			continue
		}
		timers, others := 0, 0
		for _, p := range ps {
			switch {
			case p == id:
			case live(p) && l.timerDriven(t, p):
				timers++
			case live(p) || candidate[p] && result[p]:
				others++
			}
		}
		janitor[id] = timers > 0 && others == 0
	}
	return result, janitor
}

// tellWakers says, for Explain, who might wake a blocked candidate and
// whether each can still run.
func (l *leak) tellWakers(t *parse.Trace, g *parse.Goroutine, wakeable map[parse.GoID]bool, outlived bool) string {
	sw := l.sites[siteKey{g.Reason, l.loc(t, g.Stack)}]
	switch {
	case g.Reason == parse.ReasonForever:
		return "it waits on a nil channel or an empty select, which nothing can end"
	case sw != nil && sw.env:
		return "a timer or the network poller woke waiters at its line before, and may again"
	}
	var ps []parse.GoID
	var from string
	switch {
	case sw != nil && len(sw.wakers) > 0:
		ps, from = sw.again(t), "the goroutines that woke waiters at its line (and, for those that exited, their creators)"
	case g.Creator != parse.NoGoroutine && !t.IsTestRunner(g.Creator):
		ps, from = []parse.GoID{g.Creator}, "nobody woke a waiter at its line; its creator stands in"
	case g.Creator != parse.NoGoroutine:
		return "nobody woke a waiter at its line, and its creator is the test runner, which wakes nothing"
	default:
		return "nobody woke a waiter at its line and its creator is unknown: it may well be woken"
	}
	var parts []string
	for _, p := range ps {
		pg := t.Goroutine(p)
		state := "unknown"
		switch {
		case pg == nil:
			state = "exited"
		case t.IsTestRunner(p):
			state = "the test runner"
		case pg.State == parse.StateExited:
			state = "exited"
		case outlived && func() bool { tt, ok := t.TestOf(p); return ok && tt.Done }():
			state = "of a finished test (does not count)"
		case pg.State == parse.StateWaiting && leakReasons[pg.Reason]:
			state = fmt.Sprintf("blocked on %s", pg.Reason)
			if wakeable[p] {
				state += ", wakeable"
			}
		default:
			state = "alive (" + leakState(pg) + ")"
		}
		parts = append(parts, fmt.Sprintf("goroutine %d %s", p, state))
	}
	if sw != nil && sw.forgotten > 0 {
		parts = append(parts, fmt.Sprintf("%s that exited", plural(sw.forgotten, "more goroutine")))
	}
	return fmt.Sprintf("%s: %s", from, strings.Join(parts, ", "))
}

// Explain says why the goroutine LeakOptions.Explain names was or was not
// reported; called after Finalize.
func (l *leak) Explain() string { return l.explained }

// timerDriven reports whether a goroutine waits for a timer: sleeping, or
// blocked where a timer or the network woke it before (a ticker's loop).
func (l *leak) timerDriven(t *parse.Trace, id parse.GoID) bool {
	g := t.Goroutine(id)
	if g == nil || g.State != parse.StateWaiting {
		return false
	}
	if g.Reason == parse.ReasonSleep {
		return true
	}
	sw := l.sites[siteKey{g.Reason, l.loc(t, g.Stack)}]
	return sw != nil && sw.env
}

// idleFramework reports whether a blocked stack is the testing framework
// waiting for tests (t.Run waiting for its subtest, t.Parallel, the test
// runner) or on its own locks (t.Helper's, inside an assertion library):
// not a leak of the user's.
func idleFramework(s *parse.Stacks, id parse.StackID) bool {
	for i, n := 0, s.Depth(id); i < n; i++ {
		f := s.Frame(id, i)
		if f.IsRuntime() || f.Package() == "sync" || f.Package() == "internal/sync" {
			continue
		}
		return f.Package() == "testing"
	}
	return false
}

// ignoredStack applies IgnoreTopFunction to the frames from the innermost to
// the finding's location (so a mutex waiter matches "sync.(*Mutex).Lock"
// and its own function alike) and IgnoreAnyFunction to every frame.
func (l *leak) ignoredStack(s *parse.Stacks, id parse.StackID) bool {
	if len(l.opts.IgnoreTopFunction) == 0 && len(l.opts.IgnoreAnyFunction) == 0 {
		return false
	}
	loc, _ := s.Location(id)
	top := true
	for i, n := 0, s.Depth(id); i < n; i++ {
		f := s.Frame(id, i)
		if slices.Contains(l.opts.IgnoreAnyFunction, f.Func) {
			return true
		}
		if top && slices.Contains(l.opts.IgnoreTopFunction, f.Func) {
			return true
		}
		if f == loc {
			top = false
		}
	}
	return false
}

func (l *leak) finding(t *parse.Trace, end parse.Time, gr *leakGroup) Finding {
	k := gr.key
	slices.SortFunc(gr.gs, func(a, b leakedG) int {
		return cmp.Or(confidenceRank(a.confidence)-confidenceRank(b.confidence), int(a.g.ID-b.g.ID))
	})
	lead := gr.gs[0] // the strongest verdict decides the finding's
	conf := lead.confidence
	slices.SortFunc(gr.gs, func(a, b leakedG) int { return int(a.g.ID - b.g.ID) })
	first := gr.gs[0].g
	f := Finding{
		Kind:       "leak",
		Severity:   SeverityWarning,
		Confidence: conf,
		Location:   k.loc,
		Stack:      t.Stacks.Frames(leakStack(first)),
		Evidence:   EvidenceRuntime,
	}
	if first.State == parse.StateWaiting {
		f.Reason = k.reason
	}
	switch conf {
	case ConfidenceNoWaker:
		f.Severity = SeverityError
	case ConfidenceJanitorAlive:
		f.Severity = SeverityInfo
	}
	var outside int // goroutines started outside any test
	tests := make(map[string]*LeakTest)
	for _, lg := range gr.gs {
		g := lg.g
		f.Goroutines = append(f.Goroutines, g.ID)
		d := time.Duration(end - g.Since)
		f.Total += d
		f.Duration = max(f.Duration, d)
		if !lg.inTest {
			outside++
			continue
		}
		lt := tests[lg.test.Name]
		if lt == nil {
			lt = &LeakTest{Name: lg.test.Name, Example: lg.test.Example}
			tests[lg.test.Name] = lt
		}
		lt.Subtest = lt.Subtest || lg.test.Subtest
		lt.Goroutines = append(lt.Goroutines, g.ID)
	}
	for _, lt := range tests {
		f.Tests = append(f.Tests, *lt)
	}
	slices.SortFunc(f.Tests, func(a, b LeakTest) int { return strings.Compare(a.Name, b.Name) })
	if len(f.Tests) == 1 && outside == 0 {
		f.Test = f.Tests[0].Name
	}
	if cr := t.Goroutine(first.Creator); cr != nil && first.CreateStack != parse.NoStack {
		f.Related = append(f.Related, Related{Role: "creator", Site: site(t, cr.ID, first.CreateStack)})
	}
	who := plural(len(gr.gs), "goroutine")
	what := describeWait(f.Stack, k.reason)
	at := fmt.Sprintf("%s:%d", baseFile(k.loc.File), k.loc.Line)
	hang := ""
	if conf != ConfidenceOutlivedTest {
		hang = plainLockHang(t, l.sites[siteKey{k.reason, k.loc}], gr.gs, end)
	}
	switch {
	case conf == ConfidenceOutlivedTest && k.reason == stateNeverRun:
		f.Message = fmt.Sprintf("%s created at %s and never run by the end of the trace, %s", who, at, roundDuration(f.Duration))
	case conf == ConfidenceOutlivedTest && k.reason == parse.ReasonSleep:
		f.Message = fmt.Sprintf("%s sleeping at %s at trace end (for %v)", who, at, roundDuration(f.Duration))
	case conf == ConfidenceOutlivedTest && first.State == parse.StateWaiting:
		f.Message = fmt.Sprintf("%s waiting (%s) at %s for %v at trace end", who, k.reason, at, roundDuration(f.Duration))
	case conf == ConfidenceOutlivedTest && k.reason == parse.StateSyscall.String():
		f.Message = fmt.Sprintf("%s still in a system call (started at %s) at trace end", who, at)
	case conf == ConfidenceOutlivedTest:
		f.Message = fmt.Sprintf("%s still %s (started at %s) at trace end", who, k.reason, at)
	default:
		since := "for"
		if slices.ContainsFunc(gr.gs, func(lg leakedG) bool { return lg.g.Preexisting && lg.g.Since == 0 }) {
			since = "since before the trace began, for at least" // see parse: Since is then a lower bound
		}
		f.Message = fmt.Sprintf("%s blocked on %s at %s %s %v at trace end", who, what, at, since, roundDuration(f.Duration))
	}
	switch {
	case conf == ConfidenceOutlivedTest:
		f.Message += "; it outlived the test that started it"
	case conf == ConfidenceNoWaker:
		f.Message += "; no goroutine that could wake it is left"
	case conf == ConfidenceJanitorAlive:
		f.Message += "; idle: only a timer-driven goroutine that woke waiters here before (a pool's janitor) is left to wake it"
	case !t.Complete:
		f.Message += "; the trace was cut short, so what came after is unknown"
	case hang != "":
	case len(f.Tests) > 0:
		f.Message += "; a live goroutine outside finished tests might still wake it"
	default:
		f.Message += "; a live goroutine might still wake it"
	}
	if hang != "" {
		f.Message += "; " + hang
	}
	if by := startedBy(f.Tests, outside); by != "" {
		f.Message += "; " + by
	} else if origin := originOf(t, first); origin != "" {
		f.Message += "; started from " + origin
	}
	sw := l.sites[siteKey{k.reason, k.loc}]
	switch {
	case conf == ConfidenceJanitorAlive:
		f.Hint = "an idle worker of a pool whose janitor lives on: expected of a process-wide pool; if the pool belongs to a test or a request, close it (Release, Close, Stop) when done"
	case conf == ConfidenceOutlivedTest:
		f.Hint = "stop what the test started before it returns: cancel its context, close its quit channel, Stop or Close what started it, and wait for the goroutine (a WaitGroup, t.Cleanup)"
	case sw != nil && sw.env && conf == ConfidenceBlockedAtEnd:
		f.Hint = "a timer or the network woke waiters here before: a loop still running when the trace stopped; if the program or test was done, stop it (cancel its context, close its quit channel, Stop its ticker) before returning"
	case conf == ConfidenceBlockedAtEnd:
		f.Hint = "if it should have finished by the end of the trace: " + leakHint(what, k.reason)
	default:
		f.Hint = leakHint(what, k.reason)
	}
	if hang != "" {
		f.Hint = plainLockHint
	}
	return f
}

// startedBy says which tests started a finding's goroutines: "started by
// TestPool", "started by ExampleNew", "started by TestPool, in a subtest",
// "from 19 tests: TestA (3), TestB (1), …".
func startedBy(tests []LeakTest, outside int) string {
	name := func(lt LeakTest) string {
		n := lt.Name
		if n == "" {
			n = "a test"
		}
		if lt.Subtest {
			n += " (in a subtest)"
		}
		return n
	}
	switch {
	case len(tests) == 0:
		return ""
	case len(tests) == 1 && outside == 0:
		return "started by " + name(tests[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "from %s", plural(len(tests), "test"))
	if outside > 0 {
		fmt.Fprintf(&b, " and %d outside any test", outside)
	}
	b.WriteString(": ")
	const shown = 5
	for i, lt := range tests {
		if i == shown {
			fmt.Fprintf(&b, ", … (%d more)", len(tests)-shown)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%d)", name(lt), len(lt.Goroutines))
	}
	return b.String()
}

// reconcileLeaks makes leak findings agree with deadlock findings: the
// leak analyzers report again, leaving out the goroutines a deadlock
// finding names (one bug, one finding) and counting them as stuck for the
// goroutines that wait on them. The runtime's events alone cannot see that
// the goroutine that might wake a waiter is itself stuck on an annotated
// primitive; the annotations can.
func reconcileLeaks(analyzers []Analyzer) {
	stuck := make(map[parse.GoID]bool)
	for _, a := range analyzers {
		if d, ok := a.(*deadlock); ok {
			for _, f := range d.Findings() {
				for _, id := range f.Goroutines {
					stuck[id] = true
				}
			}
		}
	}
	if len(stuck) == 0 {
		return
	}
	for _, a := range analyzers {
		if l, ok := a.(*leak); ok && l.trace != nil {
			l.report(stuck)
		}
	}
}

// describeWait names what a goroutine waits on: the outermost method of
// sync, golang.org/x/sync or blockscope's primitives it is blocked in
// ("sync.(*Mutex).Lock", "semaphore.(*Weighted).Acquire"), else the
// reason ("chan send").
func describeWait(frames []parse.Frame, reason string) string {
	what := reason
	if reason == parse.ReasonForever {
		what = "a nil channel or an empty select"
	}
	for _, f := range frames {
		if f.IsUser() {
			break
		}
		pkg := f.Package()
		if (pkg == "sync" || strings.HasPrefix(pkg, "golang.org/x/sync/") || strings.HasPrefix(pkg, parse.PrimitivesPath)) && strings.Contains(f.Func, "(*") {
			what = f.Func[strings.LastIndexByte(f.Func, '/')+1:]
		}
	}
	return what
}

// leakPrimitiveHints say what usually fixes a wait in a primitive's method,
// by a part of describeWait's name for it; leakHint tries them in order.
var leakPrimitiveHints = []struct{ method, hint string }{
	{"Mutex).Lock", "the lock is never released: check for a missing Unlock on an early return or panic (use defer), and for locks taken in different orders"},
	{"Mutex).RLock", "the lock is never released: check for a missing Unlock on an early return or panic (use defer), and for locks taken in different orders"},
	{"WaitGroup).Wait", "the WaitGroup never reaches zero: every Add needs a Done on every path (defer wg.Done()), and Add must happen before the goroutine starts"},
	{"Cond).Wait", "nobody will Signal/Broadcast: signal after every state change the waiters check, and wait in a loop"},
	{"Weighted).Acquire", "the semaphore's weight is never released: Release what every Acquire took (defer), or pass a context that is cancelled"},
	{"Once).Do", "the Once's function never returns (or calls Do on the same Once): make it return, and never re-enter it"},
	{"OnceErr).Do", "the Once's function never returns (or calls Do on the same Once): make it return, and never re-enter it"},
	{"singleflight.(*Group).", "the flight's leader never returns: bound the leader's work with a context or timeout, or use DoChan and select on ctx.Done()"},
	{"errgroup.(*Group).", "a goroutine of the group never returns: pass the group's context to every task and return when it is done"},
}

// leakHint says what usually fixes a wait on what (see describeWait) for
// the reason: the primitive's method first, since our primitives park on
// channels whatever they are.
func leakHint(what, reason string) string {
	for _, h := range leakPrimitiveHints {
		if strings.Contains(what, h.method) {
			return h.hint
		}
	}
	switch reason {
	case parse.ReasonChanSend:
		return "nobody will receive: give the channel a buffer for the one result, or select on ctx.Done() / a done channel in the sender"
	case parse.ReasonChanReceive, parse.ReasonSelect:
		return "nobody will send or close: close the channel when the producer is done, or select on ctx.Done() / a done channel"
	case parse.ReasonForever:
		return "blocked forever on a nil channel or an empty select: initialize the channel or remove the wait"
	case parse.ReasonSync:
		return "the lock is never released or the WaitGroup never reaches zero: check for a missing Unlock/Done on an early return (use defer), and for locks taken in different orders"
	case parse.ReasonCond:
		return "nobody will Signal/Broadcast: signal after every state change the waiters check, and wait in a loop"
	}
	return ""
}

// testOf names the test or example that transitively started g (see
// parse.Trace.TestOf), or "".
func testOf(t *parse.Trace, g *parse.Goroutine) string {
	test, _ := t.TestOf(g.ID)
	return test.Name
}

// originOf names the first function on g's creation chain that does more
// than pass control on (see creationChain): serve, not main.main.
func originOf(t *parse.Trace, g *parse.Goroutine) string {
	if chain := creationChain(t, g.ID); len(chain) > 0 {
		return chain[0].Func
	}
	return ""
}

func baseFile(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func (l *leak) Findings() []Finding { return l.findings }

// LeakTest is one test's share of a leak finding: the goroutines it left.
type LeakTest struct {
	Name string `json:"name"` // "" if the trace does not hold it
	// Subtest: some of them were started in a subtest of Name, whose name
	// the trace does not hold.
	Subtest    bool         `json:"subtest,omitempty"`
	Example    bool         `json:"example,omitempty"`
	Goroutines []parse.GoID `json:"goroutines"`
}
