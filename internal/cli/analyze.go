package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

type analyzeOptions struct {
	format          string
	failOn          string
	allowIncomplete bool
	system          bool
	stacks          string
	cfg             *detect.Config
}

// detectorFlags bind each detector's flags to its options in detect.Config;
// each detector's flags live in a file of their own (flags_*.go).
var detectorFlags []func(f *pflag.FlagSet, cfg *detect.Config)

func newAnalyze() *cobra.Command {
	o := &analyzeOptions{cfg: detect.DefaultConfig()}
	prof := &profileFlags{}
	cmd := &cobra.Command{
		Use:   "analyze [flags] TRACE",
		Short: "Report blocking, leaks and contention in a trace",
		Long: `analyze reads one execution trace (a path, or - for standard input; plain
or gzip-compressed; Go 1.11 to 1.26) and prints a summary of it and its
findings.

Exit status:
  0  no finding of a kind named by --fail-on; findings alone do not fail
     the run: without --fail-on (default none) it exits 0, findings or not
  1  a finding of a kind --fail-on names (at its severity or worse)
  2  a usage error, an unreadable trace, or a trace that could not be read
     whole (unless --allow-incomplete)
A deadlock is the strongest leak: --fail-on leak fails on deadlock findings
too (their goroutines are not reported again as leaks).

Finding kinds: ` + strings.Join(kindNames(), ", ") + `.`,
		Example: `  go test -trace trace.out ./yourpkg && blockscope analyze trace.out
  blockscope analyze --fail-on leak trace.out          # CI: fail on any leak
  blockscope analyze --fail-on leak:error trace.out    # only on proven leaks
  blockscope analyze --format json trace.out > report.json
  blockscope analyze --ignore-top 'example.com/pool.(*Pool).worker' trace.out`,
		Args: exactArgs(1, "TRACE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return prof.run(func() error {
				return o.run(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0])
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.StringVar(&o.failOn, "fail-on", "none", "exit 1 on findings of these `KINDS`: a comma list of kind or kind:severity (minimum severity), all, or none; leak includes deadlock")
	f.BoolVar(&o.allowIncomplete, "allow-incomplete", false, "report on a damaged trace without exiting 2 (the report is still marked incomplete)")
	f.BoolVar(&o.system, "system", false, "count the runtime's, the tracer's and package testing's goroutines and waits in the summaries")
	f.StringVar(&o.stacks, "stacks", "user", "stacks in text: user (from the user's code on) or full (every frame)")
	for _, bind := range detectorFlags {
		bind(f, o.cfg)
	}
	prof.bind(f)
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

func kindNames() []string {
	var names []string
	for _, d := range detect.Detectors() {
		names = append(names, d.Name)
	}
	return names
}

func (o *analyzeOptions) run(stdin io.Reader, stdout, stderr io.Writer, path string) error {
	gate, err := parseFailOn(o.failOn)
	if err != nil {
		return err
	}
	render, err := o.renderer(gate)
	if err != nil {
		return err
	}
	if err := o.cfg.Validate(); err != nil {
		return usageError("%v", err)
	}
	res, readErr := detect.Run(path, parse.Options{Stdin: stdin}, o.cfg)
	if res == nil {
		return &exitError{code: ExitUsage, err: readErr}
	}
	if err := render(stdout, res); err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("writing report: %w", err)}
	}
	warnUnmatchedIgnores(stderr, res.Trace.Stacks, o.cfg.Leak)
	if readErr != nil {
		if !o.allowIncomplete {
			return &exitError{code: ExitUsage, err: fmt.Errorf("%v (the report covers what was read; --allow-incomplete accepts it)", readErr)}
		}
		fmt.Fprintf(stderr, "blockscope: warning: %v\n", readErr)
	}
	if n := gate.count(res.Findings); n > 0 {
		fmt.Fprintf(stderr, "blockscope: %s of a failing kind (--fail-on %s)\n", pluralFindings(n), o.failOn)
		return &exitError{code: ExitFindings}
	}
	return nil
}

func pluralFindings(n int) string {
	if n == 1 {
		return "1 finding"
	}
	return fmt.Sprintf("%d findings", n)
}

func (o *analyzeOptions) renderer(gate failGate) (func(io.Writer, *detect.Result) error, error) {
	if o.stacks != "user" && o.stacks != "full" {
		return nil, usageError("unknown --stacks %q: want user or full", o.stacks)
	}
	switch o.format {
	case "text":
		text := report.TextOptions{
			System: o.system, FullStacks: o.stacks == "full",
			FailOn: o.failOn, Fails: gate.fails, Paths: report.WorkingPaths(),
		}
		return text.Write, nil
	case "json":
		return report.JSON, nil
	}
	return nil, usageError("unknown --format %q: want text or json", o.format)
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

func (g failGate) count(fs []detect.Finding) int {
	n := 0
	for _, f := range fs {
		if g.fails(f) {
			n++
		}
	}
	return n
}

// fails reports whether a finding is of a failing kind and severity.
func (g failGate) fails(f detect.Finding) bool {
	min, ok := g[f.Kind]
	return ok && atLeast(f.Severity, min)
}

func atLeast(s, min detect.Severity) bool {
	rank := map[detect.Severity]int{detect.SeverityError: 3, detect.SeverityWarning: 2, detect.SeverityInfo: 1}
	return rank[s] >= rank[min]
}
