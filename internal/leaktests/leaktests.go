// Package leaktests runs the leak fixtures, small test packages under
// testdata, with go test -trace, as a user would, once per process, and
// hands their traces to tests.
//
// Each fixture states what a leak report must say next to the line it
// points at: "// want leak SEVERITY CONFIDENCE TESTS", where TESTS is a
// comma list of test names (a name followed by "(subtest)" for a leak in
// one of its subtests) or "N tests". See [Wants].
package leaktests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Cases are the fixtures, by folder under testdata, with the go test flags
// each runs with besides -trace.
var Cases = map[string][]string{
	"sameline":    nil,                // a leaking test beside a correct one, at the same line
	"sleeping":    nil,                // a goroutine still sleeping when the tests end
	"neverrun":    nil,                // a goroutine created and never run
	"attribution": nil,                // an example and a subtest that leak
	"timeout":     {"-timeout", "1s"}, // a test cut by -timeout
	"many":        nil,                // thirty tests leaking at one line
	"known":       nil,                // a known process-lifetime goroutine, and one --ignore-created-by names
	"framework":   nil,                // a goroutine an assertion library started leaks inside it
}

// Run is one fixture's run.
type Run struct {
	Name   string
	Dir    string // the fixture's source folder
	Trace  []byte // the trace go test -trace wrote
	Output string // go test's output
}

var (
	mu   sync.Mutex
	runs = make(map[string]*once)
	// slots bounds the go test runs at once: each builds and runs a test
	// binary, and other packages' tests share the machine.
	slots = make(chan struct{}, 2)
)

type once struct {
	sync.Once
	run *Run
	err error
}

// Get returns the run of a fixture, running it on first use (go test's
// build cache makes later processes' runs quick). It skips t where no go
// command is found.
func Get(t testing.TB, name string) *Run {
	t.Helper()
	args, ok := Cases[name]
	if !ok {
		t.Fatalf("leaktests: no fixture %q", name)
	}
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		if goCmd, err = exec.LookPath("go"); err != nil {
			t.Skipf("leaktests: no go command to run the fixtures: %v", err)
		}
	}
	mu.Lock()
	o := runs[name]
	if o == nil {
		o = new(once)
		runs[name] = o
	}
	mu.Unlock()
	o.Do(func() {
		slots <- struct{}{}
		defer func() { <-slots }()
		o.run, o.err = run(goCmd, name, args)
	})
	if o.err != nil {
		t.Fatalf("leaktests: %v", o.err)
	}
	return o.run
}

// run runs go test -trace in the fixture's folder. A failing test run is
// no error (a fixture cut by -timeout fails); a missing trace is.
func run(goCmd, name string, args []string) (*Run, error) {
	dir, err := filepath.Abs(filepath.Join(sourceDir(), "testdata", name))
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "leaktests-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "trace.out")
	cmd := exec.Command(goCmd, append([]string{"test", "-count=1", "-trace", out}, append(args, ".")...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.Run() // a test cut by -timeout fails: the trace is what counts
	data, err := os.ReadFile(out)
	if err != nil || len(data) == 0 {
		return nil, fmt.Errorf("fixture %s: go test wrote no trace (%v):\n%s", name, err, buf.String())
	}
	return &Run{Name: name, Dir: dir, Trace: data, Output: buf.String()}, nil
}

// sourceDir is this package's folder.
func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// Want is one "// want leak" marker of a fixture.
type Want struct {
	File       string // base name
	Line       int
	Severity   string
	Confidence string
	// Tests are the tests the finding must name, each "Name" or
	// "Name(subtest)"; NTests, when set, is how many it must name instead.
	Tests  []string
	NTests int
}

var wantRE = regexp.MustCompile(`// want leak (\S+) (\S+) (.+)$`)
var nTestsRE = regexp.MustCompile(`^(\d+) tests$`)

// Wants reads the markers of a fixture's files.
func (r *Run) Wants() ([]Want, error) {
	files, err := filepath.Glob(filepath.Join(r.Dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var wants []Want
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(src), "\n") {
			m := wantRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			w := Want{File: filepath.Base(file), Line: i + 1, Severity: m[1], Confidence: m[2]}
			if n := nTestsRE.FindStringSubmatch(m[3]); n != nil {
				fmt.Sscan(n[1], &w.NTests)
			} else {
				w.Tests = strings.Split(m[3], ",")
			}
			wants = append(wants, w)
		}
	}
	return wants, nil
}
