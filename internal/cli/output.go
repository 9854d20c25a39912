package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/baseline"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// reporting holds the flags every command that reports findings shares
// (analyze, merge, test): which formats go where, and which findings fail
// the run. Bind them with bind, check them with plan before reading any
// input, and end the command with the plan's write and check.
type reporting struct {
	format  string
	outputs []string // FORMAT=FILE
	failOn  string
	system  bool   // text: summaries count every goroutine
	stacks  string // text: user or full

	baseline, writeBaseline string
}

func (r *reporting) bind(f *pflag.FlagSet) {
	f.StringVar(&r.format, "format", "text", "output `FORMAT` on standard output: "+strings.Join(report.FormatNames(), ", "))
	f.StringArrayVar(&r.outputs, "output", nil, "also write `FORMAT=FILE` (repeatable), e.g. --output sarif=blockscope.sarif --output junit=junit.xml")
	f.StringVar(&r.failOn, "fail-on", "none", "exit 1 on findings of these `KINDS`: a comma list of kind or kind:severity (minimum severity), all, or none; leak includes deadlock")
	f.BoolVar(&r.system, "system", false, "count the runtime's, the tracer's and package testing's goroutines and waits in the summaries")
	f.StringVar(&r.stacks, "stacks", "user", "stacks in text, by `MODE`: user (from the user's code on) or full (every frame)")
	f.StringVar(&r.baseline, "baseline", "", "report and gate only findings not in the baseline `FILE` (see --write-baseline); its suppressions apply too")
	f.StringVar(&r.writeBaseline, "write-baseline", "", "record today's findings in the baseline `FILE` (keeping its suppressions), then report as with --baseline FILE")
}

// complete registers shell completions for the reporting flags: format
// names, FORMAT= for --output, finding kinds for --fail-on.
func (r *reporting) complete(cmd *cobra.Command) {
	noFiles := cobra.ShellCompDirectiveNoFileComp
	cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return report.FormatNames(), noFiles
	})
	cmd.RegisterFlagCompletionFunc("output", func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if strings.Contains(prefix, "=") {
			return nil, cobra.ShellCompDirectiveDefault // the file
		}
		var specs []string
		for _, name := range report.FormatNames() {
			specs = append(specs, name+"=")
		}
		return specs, cobra.ShellCompDirectiveNoSpace | noFiles
	})
	cmd.RegisterFlagCompletionFunc("fail-on", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return append(kindNames(), "all", "none"), noFiles
	})
}

// target is one output: a format and the file it goes to ("" for
// standard output).
type target struct {
	format *report.Format
	path   string
}

// plan is the checked form of the reporting flags.
type plan struct {
	targets []target
	gate    failGate
	failOn  string
	text    report.TextOptions
	// writeText, if set, writes the text format instead of the report
	// package's (blockscope test's report per package).
	writeText func(io.Writer, *report.Analysis) error
	// baseline is applied to the findings; record, if set, is where it is
	// written first, from the findings (--write-baseline).
	baseline *baseline.File
	record   string
}

// plan checks the flags: a usage error names the bad one.
func (r *reporting) plan() (*plan, error) {
	gate, err := parseFailOn(r.failOn)
	if err != nil {
		return nil, err
	}
	if r.stacks != "user" && r.stacks != "full" {
		return nil, usageError("unknown --stacks %q: want user or full", r.stacks)
	}
	p := &plan{gate: gate, failOn: r.failOn, text: report.TextOptions{
		System: r.system, FullStacks: r.stacks == "full",
		FailOn: r.failOn, Fails: gate.fails, Paths: report.WorkingPaths(),
	}}
	if err := r.planBaseline(p); err != nil {
		return nil, err
	}
	f := report.LookupFormat(r.format)
	if f == nil {
		return nil, usageError("unknown --format %q: want one of %s", r.format, strings.Join(report.FormatNames(), ", "))
	}
	p.targets = append(p.targets, target{format: f})
	seen := map[string]bool{}
	for _, spec := range r.outputs {
		name, path, ok := strings.Cut(spec, "=")
		if !ok || path == "" {
			return nil, usageError("--output %q: want FORMAT=FILE, e.g. sarif=blockscope.sarif", spec)
		}
		f := report.LookupFormat(name)
		if f == nil {
			return nil, usageError("--output %q: unknown format %q: want one of %s", spec, name, strings.Join(report.FormatNames(), ", "))
		}
		if path == "-" {
			path = ""
		}
		if seen[path] && path != "" {
			return nil, usageError("--output %q: %s is written twice", spec, path)
		}
		seen[path] = true
		p.targets = append(p.targets, target{format: f, path: path})
	}
	return p, nil
}

// planBaseline reads --baseline, and for --write-baseline the file it
// will rewrite (for its suppressions): a file that cannot be read is a
// usage error before any trace is.
func (r *reporting) planBaseline(p *plan) error {
	if r.baseline != "" {
		b, err := baseline.Read(r.baseline)
		if err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
		p.baseline = b
	}
	if r.writeBaseline == "" {
		return nil
	}
	p.record = r.writeBaseline
	if p.baseline != nil {
		return nil // its suppressions carry over
	}
	if _, err := os.Stat(r.writeBaseline); err == nil {
		b, err := baseline.Read(r.writeBaseline)
		if err != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("--write-baseline: %v", err)}
		}
		p.baseline = b
		return nil
	}
	p.baseline = &baseline.File{Version: baseline.Version}
	return nil
}

// gatherers returns fresh gatherers for one trace, one for each format
// that asks for data beyond findings (pprof's blocking profile).
func (p *plan) gatherers() []report.Gatherer {
	var gs []report.Gatherer
	asked := map[string]bool{}
	for _, t := range p.targets {
		if t.format.Gather != nil && !asked[t.format.Name] {
			asked[t.format.Name] = true
			gs = append(gs, t.format.Gather())
		}
	}
	return gs
}

// consumers are gatherers as the parser's consumers.
func consumers(gs []report.Gatherer) []parse.Consumer {
	cs := make([]parse.Consumer, len(gs))
	for i, g := range gs {
		cs[i] = g
	}
	return cs
}

// write writes every output; an output that cannot be written is an
// ExitUsage error.
func (p *plan) write(a *report.Analysis, stdout io.Writer) error {
	a.Gate = report.Gate{FailOn: p.failOn, Fails: p.gate.fails}
	a.Paths = p.text.Paths
	if p.record != "" {
		p.baseline.Record(a)
		if err := writeFile(p.record, p.baseline.Write); err != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("--write-baseline %s: %v", p.record, err)}
		}
	}
	if p.baseline != nil {
		p.baseline.Apply(a)
	}
	for _, t := range p.targets {
		if err := p.writeOne(t, stdout, a); err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
	}
	return nil
}

// check applies the gate: nil, or an ExitFindings error after counting the
// failing findings on stderr.
func (p *plan) check(a *report.Analysis, stderr io.Writer) error {
	n := 0
	for _, f := range a.Findings {
		if p.gate.fails(f.Finding) {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(stderr, "blockscope: %s of a failing kind (--fail-on %s)\n", pluralFindings(n), p.failOn)
		return &exitError{code: ExitFindings}
	}
	return nil
}

func (p *plan) writeOne(t target, stdout io.Writer, a *report.Analysis) error {
	write := t.format.Write
	if t.format.Name == "text" {
		write = p.text.Write // the text format with the command's options
		if p.writeText != nil {
			write = p.writeText
		}
	}
	if t.path == "" {
		if t.format.Binary && stdoutTerminal(stdout) {
			return fmt.Errorf("the %s format is binary: write it to a file with --output %s=FILE, or redirect standard output", t.format.Name, t.format.Name)
		}
		if err := write(stdout, a); err != nil {
			return fmt.Errorf("writing the %s report: %w", t.format.Name, err)
		}
		return nil
	}
	if err := writeFile(t.path, func(w io.Writer) error { return write(w, a) }); err != nil {
		return fmt.Errorf("--output %s=%s: %v", t.format.Name, t.path, err)
	}
	return nil
}

// stdoutTerminal reports whether standard output is a terminal, where a
// binary format is not written (a variable for tests).
var stdoutTerminal = isTerminal

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
