package gotest

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/detect"
)

// TextOptions tune the combined text report.
type TextOptions struct {
	// Fails says whether a finding fails the run; FailOn is the flag's
	// text, for the summary.
	Fails  func(detect.Finding) bool
	FailOn string
	// AllowIncomplete makes a trace read in part no failure.
	AllowIncomplete bool
	// Short shortens a file path for the reader (nil: as in the trace).
	Short func(string) string
	// Baselined counts the findings left out because a baseline has
	// them, for the summary.
	Baselined int
}

// Verdict is what a run comes to.
type Verdict struct {
	Packages, Skipped, FailedPackages   int
	Tests, Passed, Failed, SkippedTests int
	Findings, Failing                   int
	Baselined                           int // left out: a baseline has them
	// Broken names the packages that did not build or whose trace could
	// not be read (whole, unless AllowIncomplete): exit 2.
	Broken []string
}

// Judge counts what the packages came to.
func (o TextOptions) Judge(pkgs []*Package) Verdict {
	var v Verdict
	for _, p := range pkgs {
		v.Packages++
		if p.Skipped != "" {
			v.Skipped++
			continue
		}
		if o.broken(p) {
			v.Broken = append(v.Broken, p.ImportPath)
		}
		if o.failed(p) {
			v.FailedPackages++
		}
		for _, t := range p.Tests {
			v.Tests++
			switch t.Outcome {
			case "pass":
				v.Passed++
			case "skip":
				v.SkippedTests++
			default:
				v.Failed++
			}
		}
		for _, sf := range shown(p) {
			v.Findings++
			if o.fails(sf.Finding) {
				v.Failing++
			}
		}
	}
	return v
}

func (o TextOptions) fails(f detect.Finding) bool { return o.Fails != nil && o.Fails(f) }

// broken: the package did not build, or its trace could not be read.
func (o TextOptions) broken(p *Package) bool {
	return p.BuildFailed || p.TraceErr != nil && (p.Result == nil || !o.AllowIncomplete)
}

// failed: the package's tests failed, or a finding in it fails the run,
// or it is broken.
func (o TextOptions) failed(p *Package) bool {
	if p.Failed() || o.broken(p) {
		return true
	}
	return slices.ContainsFunc(p.Findings, o.fails)
}

// Write writes the combined report: per package, a status line, the
// failed tests with their output, and the findings, each with the test
// it is attributed to; then a one-line summary.
func (o TextOptions) Write(w io.Writer, pkgs []*Package) error {
	for _, p := range pkgs {
		o.writePackage(w, p)
	}
	v := o.Judge(pkgs)
	v.Baselined = o.Baselined
	_, err := fmt.Fprintln(w, "\n"+v.String(o.FailOn))
	return err
}

func (o TextOptions) writePackage(w io.Writer, p *Package) {
	switch {
	case p.Skipped != "":
		fmt.Fprintf(w, "skip  %s  (%s)\n", p.ImportPath, p.Skipped)
		return
	case p.BuildFailed:
		fmt.Fprintf(w, "FAIL  %s  [build failed]\n", p.ImportPath)
		indent(w, "    ", p.Output)
		return
	}
	status := "ok  "
	if o.failed(p) {
		status = "FAIL"
	}
	fmt.Fprintf(w, "%s  %s  %v  %s", status, p.ImportPath, p.Elapsed.Round(10*time.Millisecond), testCounts(p.Tests))
	if p.Result != nil {
		fmt.Fprintf(w, "; %s", plural(len(shown(p)), "finding"))
	}
	fmt.Fprintln(w)
	if p.TraceErr != nil {
		fmt.Fprintf(w, "    trace: %v\n", p.TraceErr)
	}
	failedTests := 0
	for _, t := range p.Tests {
		if t.Outcome != "pass" && t.Outcome != "skip" {
			failedTests++
			indent(w, "    ", testOutput(t))
		}
	}
	if failedTests == 0 && p.Failed() {
		// Failed outside any test: a crash, a timeout, TestMain.
		indent(w, "    ", p.Output)
	}
	for _, sf := range shown(p) {
		o.writeFinding(w, sf)
	}
}

// shownFinding is a finding as the text shows it: once, with every test
// it was found in.
type shownFinding struct {
	detect.Finding
	tests []string
}

// shown groups a package's findings that differ only in their test (a
// leak found in several tests, which other formats report once per test)
// into one, naming the tests.
func shown(p *Package) []shownFinding {
	var out []shownFinding
	for _, f := range p.Findings {
		var names []string
		if t := p.TestOf(f); t != nil {
			names = []string{t.Name}
		} else if n := testNames(f); n != "" {
			names = []string{n}
		}
		i := slices.IndexFunc(out, func(s shownFinding) bool {
			return s.Kind == f.Kind && s.Location == f.Location && s.Message == f.Message
		})
		if i < 0 {
			out = append(out, shownFinding{Finding: f, tests: names})
			continue
		}
		for _, n := range names {
			if !slices.Contains(out[i].tests, n) {
				out[i].tests = append(out[i].tests, n)
			}
		}
	}
	for i := range out {
		slices.Sort(out[i].tests)
	}
	return out
}

func (o TextOptions) writeFinding(w io.Writer, f shownFinding) {
	mark := ""
	if o.fails(f.Finding) {
		mark = " [fails]"
	}
	fmt.Fprintf(w, "    %s %s", f.Severity, f.Kind)
	if f.Confidence != "" {
		fmt.Fprintf(w, " (%s)", f.Confidence)
	}
	if len(f.tests) > 0 {
		fmt.Fprintf(w, " in %s", strings.Join(f.tests, ", "))
	}
	fmt.Fprintf(w, "%s: %s\n", mark, f.Message)
	fmt.Fprintf(w, "        at %s:%d (%s)\n", o.short(f.Location.File), f.Location.Line, f.Location.Func)
	for _, r := range f.Related {
		fmt.Fprintf(w, "        %s at %s:%d (%s)\n", r.Role, o.short(r.Location.File), r.Location.Line, r.Location.Func)
	}
	if f.Hint != "" {
		fmt.Fprintf(w, "        hint: %s\n", f.Hint)
	}
}

// testNames lists the tests a leak was found in.
func testNames(f detect.Finding) string {
	var names []string
	for _, t := range f.Tests {
		if t.Name != "" {
			names = append(names, t.Name)
		}
	}
	return strings.Join(names, ", ")
}

func (o TextOptions) short(file string) string {
	if o.Short == nil {
		return file
	}
	return o.Short(file)
}

// String is the one-line summary.
func (v Verdict) String(failOn string) string {
	ran := v.Packages - v.Skipped
	var b strings.Builder
	switch {
	case len(v.Broken) > 0:
		b.WriteString("FAIL (exit 2)")
	case v.FailedPackages > 0:
		b.WriteString("FAIL")
	default:
		b.WriteString("ok")
	}
	fmt.Fprintf(&b, ": %s run", plural(ran, "package"))
	if v.Skipped > 0 {
		fmt.Fprintf(&b, " (%d without tests skipped)", v.Skipped)
	}
	fmt.Fprintf(&b, ", %s (%d passed, %d failed, %d skipped)", plural(v.Tests, "test"), v.Passed, v.Failed, v.SkippedTests)
	fmt.Fprintf(&b, ", %s", plural(v.Findings, "finding"))
	if v.Baselined > 0 {
		fmt.Fprintf(&b, " (and %d in the baseline)", v.Baselined)
	}
	if failOn != "" && failOn != "none" {
		fmt.Fprintf(&b, " (%d failing --fail-on %s)", v.Failing, failOn)
	}
	if len(v.Broken) > 0 {
		fmt.Fprintf(&b, "; not built or trace unreadable: %s", strings.Join(v.Broken, ", "))
	}
	return b.String()
}

// testCounts is "3 tests: 2 passed, 1 failed".
func testCounts(tests []*Test) string {
	var pass, fail, skip int
	for _, t := range tests {
		switch t.Outcome {
		case "pass":
			pass++
		case "skip":
			skip++
		default:
			fail++
		}
	}
	s := fmt.Sprintf("%s: %d passed", plural(len(tests), "test"), pass)
	if fail > 0 {
		s += fmt.Sprintf(", %d failed", fail)
	}
	if skip > 0 {
		s += fmt.Sprintf(", %d skipped", skip)
	}
	return s
}

// testOutput is a failed test's output: its "--- FAIL" line first, then
// what it logged, without the "=== RUN" lines; or a line saying it never
// finished.
func testOutput(t *Test) string {
	var head, body strings.Builder
	for line := range strings.SplitAfterSeq(t.Output, "\n") {
		switch {
		case strings.HasPrefix(line, "--- "):
			head.WriteString(line)
		case line != "" && !strings.HasPrefix(line, "=== "):
			body.WriteString(line)
		}
	}
	if t.Outcome == "" {
		fmt.Fprintf(&head, "--- %s did not finish (the test binary crashed or timed out)\n", t.Name)
	}
	return head.String() + body.String()
}

func indent(w io.Writer, prefix, text string) {
	for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
		if line != "" {
			fmt.Fprintf(w, "%s%s\n", prefix, line)
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
