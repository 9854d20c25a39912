package gotest

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// A test2json stream as go test -json writes it (abridged), with a build
// failure's events and a line that is not an event.
const stream = `{"Action":"start","Package":"example.com/m/a"}
{"Action":"run","Package":"example.com/m/a","Test":"TestA"}
{"Action":"output","Package":"example.com/m/a","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestA","Output":"    a_test.go:9: wrong\n"}
{"Action":"output","Package":"example.com/m/a","Test":"TestA","Output":"--- FAIL: TestA (0.25s)\n"}
{"Action":"fail","Package":"example.com/m/a","Test":"TestA","Elapsed":0.25}
{"Action":"run","Package":"example.com/m/a","Test":"TestB"}
{"Action":"run","Package":"example.com/m/a","Test":"TestB/sub"}
{"Action":"skip","Package":"example.com/m/a","Test":"TestB/sub","Elapsed":0}
{"Action":"pass","Package":"example.com/m/a","Test":"TestB","Elapsed":0.01}
{"Action":"run","Package":"example.com/m/a","Test":"TestCrash"}
not json: go test's own words
{"Action":"output","Package":"example.com/m/a","Output":"FAIL\texample.com/m/a\t0.3s\n"}
{"Action":"fail","Package":"example.com/m/a","Elapsed":0.3}
`

func TestReadEvents(t *testing.T) {
	p := &Package{ImportPath: "example.com/m/a"}
	var out strings.Builder
	readEvents(strings.NewReader(stream), p, &out)
	if p.Outcome != "fail" || p.BuildFailed {
		t.Errorf("package: Outcome %q, BuildFailed %t; want fail, false", p.Outcome, p.BuildFailed)
	}
	var got []string
	for _, test := range p.Tests {
		got = append(got, test.Name+"="+test.Outcome+"/"+test.Elapsed.String())
	}
	want := "TestA=fail/250ms TestB=pass/10ms TestB/sub=skip/0s TestCrash=/0s"
	if strings.Join(got, " ") != want {
		t.Errorf("tests = %s; want %s", strings.Join(got, " "), want)
	}
	if want := "not json: go test's own words\nFAIL\texample.com/m/a\t0.3s\n"; out.String() != want {
		t.Errorf("package output = %q; want %q", out.String(), want)
	}
	if got, want := testOutput(p.Tests[0]), "--- FAIL: TestA (0.25s)\n    a_test.go:9: wrong\n"; got != want {
		t.Errorf("testOutput(TestA) = %q; want %q", got, want)
	}
	if got := testOutput(p.Tests[3]); !strings.Contains(got, "TestCrash did not finish") {
		t.Errorf("testOutput(TestCrash) = %q; want it to say the test did not finish", got)
	}
}

func TestReadEventsBuildFailure(t *testing.T) {
	const stream = `{"ImportPath":"example.com/m/b [example.com/m/b.test]","Action":"build-output","Output":"b_test.go:5:33: undefined: x\n"}
{"ImportPath":"example.com/m/b [example.com/m/b.test]","Action":"build-fail"}
{"Action":"start","Package":"example.com/m/b"}
{"Action":"fail","Package":"example.com/m/b","Elapsed":0,"FailedBuild":"example.com/m/b [example.com/m/b.test]"}
`
	p := &Package{ImportPath: "example.com/m/b"}
	var out strings.Builder
	readEvents(strings.NewReader(stream), p, &out)
	if !p.BuildFailed || !p.Failed() || !strings.Contains(out.String(), "undefined: x") {
		t.Errorf("BuildFailed %t, Failed() %t, output %q; want a build failure with the compiler's message", p.BuildFailed, p.Failed(), out.String())
	}
}

func TestTestOf(t *testing.T) {
	p := &Package{Tests: []*Test{{Name: "TestA"}, {Name: "TestA/sub"}, {Name: "TestB"}}}
	for _, tc := range []struct{ test, want string }{
		{"TestA/sub", "TestA/sub"},
		{"TestA/(subtest at a_test.go:12)", "TestA"},
		{"TestB", "TestB"},
		{"TestC", ""},
		{"", ""},
	} {
		got := ""
		if test := p.TestOf(detect.Finding{Test: tc.test}); test != nil {
			got = test.Name
		}
		if got != tc.want {
			t.Errorf("TestOf(Finding{Test: %q}) = %q; want %q", tc.test, got, tc.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	leak := detect.Finding{Kind: "leak", Severity: detect.SeverityError, Test: "TestA"}
	pkgs := []*Package{
		{ImportPath: "a", Outcome: "pass", Tests: []*Test{{Name: "TestA", Outcome: "pass"}}, Result: &detect.Result{}, Findings: []detect.Finding{leak}},
		{ImportPath: "b", Skipped: "no test files"},
		{ImportPath: "c", BuildFailed: true, Outcome: "fail"},
		{ImportPath: "d", Outcome: "pass", Elapsed: time.Second},
	}
	fails := func(f detect.Finding) bool { return f.Kind == "leak" }
	v := TextOptions{Fails: fails}.Judge(pkgs)
	if v.FailedPackages != 2 || v.Failing != 1 || strings.Join(v.Broken, ",") != "c" || v.Skipped != 1 {
		t.Errorf("Judge = %+v; want a and c failed, 1 failing finding, c broken, b skipped", v)
	}
	want := "FAIL (exit 2): 3 packages run (1 without tests skipped), 1 test (1 passed, 0 failed, 0 skipped), 1 finding (1 failing --fail-on leak); not built or trace unreadable: c"
	if got := v.String("leak"); got != want {
		t.Errorf("summary:\n%s\nwant\n%s", got, want)
	}
}

func TestListFlags(t *testing.T) {
	for _, tc := range []struct{ flags, want string }{
		{"-run TestA -count 1", ""},
		{"-tags integration -run TestA", "-tags integration"},
		{"--tags=a,b -mod=vendor -v", "--tags=a,b -mod=vendor"},
		{"-modfile go.test.mod -race", "-modfile go.test.mod"},
		{"-run tags", ""},
	} {
		if got := strings.Join(listFlags(strings.Fields(tc.flags)), " "); got != tc.want {
			t.Errorf("listFlags(%s) = %q; want %q", tc.flags, got, tc.want)
		}
	}
}

// TestShown: a leak reported once per test (as JUnit wants it) is one
// entry in the text, naming the tests.
func TestShown(t *testing.T) {
	at := func(test string, line int) detect.Finding {
		return detect.Finding{Kind: "leak", Test: test, Message: "m", Location: parse.Frame{File: "a.go", Line: line}}
	}
	p := &Package{
		Tests:    []*Test{{Name: "TestOne"}, {Name: "TestTwo"}},
		Findings: []detect.Finding{at("TestTwo", 10), at("TestOne", 10), at("TestOne", 12)},
	}
	var got []string
	for _, s := range shown(p) {
		got = append(got, fmt.Sprintf("%d:%s", s.Location.Line, strings.Join(s.tests, "+")))
	}
	if want := "10:TestOne+TestTwo 12:TestOne"; strings.Join(got, " ") != want {
		t.Errorf("shown = %s; want %s", strings.Join(got, " "), want)
	}
}

// TestRunJobs runs a module of two packages one at a time: never two
// running at once, both passing, each with its trace analyzed.
func TestRunJobs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test; skipped in -short mode")
	}
	var mu sync.Mutex
	running, most, started := 0, 0, 0
	listed := -1
	pkgs, err := Run(Options{
		Dir: filepath.Join("testdata", "mod"), Jobs: 1, TraceDir: t.TempDir(),
		Flags:  []string{"-count=1"},
		Listed: func(n int) { listed = n },
		Started: func(string) {
			mu.Lock()
			defer mu.Unlock()
			started++
			running++
			most = max(most, running)
		},
		Finished: func(string) {
			mu.Lock()
			defer mu.Unlock()
			running--
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if listed != 2 || started != 2 || most != 1 {
		t.Errorf("Jobs 1: listed %d, started %d, at most %d at once; want 2, 2, 1", listed, started, most)
	}
	for _, p := range pkgs {
		if p.Failed() || p.Result == nil || len(p.Tests) != 1 || p.Tests[0].Outcome != "pass" {
			t.Errorf("%s: failed %t, result %v, tests %d; want one passing test and its trace analyzed\n%s", p.ImportPath, p.Failed(), p.Result != nil, len(p.Tests), p.Output)
		}
	}
}
