package detect_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/leaktests"
	"github.com/blockscope/blockscope/parse"
)

// TestLeakFixtures runs each leak fixture package with go test -trace and
// checks the report against its "// want leak" markers, both ways: a
// finding at every marked line, with its severity, confidence and tests,
// and no finding elsewhere in the fixture.
func TestLeakFixtures(t *testing.T) {
	for name := range leaktests.Cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run := leaktests.Get(t, name)
			wants, err := run.Wants()
			if err != nil {
				t.Fatal(err)
			}
			if len(wants) == 0 {
				t.Skip("no markers: the fixture has a test of its own")
			}
			tr, fs := fixtureFindings(t, run)
			for _, w := range wants {
				i := slices.IndexFunc(fs, func(f detect.Finding) bool {
					return filepath.Base(f.Location.File) == w.File && f.Location.Line == w.Line
				})
				if i < 0 {
					t.Errorf("%s:%d: no finding; want a leak (%s, %s); findings: %q", w.File, w.Line, w.Severity, w.Confidence, messages(fs))
					continue
				}
				f := fs[i]
				fs = slices.Delete(fs, i, i+1)
				checkFixtureLeak(t, tr, w, f)
			}
			for _, f := range fs {
				// Other detectors (goroutine growth, say) may see the
				// fixtures' leaks their own way.
				if f.Kind == detect.Leak.Name && strings.Contains(f.Location.Func, "example.com/leaktests") {
					t.Errorf("unexpected finding in the fixture: %s %s: %s", f.Severity, f.Kind, f.Message)
				}
			}
		})
	}
}

// TestLeakFixtureNeverRun: a goroutine a test created and that had not run
// when the trace stopped is that test's leak. On a loaded machine the
// scheduler may run it first; it then blocks, and is a leak all the same.
func TestLeakFixtureNeverRun(t *testing.T) {
	t.Parallel()
	tr, fs := fixtureFindings(t, leaktests.Get(t, "neverrun"))
	var leaks []detect.Finding
	for _, f := range fs {
		if f.Kind == detect.Leak.Name {
			leaks = append(leaks, f)
		}
	}
	if len(leaks) != 1 {
		t.Fatalf("%d leak findings; want 1: %q", len(leaks), messages(leaks))
	}
	f := leaks[0]
	line, sev, conf := 12, detect.SeverityWarning, detect.ConfidenceOutlivedTest
	if g := tr.Goroutine(f.Goroutines[0]); g.State != parse.StateRunnable {
		t.Logf("the scheduler ran the goroutine before the trace stopped: %s", f.Message)
		line, sev, conf = 13, detect.SeverityError, detect.ConfidenceNoWaker
	} else if !strings.Contains(f.Message, "never run") {
		t.Errorf("finding %q does not say the goroutine never ran", f.Message)
	}
	if f.Location.Line != line || f.Severity != sev || f.Confidence != conf || f.Test != "TestStartsLate" {
		t.Errorf("finding %s (%s) at line %d, test %q: %q; want %s (%s) at line %d, TestStartsLate", f.Severity, f.Confidence, f.Location.Line, f.Test, f.Message, sev, conf, line)
	}
}

// TestLeakFixtureKnown: the standard library's signal watcher, which
// lives as long as the process, is ignored (known), and so is a goroutine
// --ignore-created-by names; --report-known reports the watcher.
func TestLeakFixtureKnown(t *testing.T) {
	t.Parallel()
	run := leaktests.Get(t, "known")
	cfg := detect.DefaultConfig()
	cfg.Leak.IgnoreCreatedBy = []string{"example.com/leaktests/known.startWatcher"}
	res := fixtureRun(t, run, cfg)
	for _, f := range res.Findings {
		if f.Kind == detect.Leak.Name {
			t.Errorf("finding %q; want none: both goroutines are ignored", f.Message)
		}
	}
	var got []string
	for _, ig := range res.Ignored {
		got = append(got, fmt.Sprintf("%s %d %s %s", ig.Library, len(ig.Goroutines), ig.Test, ig.Reason))
	}
	slices.Sort(got)
	want := []string{
		" 1 TestNotify --ignore-created-by example.com/leaktests/known.startWatcher",
		"os/signal 1 TestNotify " + detect.KnownGoroutines[0].Reason,
	}
	if !slices.Equal(got, want) {
		t.Errorf("ignored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	cfg = detect.DefaultConfig()
	cfg.Leak.ReportKnown = true
	res = fixtureRun(t, run, cfg)
	var loop bool
	for _, f := range res.Findings {
		loop = loop || f.Kind == detect.Leak.Name && slices.ContainsFunc(f.Stack, func(fr parse.Frame) bool { return fr.Func == "os/signal.loop" }) && f.Test == "TestNotify"
	}
	if !loop || len(res.Ignored) != 0 {
		t.Errorf("with ReportKnown: findings %q, ignored %v; want os/signal.loop reported, none ignored", messages(res.Findings), res.Ignored)
	}
}

// fixtureFindings runs every detector over a fixture's trace.
func fixtureFindings(t *testing.T, run *leaktests.Run) (*parse.Trace, []detect.Finding) {
	t.Helper()
	res := fixtureRun(t, run, detect.DefaultConfig())
	return res.Trace, res.Findings
}

// fixtureRun runs every detector over a fixture's trace with cfg.
func fixtureRun(t *testing.T, run *leaktests.Run, cfg *detect.Config) *detect.Result {
	t.Helper()
	res, err := detect.Run("-", parse.Options{Stdin: bytes.NewReader(run.Trace)}, cfg)
	if err != nil {
		t.Fatalf("Run(%s's trace): %v\ngo test said:\n%s", run.Name, err, run.Output)
	}
	for _, f := range res.Findings {
		if f.Kind == detect.Leak.Name {
			checkLeakFinding(t, res.Trace, f)
		}
	}
	return res
}

func checkFixtureLeak(t *testing.T, tr *parse.Trace, w leaktests.Want, f detect.Finding) {
	t.Helper()
	if f.Kind != "leak" || string(f.Severity) != w.Severity || f.Confidence != w.Confidence {
		t.Errorf("%s:%d: %s %s (%s): %s; want a leak, %s (%s)", w.File, w.Line, f.Severity, f.Kind, f.Confidence, f.Message, w.Severity, w.Confidence)
	}
	var names []string
	n := 0
	for _, lt := range f.Tests {
		name := lt.Name
		if lt.Subtest {
			name += "(subtest)"
		}
		names = append(names, name)
		n += len(lt.Goroutines)
		for _, id := range lt.Goroutines {
			if test, ok := tr.TestOf(id); !ok || test.Name != lt.Name || !test.Done {
				t.Errorf("%s:%d: goroutine %d listed under %s; TestOf says %+v, %v", w.File, w.Line, id, lt.Name, test, ok)
			}
		}
	}
	if n != len(f.Goroutines) {
		t.Errorf("%s:%d: the tests list %d goroutines; the finding has %d", w.File, w.Line, n, len(f.Goroutines))
	}
	switch {
	case w.NTests > 0:
		if len(f.Tests) != w.NTests || !strings.Contains(f.Message, fmt.Sprintf("from %d tests", w.NTests)) {
			t.Errorf("%s:%d: %q names tests %q; want %d of them", w.File, w.Line, f.Message, names, w.NTests)
		}
	default:
		if !slices.Equal(names, w.Tests) {
			t.Errorf("%s:%d: %q names tests %q; want %q", w.File, w.Line, f.Message, names, w.Tests)
		}
		for _, lt := range f.Tests {
			if !strings.Contains(f.Message, lt.Name) {
				t.Errorf("%s:%d: message %q does not name %s", w.File, w.Line, f.Message, lt.Name)
			}
		}
	}
}

// TestLeakFixtureTimeout: a test binary cut by -timeout is cut mid-test,
// names the test that was running, and reports none of its goroutines.
func TestLeakFixtureTimeout(t *testing.T) {
	t.Parallel()
	run := leaktests.Get(t, "timeout")
	if !strings.Contains(run.Output, "test timed out") {
		t.Fatalf("the fixture was not cut by -timeout; go test said:\n%s", run.Output)
	}
	tr, fs := fixtureFindings(t, run)
	got := tr.TestRun()
	if !got.CutMidTest() || !got.TimedOut || !slices.Equal(got.Running, []string{"TestSlow"}) {
		t.Errorf("TestRun() = %+v; want cut mid-test by -timeout, TestSlow running", got)
	}
	for _, f := range fs {
		for _, id := range f.Goroutines {
			if test, _ := tr.TestOf(id); test.Name == "TestSlow" {
				t.Errorf("finding %q names goroutine %d of TestSlow, which had not finished", f.Message, id)
			}
		}
	}
}

// TestLeakFixtureSameLine: a correct test that uses the same worker does
// not make the leaking test's worker look wakeable, and is not named.
func TestLeakFixtureSameLine(t *testing.T) {
	t.Parallel()
	_, fs := fixtureFindings(t, leaktests.Get(t, "sameline"))
	for _, f := range fs {
		if strings.Contains(f.Message, "TestCloses") {
			t.Errorf("finding %q names TestCloses, which closed its worker", f.Message)
		}
	}
}
