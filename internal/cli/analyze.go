package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

type analyzeOptions struct {
	reporting
	reading
	jobs    int
	explain int64
	quiet   bool
	cfg     *detect.Config
}

// reading holds the flags about how each trace is read, which analyze and
// test share.
type reading struct {
	allowIncomplete bool
	module          string
}

func (r *reading) bind(f *pflag.FlagSet) {
	f.BoolVar(&r.allowIncomplete, "allow-incomplete", false, "report on a damaged trace without exiting 2 (the report is still marked incomplete)")
	f.StringVar(&r.module, "module", "", "the module under test, whose frames findings point at (`PATH`, such as example.com/pool); by default, guessed from the test functions' package")
}

// detectorFlags bind each detector's flags to its options in detect.Config;
// each detector's flags live in a file of their own (flags_*.go).
var detectorFlags []func(f *pflag.FlagSet, cfg *detect.Config)

func newAnalyze() *cobra.Command {
	o := &analyzeOptions{cfg: detect.DefaultConfig()}
	prof := &profileFlags{}
	cmd := &cobra.Command{
		Use:   "analyze [flags] TRACE...",
		Short: "Report blocking, leaks and contention in traces",
		Long: `analyze reads execution traces (paths, directories of them, or - for
standard input; plain or gzip-compressed; Go 1.11 to 1.26) and prints a
summary of each and their findings. Several traces are analyzed in
parallel (--jobs), and a finding seen in several is reported once, with
the traces that showed it.

--format chooses what goes to standard output; --output FORMAT=FILE writes
more formats in the same run (repeatable). Formats: ` + strings.Join(report.FormatNames(), ", ") + `.

Exit status:
  0  no finding of a kind named by --fail-on; findings alone do not fail
     the run: without --fail-on (default none) it exits 0, findings or not
  1  a finding of a kind --fail-on names (at its severity or worse)
  2  a usage error, an unreadable trace, a trace that could not be read
     whole, or a test binary's trace cut mid-test (by -timeout, or a test
     binary that died); unless --allow-incomplete
A deadlock is the strongest leak: --fail-on leak fails on deadlock findings
too (their goroutines are not reported again as leaks).

Finding kinds: ` + strings.Join(kindNames(), ", ") + `.`,
		Example: `  go test -trace trace.out ./yourpkg && blockscope analyze trace.out
  blockscope analyze --fail-on leak trace.out          # CI: fail on any leak
  blockscope analyze --fail-on leak:error trace.out    # only on proven leaks
  blockscope analyze --format json trace.out > report.json
  blockscope analyze --output sarif=blockscope.sarif --output junit=junit.xml trace.out
  blockscope analyze --jobs 4 snapshots/                # every trace in a directory
  blockscope analyze --ignore-top 'example.com/pool.(*Pool).worker' trace.out`,
		Args: minArgs(1, "TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return prof.run(func() error {
				return o.run(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
			})
		},
	}
	f := cmd.Flags()
	o.reporting.bind(f)
	o.reporting.complete(cmd)
	o.reading.bind(f)
	f.IntVar(&o.jobs, "jobs", runtime.GOMAXPROCS(0), "use up to `N` goroutines: traces analyzed at once, and for one trace, generations decoded at once (1: one serial pass)")
	f.Int64Var(&o.explain, "explain", 0, "instead of the report, explain one `GOROUTINE` (its id): its creation chain, its blocking with reasons and wakers, its test, and why each detector did or did not report it")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress bar (drawn on standard error, when it is a terminal, for traces over 4 MB)")
	prof.bind(f)
	for _, bind := range detectorFlags {
		bind(f, o.cfg)
	}
	return cmd
}

// exactArgs is cobra.ExactArgs with a message that names the argument.
func exactArgs(n int, name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s: want %s, got %d arguments (see 'blockscope %s --help')", cmd.Name(), name, len(args), cmd.Name())
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs with a message that names the argument.
func minArgs(n int, name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError("%s: want %s, got %d arguments (see 'blockscope %s --help')", cmd.Name(), name, len(args), cmd.Name())
		}
		return nil
	}
}

func kindNames() []string {
	var names []string
	for _, d := range detect.Detectors() {
		names = append(names, d.Name)
	}
	return names
}

func (o *analyzeOptions) run(stdin io.Reader, stdout, stderr io.Writer, args []string) error {
	p, err := o.plan()
	if err != nil {
		return err
	}
	p.text.AllowIncomplete = o.allowIncomplete
	if err := o.cfg.Validate(); err != nil {
		return usageError("%v", err)
	}
	if o.jobs < 1 {
		return usageError("--jobs %d: want at least 1", o.jobs)
	}
	paths, err := tracePaths(args)
	if err != nil {
		return err
	}
	if o.explain != 0 {
		if len(paths) != 1 {
			return usageError("--explain: want one trace, got %d", len(paths))
		}
		return explain(stdout, paths[0], parse.Options{Stdin: stdin, Module: o.module}, o.cfg, parse.GoID(o.explain))
	}
	runs := make([]traceRun, len(paths))
	sem := make(chan struct{}, o.jobs)
	// What the traces at once leave of --jobs decodes each one's
	// generations in parallel.
	decoders := max(1, o.jobs/min(len(paths), o.jobs))
	bar := newProgress(stderr, paths, o.quiet)
	var wg sync.WaitGroup
	for i, path := range paths {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			runs[i] = analyzeOne(path, parse.Options{Stdin: stdin, Module: o.module, Jobs: decoders, Progress: bar.of(i)}, o.cfg, p.gatherers())
			if len(paths) == 1 && runs[i].trace != nil {
				var warn bytes.Buffer
				warnUnmatchedIgnores(&warn, runs[i].trace.Stacks, o.cfg.Leak)
				runs[i].warnings = warn.String()
			}
			runs[i].trace = nil // the findings are what is kept of a trace
		})
	}
	wg.Wait()
	bar.done()

	var analyses []*report.Analysis
	var unreadable, incomplete []error
	for _, r := range runs {
		switch {
		case r.analysis == nil:
			unreadable = append(unreadable, r.err)
		case r.err != nil:
			incomplete = append(incomplete, r.err)
			analyses = append(analyses, r.analysis)
		default:
			analyses = append(analyses, r.analysis)
		}
	}
	if len(analyses) == 0 {
		for _, err := range unreadable {
			fmt.Fprintf(stderr, "blockscope: %v\n", err)
		}
		return &exitError{code: ExitUsage}
	}
	a := report.Merge(analyses...)
	for _, r := range runs {
		for _, g := range r.gatherers {
			g.AddTo(a)
		}
	}
	if err := p.write(a, stdout); err != nil {
		return err
	}
	// What could not be read, or read whole, is said after the report and
	// exits 2 (a trace cut short: unless --allow-incomplete).
	for _, r := range runs {
		fmt.Fprint(stderr, r.warnings)
	}
	for _, err := range unreadable {
		fmt.Fprintf(stderr, "blockscope: %v\n", err)
	}
	for _, err := range incomplete {
		if o.allowIncomplete {
			fmt.Fprintf(stderr, "blockscope: warning: %v\n", err)
		} else {
			fmt.Fprintf(stderr, "blockscope: %v (the report covers what was read; --allow-incomplete accepts it)\n", err)
		}
	}
	if len(unreadable) > 0 || len(incomplete) > 0 && !o.allowIncomplete {
		return &exitError{code: ExitUsage}
	}
	return p.check(a, stderr)
}

// traceRun is the outcome of analyzing one trace.
type traceRun struct {
	analysis  *report.Analysis // nil when the trace could not be read at all
	err       error            // with an analysis: read only in part
	gatherers []report.Gatherer
	trace     *parse.Trace // nil once the run is looked at
	warnings  string       // for stderr, after the report
}

func analyzeOne(path string, opts parse.Options, cfg *detect.Config, gs []report.Gatherer) traceRun {
	res, err := detect.Run(path, opts, cfg, consumers(gs)...)
	if res == nil {
		return traceRun{err: err}
	}
	a := report.FromResult(res)
	if info := a.Traces[0].Tests; err == nil && info != nil && info.CutMidTest {
		// A test binary's trace cut mid-test is incomplete as a test run.
		err = fmt.Errorf("%s: cut mid-test: %s", res.Trace.Path, report.CutMidTest(*info))
	}
	return traceRun{analysis: a, err: err, gatherers: gs, trace: res.Trace}
}

// tracePaths expands the arguments: a directory stands for every regular
// file in it (not recursive, in name order); "-" for standard input, once.
func tracePaths(args []string) ([]string, error) {
	var paths []string
	stdin := false
	for _, arg := range args {
		if arg == "-" {
			if stdin {
				return nil, usageError("standard input (-) can be read only once")
			}
			stdin = true
			paths = append(paths, arg)
			continue
		}
		st, err := os.Stat(arg)
		if err != nil || !st.IsDir() {
			paths = append(paths, arg) // the parser says what is wrong with it
			continue
		}
		entries, err := os.ReadDir(arg)
		if err != nil {
			return nil, &exitError{code: ExitUsage, err: fmt.Errorf("%s: %v", arg, err)}
		}
		n := len(paths)
		for _, e := range entries {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				paths = append(paths, filepath.Join(arg, e.Name()))
			}
		}
		if len(paths) == n {
			return nil, usageError("%s: a directory with no trace files", arg)
		}
	}
	return paths, nil
}

func pluralFindings(n int) string {
	if n == 1 {
		return "1 finding"
	}
	return fmt.Sprintf("%d findings", n)
}

// failGate says which findings fail the run: kind → minimum severity rank.
type failGate map[string]detect.Severity

func parseFailOn(spec string) (failGate, error) {
	gate := failGate{}
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "none" {
		return gate, nil
	}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		kind, sev, hasSev := strings.Cut(item, ":")
		min := detect.SeverityInfo
		if hasSev {
			switch s := detect.Severity(sev); s {
			case detect.SeverityError, detect.SeverityWarning, detect.SeverityInfo:
				min = s
			default:
				return nil, usageError("--fail-on %q: unknown severity %q (want error, warning or info)", item, sev)
			}
		}
		switch {
		case kind == "none":
			return nil, usageError("--fail-on %q: none stands alone (it means: never fail on findings)", spec)
		case kind == "all" || kind == "any":
			for _, k := range kindNames() {
				gate[k] = min
			}
		case detect.Lookup(kind) != nil:
			gate[kind] = min
		default:
			return nil, usageError("--fail-on: unknown finding kind %q (want one of %s, all, or none)", kind, strings.Join(kindNames(), ", "))
		}
	}
	if min, ok := gate["leak"]; ok {
		if _, ok := gate["deadlock"]; !ok {
			gate["deadlock"] = min // a deadlock is the strongest leak
		}
	}
	return gate, nil
}

// fails reports whether f fails the run.
func (g failGate) fails(f detect.Finding) bool {
	min, ok := g[f.Kind]
	return ok && f.Severity.AtLeast(min)
}
