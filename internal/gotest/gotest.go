// Package gotest runs go test with an execution trace per package and
// joins each test's result to the findings in its package's trace.
//
// Packages run in parallel, each as `go test -json -trace FILE PKG`; the
// test2json events are read as a stream while the package runs, as
// gotestsum reads them, and the trace is analyzed with detect once the
// package is done.
package gotest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// Options say what to run and how.
type Options struct {
	// Dir is where go runs ("" for the current directory).
	Dir string
	// Patterns are go list patterns; ./... if none.
	Patterns []string
	// Flags are passed to go test after blockscope's own (-json, -trace),
	// before the package: build flags and test flags such as -run.
	Flags []string
	// Jobs is how many packages run at once (at least 1).
	Jobs int
	// TraceDir receives one trace a package.
	TraceDir string
	// Config configures the detectors; detect.DefaultConfig if nil.
	Config *detect.Config
	// Module is the module under test, whose frames findings point at
	// (parse.Options.Module); "" to guess it from the tests' package.
	Module string
	// Consumers, if set, returns more consumers of a package's trace,
	// which see the same single pass as the detectors.
	Consumers func(pkg string) []parse.Consumer
	// Listed, if set, is called with the number of packages to run once
	// they are listed; Started and Finished as each starts and ends, from
	// the goroutine that runs it.
	Listed            func(n int)
	Started, Finished func(pkg string)
}

// Package is the outcome of one package.
type Package struct {
	ImportPath string
	// Skipped says why the package did not run ("no test files"), if so.
	Skipped string
	// BuildFailed is set when the package or its tests did not build;
	// Output then holds the compiler's messages.
	BuildFailed bool
	// Outcome is "pass", "fail" or "skip", as test2json says of the
	// package ("" if go test said nothing).
	Outcome string
	Elapsed time.Duration
	// Tests are the package's tests and subtests, in the order they ran.
	Tests []*Test
	// Output is what the package printed outside any test: build errors,
	// a panic, the final FAIL line, and go test's standard error.
	Output string
	// TracePath is the package's trace; Result the analysis of it, nil if
	// it could not be read; TraceErr why not, or why it was read only in
	// part (Result then holds what was read).
	TracePath string
	Result    *detect.Result
	TraceErr  error
	// Findings are those reported for the package: Result's, unless the
	// caller keeps fewer (a baseline's, say).
	Findings []detect.Finding
}

// Test is the outcome of one test or subtest.
type Test struct {
	Name    string // as go test names it: TestFoo/sub
	Outcome string // "pass", "fail" or "skip"; "" if it never ended (a crash)
	Elapsed time.Duration
	Output  string
}

// Failed reports whether the package failed: a test failed, it did not
// build, or go test failed it otherwise (a crash, a timeout).
func (p *Package) Failed() bool {
	return p.Skipped == "" && (p.BuildFailed || p.Outcome == "fail")
}

// TestOf returns the test a finding is attributed to: the test of that
// name, else the top-level test it belongs to, else nil.
func (p *Package) TestOf(f detect.Finding) *Test {
	if f.Test == "" {
		return nil
	}
	top, _, _ := strings.Cut(f.Test, "/")
	var found *Test
	for _, t := range p.Tests {
		if t.Name == f.Test {
			return t
		}
		if t.Name == top {
			found = t
		}
	}
	return found
}

// Run lists the packages and runs their tests, o.Jobs at a time. The
// error is for what prevented running at all (go list failed); what went
// wrong in a package is in its Package.
func Run(o Options) ([]*Package, error) {
	pkgs, err := list(o)
	if err != nil {
		return nil, err
	}
	cfg := o.Config
	if cfg == nil {
		cfg = detect.DefaultConfig()
	}
	if o.Listed != nil {
		n := 0
		for _, p := range pkgs {
			if p.Skipped == "" && !p.BuildFailed {
				n++
			}
		}
		o.Listed(n)
	}
	sem := make(chan struct{}, max(o.Jobs, 1))
	var wg sync.WaitGroup
	for _, p := range pkgs {
		if p.Skipped != "" || p.BuildFailed {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if o.Started != nil {
				o.Started(p.ImportPath)
			}
			runPackage(o, cfg, p)
			if o.Finished != nil {
				o.Finished(p.ImportPath)
			}
		})
	}
	wg.Wait()
	return pkgs, nil
}

// list runs go list, marking the packages without test files skipped.
func list(o Options) ([]*Package, error) {
	patterns := o.Patterns
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	args := append([]string{"list", "-e", "-json=ImportPath,TestGoFiles,XTestGoFiles,Error"}, listFlags(o.Flags)...)
	args = append(args, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = o.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v: %s", strings.Join(patterns, " "), err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []*Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var lp struct {
			ImportPath                string
			TestGoFiles, XTestGoFiles []string
			Error                     *struct{ Err string }
		}
		if err := dec.Decode(&lp); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list: reading its output: %v", err)
		}
		p := &Package{ImportPath: lp.ImportPath}
		switch {
		case lp.Error != nil && slices.Contains(patterns, lp.ImportPath):
			// The pattern itself matched nothing that can be loaded (no
			// such directory, no module here): the command line's error.
			return nil, fmt.Errorf("%s: %s", lp.ImportPath, lp.Error.Err)
		case lp.Error != nil:
			// Not found, or its imports cannot be loaded: nothing to run.
			p.BuildFailed, p.Outcome, p.Output = true, "fail", lp.Error.Err+"\n"
		case len(lp.TestGoFiles)+len(lp.XTestGoFiles) == 0:
			p.Skipped = "no test files"
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list %s: no packages: %s", strings.Join(patterns, " "), strings.TrimSpace(stderr.String()))
	}
	return pkgs, nil
}

// listFlags picks from go test's flags those that change which packages
// and files go list sees: build tags and the module mode.
func listFlags(flags []string) []string {
	var out []string
	for i := 0; i < len(flags); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(flags[i], "-"), "=")
		if !strings.HasPrefix(flags[i], "-") || name != "tags" && name != "mod" && name != "modfile" {
			continue
		}
		out = append(out, flags[i])
		if !hasValue && i+1 < len(flags) {
			i++
			out = append(out, flags[i])
		}
	}
	return out
}

// traceName is the file name of a package's trace.
func traceName(importPath string) string {
	return strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(importPath) + ".trace"
}

// runPackage runs one package's tests and analyzes its trace.
func runPackage(o Options, cfg *detect.Config, p *Package) {
	p.TracePath = filepath.Join(o.TraceDir, traceName(p.ImportPath))
	os.Remove(p.TracePath) // a trace of an earlier run is not this one's
	args := append([]string{"test", "-json", "-trace", p.TracePath}, o.Flags...)
	args = append(args, p.ImportPath)
	cmd := exec.Command("go", args...)
	cmd.Dir = o.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		p.Outcome, p.Output = "fail", err.Error()
		return
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		p.Outcome, p.Output = "fail", fmt.Sprintf("go test: %v", err)
		return
	}
	var out strings.Builder
	readEvents(stdout, p, &out)
	waitErr := cmd.Wait()
	p.Elapsed = time.Since(start)
	out.WriteString(stderr.String())
	p.Output = out.String()
	if waitErr != nil && p.Outcome != "fail" {
		// go test failed without saying so in an event: it could not run.
		p.Outcome = "fail"
	}
	if p.BuildFailed {
		return
	}
	if _, err := os.Stat(p.TracePath); err != nil {
		p.TraceErr = fmt.Errorf("%s: no trace written (the test binary exited before tracing stopped)", p.ImportPath)
		return
	}
	var more []parse.Consumer
	if o.Consumers != nil {
		more = o.Consumers(p.ImportPath)
	}
	p.Result, p.TraceErr = detect.Run(p.TracePath, parse.Options{Path: p.TracePath, Module: o.Module}, cfg, more...)
	if p.Result != nil {
		p.Findings = p.Result.Findings
	}
	if p.TraceErr != nil {
		p.TraceErr = fmt.Errorf("%s: %w", p.ImportPath, p.TraceErr)
	}
}

// event is one test2json event (go doc test2json), with go test's build
// events (build-output, build-fail).
type event struct {
	Action      string
	Package     string
	ImportPath  string // build events
	Test        string
	Elapsed     float64 // seconds
	Output      string
	FailedBuild string
}

// readEvents reads the test2json stream of one package into p; what is
// not in a test goes to out.
func readEvents(r io.Reader, p *Package, out *strings.Builder) {
	tests := make(map[string]*Test)
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var ev event
			if json.Unmarshal(line, &ev) != nil {
				out.Write(line) // not an event: go test's own words
			} else {
				p.apply(ev, tests, out)
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(out, "reading go test's output: %v\n", err)
			}
			return
		}
	}
}

// apply takes one event into p.
func (p *Package) apply(ev event, tests map[string]*Test, out *strings.Builder) {
	switch ev.Action {
	case "build-output":
		out.WriteString(ev.Output)
		return
	case "build-fail":
		p.BuildFailed = true
		return
	}
	if ev.Test == "" {
		switch ev.Action {
		case "output":
			out.WriteString(ev.Output)
		case "pass", "fail", "skip":
			p.Outcome = ev.Action
			p.BuildFailed = p.BuildFailed || ev.FailedBuild != ""
		}
		return
	}
	t := tests[ev.Test]
	if t == nil {
		t = &Test{Name: ev.Test}
		tests[ev.Test] = t
		p.Tests = append(p.Tests, t)
	}
	switch ev.Action {
	case "output":
		t.Output += ev.Output
	case "pass", "fail", "skip":
		t.Outcome = ev.Action
		t.Elapsed = time.Duration(ev.Elapsed * float64(time.Second))
	}
}
