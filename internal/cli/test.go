package cli

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/gotest"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

type testOptions struct {
	reporting
	reading
	cfg      *detect.Config
	jobs     int
	traceDir string
	quiet    bool
}

func newTest() *cobra.Command {
	o := &testOptions{cfg: detect.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "test [flags] [packages] [-- go test flags]",
		Short: "Run go test with a trace per package and report test results and findings",
		Long: `test runs the tests of each package (go list patterns, ./... by default)
with go test -json -trace, packages in parallel (--jobs), analyzes each
package's trace as analyze does, and prints one report: per package, the
test results and the findings, each finding with the test it is
attributed to, then a one-line summary. Packages without test files are
skipped, saying so. Flags after -- go to go test (-run, -count, -race,
-timeout, build tags...).

Exit status: 0 when every test passed and no finding is of a kind named by
--fail-on; 1 when a test failed or a finding is; 2 for a usage error, a
package that did not build, or a trace that could not be read (whole,
unless --allow-incomplete), with the package named.

Traces go to --trace-dir, or to a temporary directory that is removed
unless something failed (its path is then printed). While packages run on
a terminal, a status line on standard error says which (not with --quiet).`,
		Example: `  blockscope test ./...                         # every package; fails on leaks
  blockscope test --fail-on leak:error ./...    # only proven leaks fail
  blockscope test --jobs 2 ./pkg/... -- -run TestServe -count 1
  blockscope test --trace-dir traces ./...      # keep every package's trace`,
		RunE: func(cmd *cobra.Command, args []string) error {
			patterns, flags := args, []string(nil)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				patterns, flags = args[:dash], args[dash:]
			}
			return o.run(cmd.OutOrStdout(), cmd.ErrOrStderr(), patterns, flags)
		},
	}
	f := cmd.Flags()
	o.reporting.bind(f)
	o.reporting.complete(cmd)
	// A test run is over when its trace ends: what is blocked then leaked.
	o.failOn = "leak"
	f.Lookup("fail-on").DefValue = o.failOn
	o.reading.bind(f)
	for _, bind := range detectorFlags {
		bind(f, o.cfg)
	}
	f.IntVar(&o.jobs, "jobs", runtime.GOMAXPROCS(0), "run up to `N` packages at once")
	f.StringVar(&o.traceDir, "trace-dir", "", "keep each package's trace in `DIR` (default: a temporary directory, kept only if something failed)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no status line while packages run")
	return cmd
}

func (o *testOptions) run(stdout, stderr io.Writer, patterns, goFlags []string) error {
	p, err := o.plan()
	if err != nil {
		return err
	}
	if err := o.cfg.Validate(); err != nil {
		return usageError("%v", err)
	}
	if o.jobs < 1 {
		return usageError("--jobs %d: want at least 1", o.jobs)
	}
	for _, flag := range goFlags {
		name, _, _ := strings.Cut(strings.TrimLeft(flag, "-"), "=")
		if strings.HasPrefix(flag, "-") && (name == "trace" || name == "json" || name == "test.trace") {
			return usageError("-- %s: blockscope test passes -json and -trace to go test itself (keep the traces with --trace-dir)", flag)
		}
	}
	dir, temporary := o.traceDir, o.traceDir == ""
	if temporary {
		if dir, err = os.MkdirTemp("", "blockscope-test-"); err != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("creating a directory for traces: %w", err)}
		}
	} else if err := os.MkdirAll(dir, 0o777); err != nil {
		return usageError("--trace-dir: %v", err)
	}

	var mu sync.Mutex
	gatherers := make(map[string][]report.Gatherer)
	status := newStatusLine(stderr, !o.quiet && isTerminal(stderr))
	pkgs, err := gotest.Run(gotest.Options{
		Patterns: patterns, Flags: goFlags, Jobs: o.jobs, TraceDir: dir, Config: o.cfg, Module: o.module,
		Consumers: func(pkg string) []parse.Consumer {
			gs := p.gatherers()
			mu.Lock()
			defer mu.Unlock()
			gatherers[pkg] = gs
			return consumers(gs)
		},
		Listed: status.listed, Started: status.start, Finished: status.finish,
	})
	status.stop()
	if err != nil {
		os.RemoveAll(dir)
		return &exitError{code: ExitUsage, err: err}
	}

	text := gotest.TextOptions{
		Fails:           p.gate.fails,
		FailOn:          o.failOn,
		AllowIncomplete: o.allowIncomplete,
		Short:           p.text.Paths.Short,
	}
	a, traces := testAnalysis(pkgs)
	// The text, like the verdict, shows the findings every format shows:
	// those the Analysis keeps once the output plan has applied to it
	// (a baseline's are gone).
	p.writeText = func(w io.Writer, a *report.Analysis) error {
		reported(traces, a)
		text.Baselined = a.Baselined
		return text.Write(w, pkgs)
	}
	for _, pkg := range pkgs {
		for _, g := range gatherers[pkg.ImportPath] {
			g.AddTo(a)
		}
	}
	if err := p.write(a, stdout); err != nil {
		return err
	}
	reported(traces, a)
	v := text.Judge(pkgs)
	code := ExitOK
	switch {
	case len(v.Broken) > 0:
		code = ExitUsage
	case v.FailedPackages > 0:
		code = ExitFindings
	}
	switch {
	case code != ExitOK && temporary:
		fmt.Fprintf(stderr, "blockscope: traces kept in %s\n", dir)
	case temporary:
		os.RemoveAll(dir)
	}
	if len(v.Broken) > 0 {
		return &exitError{code: code, err: fmt.Errorf("not built or trace unreadable: %s", strings.Join(v.Broken, ", "))}
	}
	if code != ExitOK {
		return &exitError{code: code}
	}
	return nil
}

// testAnalysis is the run as every format sees it: a trace per package
// that ran (traces[i] is the package of a.Traces[i]), its tests, and its
// findings, each naming the test go test ran that it is attributed to.
func testAnalysis(pkgs []*gotest.Package) (*report.Analysis, []*gotest.Package) {
	var as []*report.Analysis
	var traces []*gotest.Package
	for _, pkg := range pkgs {
		var pa *report.Analysis
		switch {
		case pkg.Skipped != "":
			continue
		case pkg.Result == nil:
			// Not built, or no trace to read: the package and its tests
			// are still part of the run.
			why := pkg.TraceErr
			if pkg.BuildFailed {
				why = fmt.Errorf("%s: not built: %s", pkg.ImportPath, strings.TrimSpace(pkg.Output))
			}
			pa = &report.Analysis{Traces: []report.TraceInfo{{Path: pkg.TracePath, Error: why.Error()}}}
			// A failure of its own in the test results (JUnit), named as
			// go-junit-report names a build failure.
			name := "[trace unreadable]"
			if pkg.BuildFailed {
				name = "[build failed]"
			}
			pa.Tests = append(pa.Tests, report.Test{Package: pkg.ImportPath, Name: name, Outcome: "fail", Output: why.Error()})
		default:
			res := *pkg.Result
			res.Findings = perTest(pkg, res.Findings)
			pa = report.FromResult(&res)
		}
		pa.Traces[0].Package = pkg.ImportPath
		for _, t := range pkg.Tests {
			pa.Tests = append(pa.Tests, report.Test{
				Package: pkg.ImportPath, Name: t.Name, Outcome: cmp.Or(t.Outcome, "fail"),
				Elapsed: t.Elapsed, Output: t.Output,
			})
		}
		as = append(as, pa)
		traces = append(traces, pkg)
	}
	return report.Merge(as...), traces
}

// reported sets each package's Findings to those of a that its trace
// showed.
func reported(traces []*gotest.Package, a *report.Analysis) {
	for _, pkg := range traces {
		pkg.Findings = nil
	}
	for _, f := range a.Findings {
		for _, i := range f.Traces {
			traces[i].Findings = append(traces[i].Findings, f.Finding)
		}
	}
}

// perTest makes each finding name the test go test ran that it is
// attributed to, splitting a leak found in several tests into one finding
// for each, so that each of those tests fails with its own.
func perTest(pkg *gotest.Package, fs []detect.Finding) []detect.Finding {
	var out []detect.Finding
	for _, f := range fs {
		if f.Test == "" && len(f.Tests) > 1 {
			for _, lt := range f.Tests {
				g := f
				g.Test, g.Tests, g.Goroutines, g.Count = lt.Name, []detect.LeakTest{lt}, lt.Goroutines, 0
				out = append(out, named(pkg, g))
			}
			continue
		}
		out = append(out, named(pkg, f))
	}
	detect.Sort(out)
	return out
}

// named gives a finding's Test the name of the test go test ran.
func named(pkg *gotest.Package, f detect.Finding) detect.Finding {
	if t := pkg.TestOf(f); t != nil {
		f.Test = t.Name
	}
	return f
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// statusLine is the live line on a terminal while packages run: the
// packages running, for how long, and how many are done.
type statusLine struct {
	w       io.Writer
	mu      sync.Mutex
	running map[string]time.Time
	done    int
	total   int
	quit    chan struct{}
	stopped sync.WaitGroup
}

// newStatusLine starts redrawing the line on w every 200ms, if on.
func newStatusLine(w io.Writer, on bool) *statusLine {
	s := &statusLine{w: w, running: make(map[string]time.Time)}
	if !on {
		return s
	}
	s.quit = make(chan struct{})
	s.stopped.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.quit:
				fmt.Fprint(s.w, "\r\033[K")
				return
			case <-tick.C:
				fmt.Fprint(s.w, "\r\033[K"+s.line(time.Now()))
			}
		}
	})
	return s
}

func (s *statusLine) listed(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total = n
}

func (s *statusLine) start(pkg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running[pkg] = time.Now()
}

func (s *statusLine) finish(pkg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, pkg)
	s.done++
}

// line is the status: "[2/5 done] example.com/a 1.2s, example.com/b 0.3s".
func (s *statusLine) line(now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pkgs []string
	for pkg := range s.running {
		pkgs = append(pkgs, pkg)
	}
	slices.Sort(pkgs)
	var parts []string
	for _, pkg := range pkgs {
		parts = append(parts, fmt.Sprintf("%s %.1fs", pkg, now.Sub(s.running[pkg]).Seconds()))
	}
	return fmt.Sprintf("[%d/%d done] %s", s.done, s.total, strings.Join(parts, ", "))
}

// stop ends the redrawing and clears the line.
func (s *statusLine) stop() {
	if s.quit != nil {
		close(s.quit)
		s.stopped.Wait()
	}
}
