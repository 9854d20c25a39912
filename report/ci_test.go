package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/report"
)

// The CI formats are checked by what reads them: JUnit by an XML parser,
// SARIF by its 2.1.0 schema and the fields code scanning needs, pprof by
// the pprof package and go tool pprof, Markdown and GitHub commands by
// golden files (go test ./report -update rewrites them).

const module = "github.com/blockscope/blockscope"

// ciAnalysis is two fixtures' traces analyzed together (copies in
// testdata/golden, so that regenerating a fixture does not change the
// golden files), gated on leaks (deadlocks included), paths relative to
// this module.
func ciAnalysis(t *testing.T) *report.Analysis {
	t.Helper()
	a := report.Merge(analyze(t, "testdata/golden/leak-timeout.trace"), analyze(t, "testdata/golden/deadlock-abba.trace"))
	a.Gate = report.Gate{FailOn: "leak", Fails: func(f detect.Finding) bool { return f.Kind == "leak" || f.Kind == "deadlock" }}
	a.Paths = report.Paths{Module: module}
	return a
}

type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped   *struct{} `xml:"skipped"`
			SystemOut string    `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	a := report.Merge(analyze(t, leakTrace), analyze(t, blockedTrace))
	// The leak-timeout finding is attributed to a test, as in a go test
	// trace; the blocked trace's are not. Tests passed, failed and skipped
	// come from a go test run.
	for i := range a.Findings {
		if slices.Equal(a.Findings[i].Traces, []int{0}) {
			a.Findings[i].Test = "TestLeaky"
		}
	}
	a.Tests = []report.Test{
		{Trace: 0, Name: "TestLeaky", Outcome: "pass"},
		{Trace: 0, Name: "TestFine", Outcome: "pass"},
		{Trace: 1, Name: "TestLater", Outcome: "skip"},
	}
	a.Gate = report.Gate{FailOn: "leak:error", Fails: func(f detect.Finding) bool { return f.Severity == detect.SeverityError }}
	a.Paths = report.Paths{Module: module}
	var b bytes.Buffer
	if err := report.JUnit(&b, a); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, b.String())
	}
	if len(doc.Suites) != 2 || doc.Suites[0].Name != leakTrace || doc.Suites[1].Name != blockedTrace {
		t.Fatalf("suites = %+v; want one per trace, named by its path", doc.Suites)
	}
	type tc struct {
		name    string
		failure string // a regexp the failure's message matches; "" for no failure
		skipped bool
		out     string // a regexp system-out matches
	}
	want := [][]tc{{
		{name: "TestFine"},
		{name: "TestLeaky", failure: `^1 finding \(leak\): 3 goroutines blocked on chan send at main.go:33`},
		// No PackageTestcase: the suite has tests, and no finding is
		// outside them.
	}, {
		{name: "TestLater", skipped: true},
		{name: report.PackageTestcase, failure: `^2 findings \(leak\): 1 goroutine blocked on a nil channel`, out: `warning leak \(blocked-at-end\) at parse/testdata/gen/blocked.go:31: `},
	}}
	total, failures := 0, 0
	for i, s := range doc.Suites {
		var names []string
		for _, c := range s.Cases {
			names = append(names, c.Name)
		}
		if len(s.Cases) != len(want[i]) {
			t.Errorf("suite %s: testcases %q; want %d", s.Name, names, len(want[i]))
			continue
		}
		fails := 0
		for j, c := range s.Cases {
			w := want[i][j]
			switch {
			case c.Name != w.name || c.Classname != s.Name:
				t.Errorf("suite %s: testcase %d is %q (class %q); want %q (class %q)", s.Name, j, c.Name, c.Classname, w.name, s.Name)
			case (c.Failure != nil) != (w.failure != ""):
				t.Errorf("suite %s, %s: failure %+v; want one: %v", s.Name, c.Name, c.Failure, w.failure != "")
			case c.Failure != nil && !regexp.MustCompile(w.failure).MatchString(c.Failure.Message):
				t.Errorf("suite %s, %s: failure message %q; want it to match %q", s.Name, c.Name, c.Failure.Message, w.failure)
			case c.Failure != nil && (c.Failure.Type != "leak" || !strings.Contains(c.Failure.Text, ".go:")):
				t.Errorf("suite %s, %s: failure type %q, text %q; want leak, and the stack's file:line", s.Name, c.Name, c.Failure.Type, c.Failure.Text)
			case (c.Skipped != nil) != w.skipped:
				t.Errorf("suite %s, %s: skipped %v; want %v", s.Name, c.Name, c.Skipped != nil, w.skipped)
			case w.out != "" && !regexp.MustCompile(w.out).MatchString(c.SystemOut):
				t.Errorf("suite %s, %s: system-out %q; want it to list the findings that do not fail: %q", s.Name, c.Name, c.SystemOut, w.out)
			}
			if c.Failure != nil {
				fails++
			}
		}
		if s.Tests != len(s.Cases) || s.Failures != fails {
			t.Errorf("suite %s: tests=%d failures=%d; want %d and %d", s.Name, s.Tests, s.Failures, len(s.Cases), fails)
		}
		total += s.Tests
		failures += s.Failures
	}
	if doc.Tests != total || doc.Failures != failures {
		t.Errorf("testsuites: tests=%d failures=%d; want %d and %d", doc.Tests, doc.Failures, total, failures)
	}
}

func TestSARIF(t *testing.T) {
	a := ciAnalysis(t)
	var b bytes.Buffer
	if err := report.SARIF(&b, a); err != nil {
		t.Fatal(err)
	}
	// The 2.1.0 schema, as go-sarif embeds it.
	var log sarif.Report
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatalf("SARIF output is not JSON: %v", err)
	}
	if err := log.Validate(); err != nil {
		t.Fatalf("SARIF output fails the 2.1.0 schema: %v", err)
	}
	// The fields code scanning needs, read as plain JSON.
	var doc struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID   string `json:"id"`
						Help struct {
							Text string `json:"text"`
						} `json:"help"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				RelatedLocations    []json.RawMessage `json:"relatedLocations"`
				CodeFlows           []json.RawMessage `json:"codeFlows"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || len(doc.Runs) != 1 || doc.Runs[0].Tool.Driver.Name != "blockscope" {
		t.Fatalf("version %q, %d runs; want 2.1.0 and one run of blockscope", doc.Version, len(doc.Runs))
	}
	run := doc.Runs[0]
	rules := run.Tool.Driver.Rules
	for i, d := range detect.Detectors() {
		if i >= len(rules) || rules[i].ID != d.Name || rules[i].Help.Text != d.Doc {
			t.Errorf("rule %d: %+v; want %s with its doc as help", i, rules[min(i, len(rules)-1)], d.Name)
		}
	}
	if len(run.Results) != len(a.Findings) {
		t.Fatalf("%d results; want one per finding (%d)", len(run.Results), len(a.Findings))
	}
	for i, r := range run.Results {
		f := a.Findings[i]
		if r.RuleID != f.Kind || r.RuleIndex < 0 || r.RuleIndex >= len(rules) || rules[r.RuleIndex].ID != f.Kind {
			t.Errorf("result %d: ruleId %q, index %d; want %q and its rule", i, r.RuleID, r.RuleIndex, f.Kind)
		}
		if want := map[detect.Severity]string{"error": "error", "warning": "warning", "info": "note"}[f.Severity]; r.Level != want || r.Message.Text != f.Message {
			t.Errorf("result %d: level %q, message %q; want %q and the finding's", i, r.Level, r.Message.Text, want)
		}
		if len(r.Locations) != 1 {
			t.Fatalf("result %d: %d locations; want 1", i, len(r.Locations))
		}
		loc := r.Locations[0].PhysicalLocation
		uri := loc.ArtifactLocation.URI
		if loc.ArtifactLocation.URIBaseID != "SRCROOT" || filepath.IsAbs(uri) || strings.HasPrefix(uri, module) || loc.Region.StartLine != f.Location.Line {
			t.Errorf("result %d: location %+v; want a path relative to the module root (SRCROOT) and line %d", i, loc, f.Location.Line)
		}
		if _, err := os.Stat(filepath.Join("..", uri)); err != nil {
			t.Errorf("result %d: %s is not a file of this module: %v", i, uri, err)
		}
		if fp := r.PartialFingerprints[report.FingerprintKey]; fp != f.Fingerprint || fp == "" {
			t.Errorf("result %d: partialFingerprints %v; want %s: %s", i, r.PartialFingerprints, report.FingerprintKey, f.Fingerprint)
		}
		if len(r.CodeFlows) != 1 {
			t.Errorf("result %d: %d code flows; want the stack as one", i, len(r.CodeFlows))
		}
		if len(r.RelatedLocations) == 0 && len(f.Related) > 0 {
			t.Errorf("result %d: no related locations for %d related sites", i, len(f.Related))
		}
	}
}

func TestPprof(t *testing.T) {
	a := analyze(t, leakTrace)
	var b bytes.Buffer
	if err := report.Pprof(&b, a); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("profile.Parse: %v", err)
	}
	if len(p.SampleType) != 2 || p.SampleType[0].Type != "contentions" || p.SampleType[0].Unit != "count" ||
		p.SampleType[1].Type != "delay" || p.SampleType[1].Unit != "nanoseconds" {
		t.Errorf("sample types %v; want contentions/count and delay/nanoseconds", p.SampleType)
	}
	// The three goroutines leaked on the chan send at main.go:33 are one
	// sample: the blocked stack, chan-labelled, counted three times.
	found := false
	for _, s := range p.Sample {
		for _, loc := range s.Location {
			if fn := loc.Line[0].Function; fn.Name == "main.fetch.func1" && loc.Line[0].Line == 33 {
				found = true
				if leaf := s.Location[0].Line[0].Function.Name; leaf != "runtime.chansend1" {
					t.Errorf("the leaked send: innermost frame %s; want runtime.chansend1", leaf)
				}
				if s.Value[0] != 3 || s.Value[1] <= 0 || s.Label["reason"][0] != "chan" || s.Label["wait"][0] != "chan send" {
					t.Errorf("the leaked send: values %v, labels %v; want 3 intervals, a delay, reason chan, wait chan send", s.Value, s.Label)
				}
			}
		}
	}
	if !found {
		t.Errorf("no sample has the leaked goroutines' stack (main.fetch.func1 at main.go:33)")
	}

	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool pprof: no go command")
	}
	file := filepath.Join(t.TempDir(), "block.pb.gz")
	if err := os.WriteFile(file, b.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gotool, "tool", "pprof", "-top", "-sample_index=contentions", file).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof -top: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^\s+3\s+\S+%\s+\S+%\s+3\s+\S+%\s+runtime\.chansend1$`).Match(out) ||
		!regexp.MustCompile(`(?m)\smain\.fetch\.func1$`).Match(out) {
		t.Errorf("go tool pprof -top does not show the 3 sends blocked in main.fetch.func1:\n%s", out)
	}
}

func TestMarkdownGitHubGolden(t *testing.T) {
	for _, tc := range []struct {
		format, golden string
	}{
		{"markdown", "testdata/golden/ci.md"},
		{"github", "testdata/golden/ci.github"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var b bytes.Buffer
			if err := report.LookupFormat(tc.format).Write(&b, ciAnalysis(t)); err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(tc.golden, b.Bytes(), 0o666); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatalf("%v (go test ./report -run TestMarkdownGitHubGolden -update writes it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("%s output differs from %s (rerun with -update if the change is meant):\n%s", tc.format, tc.golden, firstDiff(got, string(want)))
			}
		})
	}
}
