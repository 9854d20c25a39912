package report

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jstemmer/go-junit-report/v2/junit"
)

var _ = register(&Format{
	Name:  "junit",
	Doc:   "JUnit XML for CI test reports (GitLab, Jenkins, GitHub test-report actions)",
	Write: JUnit,
})

// PackageTestcase names the testcase of a trace's findings that no test
// is attributed to.
const PackageTestcase = "(outside tests)"

// JUnit writes JUnit XML with go-junit-report's model: a testsuite per
// trace (named by its package when a go test run gave one, else by its
// path); in it, a testcase per test that findings are attributed to and
// per test of a go test run (Analysis.Tests), and one testcase,
// PackageTestcase, for the findings outside tests (and for a trace with
// no test results, so that its suite has a testcase). A testcase fails when
// the run's gate (--fail-on) fails one of its findings, or when its test
// failed; the failure lists each failing finding with its location and
// stack. Findings that do not fail the run are listed in the testcase's
// system-out, so that a report read with no gate still shows them.
func JUnit(w io.Writer, a *Analysis) error {
	var suites junit.Testsuites
	for i, info := range a.Traces {
		suites.AddSuite(junitSuite(a, i, info))
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	return suites.WriteXML(w)
}

// junitCase gathers one testcase's findings before it is written.
type junitCase struct {
	name     string
	test     *Test
	failing  []Finding
	findings []Finding // the others
}

func junitSuite(a *Analysis, trace int, info TraceInfo) junit.Testsuite {
	name := info.Package
	if name == "" {
		name = info.Path
	}
	suite := junit.Testsuite{Name: name, ID: trace, Package: info.Package, Time: seconds(info.Duration.Seconds())}
	var cases []*junitCase
	byName := map[string]*junitCase{}
	get := func(name string) *junitCase {
		c := byName[name]
		if c == nil {
			c = &junitCase{name: name}
			byName[name] = c
			cases = append(cases, c)
		}
		return c
	}
	for i := range a.Tests {
		if t := &a.Tests[i]; t.Trace == trace {
			get(t.Name).test = t
		}
	}
	if len(cases) == 0 {
		// A trace without test results (analyze's): the package
		// testcase stands for it, passing when it has no failing finding.
		get(PackageTestcase)
	}
	for _, f := range a.Findings {
		if !slices.Contains(f.Traces, trace) {
			continue
		}
		c := get(cmp.Or(f.Test, PackageTestcase))
		if a.Gate.Failing(f.Finding) {
			c.failing = append(c.failing, f)
		} else {
			c.findings = append(c.findings, f)
		}
	}
	slices.SortStableFunc(cases, func(x, y *junitCase) int {
		switch {
		case x.name == PackageTestcase:
			return 1
		case y.name == PackageTestcase:
			return -1
		}
		return strings.Compare(x.name, y.name)
	})
	for _, c := range cases {
		suite.AddTestcase(c.testcase(a, name))
	}
	return suite
}

func (c *junitCase) testcase(a *Analysis, classname string) junit.Testcase {
	tc := junit.Testcase{Name: c.name, Classname: classname}
	var out strings.Builder
	if t := c.test; t != nil {
		tc.Time = seconds(t.Elapsed.Seconds())
		switch t.Outcome {
		case "skip":
			tc.Skipped = &junit.Result{Message: "skipped"}
		case "fail":
			tc.Failure = &junit.Result{Message: "test failed", Type: "test", Data: t.Output}
		}
		if t.Outcome != "fail" && t.Output != "" {
			out.WriteString(t.Output)
		}
	}
	if len(c.failing) > 0 {
		var data strings.Builder
		if tc.Failure != nil {
			data.WriteString(tc.Failure.Data + "\n")
		}
		kinds := []string{}
		for _, f := range c.failing {
			if !slices.Contains(kinds, f.Kind) {
				kinds = append(kinds, f.Kind)
			}
			junitFinding(&data, a, f)
		}
		tc.Skipped = nil
		tc.Failure = &junit.Result{
			Message: fmt.Sprintf("%s (%s): %s", plural(len(c.failing), "finding"), strings.Join(kinds, ", "), c.failing[0].Message),
			Type:    strings.Join(kinds, ","),
			Data:    strings.TrimSuffix(data.String(), "\n"),
		}
	}
	for _, f := range c.findings {
		junitFinding(&out, a, f)
	}
	if out.Len() > 0 {
		tc.SystemOut = &junit.Output{Data: strings.TrimSuffix(out.String(), "\n")}
	}
	return tc
}

// junitFinding writes a finding for a failure's or system-out's text: its
// verdict and message, then its stack from the user's code on.
func junitFinding(b *strings.Builder, a *Analysis, f Finding) {
	fmt.Fprintf(b, "%s %s", f.Severity, f.Kind)
	if f.Confidence != "" {
		fmt.Fprintf(b, " (%s)", f.Confidence)
	}
	fmt.Fprintf(b, " at %s:%d: %s\n", a.Paths.Short(f.Location.File), f.Location.Line, f.Message)
	if f.Hint != "" {
		fmt.Fprintf(b, "hint: %s\n", f.Hint)
	}
	v := UserStack(f.Stack)
	for _, fr := range v.Frames {
		fmt.Fprintf(b, "    %s\n        %s:%d\n", fr.Func, a.Paths.Short(fr.File), fr.Line)
	}
}

func seconds(s float64) string {
	return fmt.Sprintf("%.3f", s)
}
