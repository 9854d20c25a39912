package leaktest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/leaktest"
	"github.com/blockscope/blockscope/parse"
)

// fakeT records what VerifyNone says instead of failing the test.
type fakeT struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (f *fakeT) Error(args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprint(args...))
}

func (f *fakeT) Fatalf(format string, args ...any) { f.Error(fmt.Sprintf(format, args...)) }

func (f *fakeT) report() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.errors, "\n")
}

// parked blocks until ch is closed: a leak until the test lets it go.
func parked(ch chan struct{}, started *sync.WaitGroup) {
	started.Done()
	<-ch // the leak
}

// leakParked starts a parked goroutine and returns what lets it go.
func leakParked() func() {
	ch := make(chan struct{})
	var started sync.WaitGroup
	started.Add(1)
	go parked(ch, &started)
	started.Wait()
	return func() { close(ch) }
}

const fast = 50 * time.Millisecond

func TestVerifyNone(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  func() []leaktest.Option
		leaks bool
	}{
		{"leak", func() []leaktest.Option { return nil }, true},
		{"IgnoreTopFunction", func() []leaktest.Option {
			return []leaktest.Option{leaktest.IgnoreTopFunction("github.com/blockscope/blockscope/leaktest_test.parked")}
		}, false},
		{"IgnoreTopFunction of another", func() []leaktest.Option {
			return []leaktest.Option{leaktest.IgnoreTopFunction("github.com/blockscope/blockscope/leaktest_test.leakParked")}
		}, true},
		{"IgnoreAnyFunction", func() []leaktest.Option {
			return []leaktest.Option{leaktest.IgnoreAnyFunction("github.com/blockscope/blockscope/leaktest_test.parked")}
		}, false},
		{"IgnoreCurrent", func() []leaktest.Option { return []leaktest.Option{leaktest.IgnoreCurrent()} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeT{TB: t}
			release := leakParked()
			defer release()
			leaktest.VerifyNone(f, append(tc.opts(), leaktest.SettleFor(fast))...)
			report := f.report()
			if !tc.leaks {
				if report != "" {
					t.Errorf("VerifyNone reported a leak:\n%s", report)
				}
				return
			}
			for _, want := range []string{
				"leak (error, no-waker-alive): 1 goroutine blocked on chan receive at leaktest_test.go:",
				"started by TestVerifyNone",
				"creator: goroutine ",
				" in github.com/blockscope/blockscope/leaktest_test.leakParked\n",
			} {
				if !strings.Contains(report, want) {
					t.Errorf("VerifyNone's report lacks %q:\n%s", want, report)
				}
			}
		})
	}
}

// sleeper polls until quit is closed: alive, but never blocked where the
// leak detector looks.
func sleeper(quit chan struct{}) {
	for {
		select {
		case <-quit:
			return
		default:
			time.Sleep(time.Millisecond) // the goroutine that outlives its test
		}
	}
}

func TestVerifyNoneSleeper(t *testing.T) {
	quit := make(chan struct{})
	defer close(quit)
	go sleeper(quit)
	f := &fakeT{TB: t}
	leaktest.VerifyNone(f, leaktest.SettleFor(fast))
	want := regexp.MustCompile(`leak \(warning, outlived-test\): 1 goroutine still (sleep|running|runnable) at leaktest_test.go:\d+: it outlived the test that started it; started by TestVerifyNoneSleeper`)
	if !want.MatchString(f.report()) {
		t.Errorf("VerifyNone reported:\n%s\nwant a match for %s", f.report(), want)
	}
}

func TestVerifyNoneClean(t *testing.T) {
	defer leaktest.VerifyNone(t)
	done := make(chan bool)
	go func() {
		time.Sleep(5 * time.Millisecond) // still running when VerifyNone starts
		done <- true
	}()
	go func() { <-done }()
}

func TestCheck(t *testing.T) {
	f := &fakeT{}
	var release func()
	t.Run("leaky", func(t *testing.T) {
		f.TB = t
		leaktest.Check(f, leaktest.SettleFor(fast))
		release = leakParked()
	})
	defer release()
	if !strings.Contains(f.report(), "started by TestCheck") {
		t.Errorf("Check's cleanup reported %q; want the leak, started by TestCheck", f.report())
	}
}

// TestParallel: a test's VerifyNone does not judge the goroutines of a
// test running beside it (goleak's would).
func TestParallel(t *testing.T) {
	parkedStarted := make(chan bool)
	release := make(chan bool)
	t.Run("group", func(t *testing.T) {
		t.Run("leaky", func(t *testing.T) {
			t.Parallel()
			f := &fakeT{TB: t}
			done := leakParked()
			close(parkedStarted)
			<-release
			leaktest.VerifyNone(f, leaktest.SettleFor(fast))
			done()
			if !strings.Contains(f.report(), "leak (") {
				t.Errorf("the leaky test's VerifyNone reported %q; want its leak", f.report())
			}
		})
		t.Run("clean", func(t *testing.T) {
			t.Parallel()
			<-parkedStarted
			leaktest.VerifyNone(t, leaktest.SettleFor(fast))
			close(release)
		})
	})
}

func TestWithDetectors(t *testing.T) {
	f := &fakeT{TB: t}
	leaktest.VerifyNone(f, leaktest.WithDetectors("no-such-detector"))
	if want := `unknown detector "no-such-detector"`; !strings.Contains(f.report(), want) {
		t.Errorf("VerifyNone with a bad detector said %q; want %q", f.report(), want)
	}

	// A mutex held 20ms while another goroutine waits for it (from when it
	// is parked: a loaded machine may start it late).
	var mu sync.Mutex
	var wg sync.WaitGroup
	mu.Lock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		mu.Lock() // waits
		mu.Unlock()
	}()
	tracetest.WaitParked(t, 1, "sync.(*Mutex).lockSlow")
	time.Sleep(20 * time.Millisecond)
	mu.Unlock()
	wg.Wait()
	f = &fakeT{TB: t}
	leaktest.VerifyNone(f, leaktest.WithDetectors("mutex-wait"), leaktest.SettleFor(fast))
	if !strings.Contains(f.report(), "mutex-wait (") {
		t.Errorf("VerifyNone with mutex-wait reported %q; want the mutex wait", f.report())
	}
	f = &fakeT{TB: t}
	leaktest.VerifyNone(f, leaktest.SettleFor(fast))
	if f.report() != "" {
		t.Errorf("VerifyNone without detectors reported %q; want nothing", f.report())
	}
}

// buildTestdata compiles the tests of a package under testdata.
func buildTestdata(t *testing.T, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds test binaries; skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), pkg+".test")
	cmd := exec.Command("go", "test", "-c", "-o", bin, "./testdata/"+pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test -c ./testdata/%s: %v\n%s", pkg, err, out)
	}
	return bin
}

// runTestdata runs a test binary with VERIFIER set, returning its output
// and whether it passed.
func runTestdata(t *testing.T, bin, verifier string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "VERIFIER="+verifier)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%s: %v", bin, err)
	}
	return string(out), err == nil
}

// TestAgainstGoleak runs the same tests under goleak and under leaktest:
// both fail the leaking ones and pass the clean one.
func TestAgainstGoleak(t *testing.T) {
	bin := buildTestdata(t, "compare")
	for _, tc := range []struct {
		test  string
		pass  bool
		wants []string // in leaktest's report
	}{
		{"TestLeakSend", false, []string{
			"leak (error, no-waker-alive): 1 goroutine blocked on chan send at compare_test.go:36",
			"no goroutine that could wake it is left; started by TestLeakSend",
			"creator: goroutine ",
		}},
		{"TestDeadlock", false, []string{
			"deadlock (error, proven): goroutines ",
			"waits in Lock on Mutex",
		}},
		{"TestPoller", false, []string{
			"leak (warning, outlived-test): 1 goroutine still ",
			"it outlived the test that started it; started by TestPoller",
		}},
		{"TestClean", true, nil},
	} {
		for _, verifier := range []string{"goleak", "leaktest"} {
			out, pass := runTestdata(t, bin, verifier, "-test.run", "^"+tc.test+"$")
			if pass != tc.pass {
				t.Errorf("%s under %s: passed %t; want %t\n%s", tc.test, verifier, pass, tc.pass, out)
				continue
			}
			if verifier == "leaktest" {
				for _, want := range tc.wants {
					if !strings.Contains(out, want) {
						t.Errorf("%s under leaktest: output lacks %q:\n%s", tc.test, want, out)
					}
				}
				if tc.test == "TestDeadlock" && strings.Contains(out, "leak (") {
					t.Errorf("TestDeadlock under leaktest: the deadlocked goroutines are reported again as leaks:\n%s", out)
				}
			}
		}
	}

	// With the recorder off, leaktest judges from the goroutines' stacks
	// alone, as goleak does, and says so.
	cmd := exec.Command(bin, "-test.run", "^TestLeakSend$")
	cmd.Env = append(os.Environ(), "VERIFIER=leaktest", "BLOCKSCOPE_LEAKTEST=off")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "judged from stacks alone: no trace recorded: BLOCKSCOPE_LEAKTEST=off") || !strings.Contains(string(out), "compare.TestLeakSend.func1") {
		t.Errorf("TestLeakSend with BLOCKSCOPE_LEAKTEST=off: err %v; want a failure judged from stacks, naming the goroutine's function:\n%s", err, out)
	}

	// All three in one run: goleak blames TestClean for the goroutines
	// the tests before it left; leaktest knows whose they are.
	for verifier, cleanFails := range map[string]bool{"goleak": true, "leaktest": false} {
		out, _ := runTestdata(t, bin, verifier, "-test.v")
		if got := strings.Contains(out, "--- FAIL: TestClean"); got != cleanFails {
			t.Errorf("all tests under %s: TestClean failed %t; want %t\n%s", verifier, got, cleanFails, out)
		}
	}
}

// TestUnderGoTestTrace: the flight recorder runs beside go test -trace,
// and both see the leak.
func TestUnderGoTestTrace(t *testing.T) {
	bin := buildTestdata(t, "compare")
	tracePath := filepath.Join(t.TempDir(), "trace.out")
	out, pass := runTestdata(t, bin, "leaktest", "-test.run", "^TestLeakSend$", "-test.trace", tracePath)
	if pass || !strings.Contains(out, "started by TestLeakSend") {
		t.Errorf("TestLeakSend under -trace: passed %t; want its leak reported\n%s", pass, out)
	}
	res, err := detect.Run(tracePath, parse.Options{}, nil)
	if err != nil {
		t.Fatalf("the -trace file: %v", err)
	}
	found := false
	for _, f := range res.Findings {
		found = found || f.Kind == "leak" && f.Test == "TestLeakSend"
	}
	if !found {
		t.Errorf("the -trace file shows no leak of TestLeakSend")
	}
}

// TestVerifyTestMain: both fail the package; leaktest names the test.
func TestVerifyTestMain(t *testing.T) {
	bin := buildTestdata(t, "testmain")
	for _, verifier := range []string{"goleak", "leaktest"} {
		out, pass := runTestdata(t, bin, verifier)
		if pass {
			t.Errorf("VerifyTestMain under %s passed; want a failure\n%s", verifier, out)
		}
		if verifier == "leaktest" && !strings.Contains(out, "leaktest: 1 finding after the tests, by TestForgetful and TestForgetfulToo:") {
			t.Errorf("leaktest's VerifyTestMain does not name TestForgetful and TestForgetfulToo:\n%s", out)
		}
	}
}
