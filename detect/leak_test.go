package detect_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/parse"
)

// recordTrace runs f under runtime/trace and returns the trace. It skips
// the test where tracing is on already (go test -trace).
func recordTrace(t *testing.T, f func()) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("cannot trace in-process: %v", err)
	}
	f()
	trace.Stop()
	return buf.Bytes()
}

// leakFindings runs the leak detector alone over a trace.
func leakFindings(t *testing.T, data []byte, opts detect.LeakOptions) (*parse.Trace, []detect.Finding) {
	t.Helper()
	a := detect.Leak.New(&detect.Config{Leak: opts})
	tr, err := parse.Parse(bytes.NewReader(data), parse.Options{DropBlocks: true}, a)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	fs := a.Findings()
	for _, f := range fs {
		checkLeakFinding(t, tr, f)
	}
	return tr, fs
}

// checkLeakFinding checks what every leak finding must carry.
func checkLeakFinding(t *testing.T, tr *parse.Trace, f detect.Finding) {
	t.Helper()
	if f.Kind != "leak" || f.Evidence != detect.EvidenceRuntime || f.Message == "" || f.Hint == "" {
		t.Errorf("finding %q: Kind, Evidence, Hint = %q, %q, %q; want leak, runtime, a hint", f.Message, f.Kind, f.Evidence, f.Hint)
	}
	switch {
	case f.Confidence == detect.ConfidenceNoWaker && f.Severity == detect.SeverityError:
	case f.Confidence == detect.ConfidenceBlockedAtEnd && f.Severity == detect.SeverityWarning:
	case f.Confidence == detect.ConfidenceOutlivedTest && f.Severity == detect.SeverityWarning:
	case f.Confidence == detect.ConfidenceJanitorAlive && f.Severity == detect.SeverityInfo:
	default:
		t.Errorf("finding %q: Confidence, Severity = %q, %q; want no-waker-alive/error, blocked-at-end/warning, outlived-test/warning or janitor-alive/info", f.Message, f.Confidence, f.Severity)
	}
	if len(f.Goroutines) == 0 || !slices.IsSorted(f.Goroutines) || len(slices.Compact(slices.Clone(f.Goroutines))) != len(f.Goroutines) {
		t.Errorf("finding %q: Goroutines = %v; want distinct ids, sorted", f.Message, f.Goroutines)
	}
	// A goroutine left inside the test framework is located at its
	// creation site: in its creator's stack.
	inRelated := slices.ContainsFunc(f.Related, func(r detect.Related) bool { return slices.Contains(r.Stack, f.Location) })
	if f.Location.File == "" || f.Location.Line == 0 || len(f.Stack) == 0 || !slices.Contains(f.Stack, f.Location) && !inRelated {
		t.Errorf("finding %q: Location %v not in its Stack %v nor its creator's", f.Message, f.Location, f.Stack)
	}
	want := fmt.Sprintf("%s:%d", filepath.Base(f.Location.File), f.Location.Line)
	if !strings.Contains(f.Message, want) || strings.Contains(f.Message, "\n") {
		t.Errorf("finding message %q: want one line naming %s", f.Message, want)
	}
	if f.Duration <= 0 || f.Total < f.Duration {
		t.Errorf("finding %q: Duration, Total = %v, %v; want 0 < Duration <= Total", f.Message, f.Duration, f.Total)
	}
	for _, id := range f.Goroutines {
		g := tr.Goroutine(id)
		switch {
		case g == nil || g.System || g.State == parse.StateExited:
			t.Errorf("finding %q: goroutine %d is %+v; want a live user goroutine", f.Message, id, g)
		case f.Confidence == detect.ConfidenceOutlivedTest:
			if test, ok := tr.TestOf(id); !ok || !test.Done {
				t.Errorf("finding %q: goroutine %d has test %+v, %v; want a test that returned", f.Message, id, test, ok)
			}
		case g.State != parse.StateWaiting || g.Reason != f.Reason:
			t.Errorf("finding %q: goroutine %d is %+v; want a user goroutine waiting on %q", f.Message, id, g, f.Reason)
		}
	}
}

// ownFindings keeps the findings about goroutines created while tracing:
// goroutines other tests of the package left behind are not this test's.
func ownFindings(tr *parse.Trace, fs []detect.Finding) []detect.Finding {
	var out []detect.Finding
	for _, f := range fs {
		if slices.ContainsFunc(f.Goroutines, func(id parse.GoID) bool { return !tr.Goroutine(id).Preexisting }) {
			out = append(out, f)
		}
	}
	return out
}

var leakMarkRE = regexp.MustCompile(`// want leak (\S+)`)

// leakMarks maps the names of "// want leak NAME" markers in this file to
// their lines.
func leakMarks(t *testing.T) map[string]int {
	t.Helper()
	src, err := os.ReadFile("leak_test.go")
	if err != nil {
		t.Fatal(err)
	}
	marks := make(map[string]int)
	for i, line := range strings.Split(string(src), "\n") {
		if m := leakMarkRE.FindStringSubmatch(line); m != nil && !strings.HasPrefix(strings.TrimSpace(line), "//") {
			marks[m[1]] = i + 1
		}
	}
	return marks
}

// findingAt returns the finding located at this file's line, or nil.
func findingAt(fs []detect.Finding, line int) *detect.Finding {
	for i := range fs {
		if filepath.Base(fs[i].Location.File) == "leak_test.go" && fs[i].Location.Line == line {
			return &fs[i]
		}
	}
	return nil
}

// waitBlocked waits until n goroutines whose stacks contain fn are blocked
// with the wait reason state as goroutine dumps write it ("chan send",
// "IO wait"), so that scenarios need no sleeps.
func waitBlocked(t *testing.T, fn, state string, n int) {
	t.Helper()
	tracetest.WaitParked(t, n, fn+"(", state)
}

// awaitBlocked is waitBlocked for goroutines other than the test's: it
// reports whether the goroutines blocked within 30s.
func awaitBlocked(fn, state string, n int) bool {
	deadline := time.Now().Add(30 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		got := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			header, _, _ := strings.Cut(g, "\n")
			if strings.Contains(g, fn+"(") && strings.Contains(header, "["+state) {
				got++
			}
		}
		if got >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// timeoutLeak is the classic leak: a fetch gives up waiting for a result
// that its sender then cannot hand over. The goroutine that fetched has
// exited, so nothing can receive. (Here the sender waits for the fetch to
// give up, so the leak happens every time.)
func timeoutLeak(ch chan int) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		gaveUp := make(chan struct{})
		go func() {
			<-gaveUp
			ch <- 1 // want leak timeout
		}()
		select {
		case <-ch:
		case <-time.After(100 * time.Microsecond):
		}
		close(gaveUp)
	}()
	<-done
}

// sameLineLeak leaks three goroutines at one line from an exited parent.
func sameLineLeak(ch chan int) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			go func() {
				<-ch // want leak sameline
			}()
		}
	}()
	<-done
}

// mutexLeak: a goroutine returns without unlocking mu, and another, started
// by an exited one, waits for it for ever.
func mutexLeak(mu *sync.Mutex) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		mu.Lock() // and forgets to unlock
		go func() {
			mu.Lock() // want leak mutex
			mu.Unlock()
		}()
	}()
	<-done
}

// idleWorkers have been handed jobs by a dispatcher that is still alive
// (sleeping) at the end: they are blocked at the end, but may be woken,
// and only by that timer-driven goroutine: idle workers of a live pool.
// dispatched is closed when the jobs are out.
func idleWorkers(jobs chan int, dispatched chan struct{}, stop *atomic.Bool) {
	for range 2 {
		go func() {
			for range jobs { // want leak idle
			}
		}()
	}
	go func() {
		for i := range 4 {
			jobs <- i
		}
		close(dispatched)
		for !stop.Load() { // the dispatcher lives on
			time.Sleep(100 * time.Microsecond)
		}
	}()
}

// timerWoken waits in a select that a timer has ended once before, at the
// same line: fired is closed after that first wake.
func timerWoken(fired, stop chan struct{}) {
	go func() {
		for i, d := range []time.Duration{100 * time.Microsecond, time.Hour} {
			select { // want leak timer
			case <-time.After(d):
			case <-stop:
				return
			}
			if i == 0 {
				close(fired)
			}
		}
	}()
}

// deadlineWait waits for its context's deadline, at one line for two
// contexts: the first one's deadline passes (the goroutine time.AfterFunc
// starts wakes it, then exits), the second's is an hour away when the
// trace ends. A timer wakes this line, so it is no proven leak.
func deadlineWait(ctx context.Context, done chan struct{}) {
	<-ctx.Done() // want leak deadline
	close(done)
}

// collect receives results until results is closed.
func collect(results chan int) {
	for range results { // want leak collector
	}
}

// collectAlone is collect, fed by a spawner that has exited.
func collectAlone(results chan int) {
	for range results { // want leak alone
	}
}

// serveRequests hands a collector, once it waits in fn, n results, each
// from a goroutine of its own that exits after the send.
func serveRequests(results chan int, fn string, n int) {
	for i := range n {
		awaitBlocked(fn, "chan receive", 1)
		done := make(chan struct{})
		go func() {
			results <- i
			close(done)
		}()
		<-done
	}
}

// serveAndExit serves collectAlone, closes served and exits.
func serveAndExit(results chan int, served chan struct{}) {
	serveRequests(results, "detect_test.collectAlone", 3)
	close(served)
}

// awaitGone waits until no goroutine's stack contains fn, 30s at most.
func awaitGone(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(30 * time.Second); strings.Contains(string(buf[:runtime.Stack(buf, true)]), fn+"("); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines in %s still there after 30s", fn)
		}
	}
}

// TestLeakScenarios records leaks in-process and checks each finding: its
// line, goroutines, confidence, creator and test.
func TestLeakScenarios(t *testing.T) {
	marks := leakMarks(t)
	ch, sameCh, jobs := make(chan int), make(chan int), make(chan int)
	dispatched, fired, stop := make(chan struct{}), make(chan struct{}), make(chan struct{})
	results, lone := make(chan int), make(chan int)
	var stopDispatcher atomic.Bool
	hourAway, cancel := context.WithTimeout(context.Background(), time.Hour)
	var mu sync.Mutex
	data := recordTrace(t, func() {
		timeoutLeak(ch)
		sameLineLeak(sameCh)
		mutexLeak(&mu)
		idleWorkers(jobs, dispatched, &stopDispatcher)
		timerWoken(fired, stop)
		// The first wait ends by a timer's function, as a deadline's
		// does, once it is surely parked.
		expired, cancelExpired := context.WithCancel(context.Background())
		first := make(chan struct{})
		go deadlineWait(expired, first)
		waitBlocked(t, "detect_test.deadlineWait", "chan receive", 1)
		time.AfterFunc(time.Millisecond, cancelExpired)
		<-first
		go deadlineWait(hourAway, make(chan struct{}))
		// A collector fed by goroutines the test starts, and one fed by
		// goroutines a spawner that has exited started.
		go collect(results)
		serveRequests(results, "detect_test.collect", 3)
		go collectAlone(lone)
		served := make(chan struct{})
		go serveAndExit(lone, served)
		<-served
		awaitGone(t, "detect_test.serveAndExit")
		<-dispatched
		<-fired
		waitBlocked(t, "detect_test.timeoutLeak.func1.1", "chan send", 1)
		waitBlocked(t, "detect_test.sameLineLeak.func1.1", "chan receive", 3)
		waitBlocked(t, "detect_test.mutexLeak.func1.1", "sync.Mutex.Lock", 1)
		waitBlocked(t, "detect_test.idleWorkers.func1", "chan receive", 2)
		waitBlocked(t, "detect_test.timerWoken.func1", "select", 1)
		waitBlocked(t, "detect_test.deadlineWait", "chan receive", 1)
		waitBlocked(t, "detect_test.collect", "chan receive", 1)
		waitBlocked(t, "detect_test.collectAlone", "chan receive", 1)
	})
	// Release everything the scenarios blocked.
	<-ch
	close(sameCh)
	mu.Unlock()
	close(jobs)
	stopDispatcher.Store(true)
	close(stop)
	cancel()
	close(results)
	close(lone)

	tr, all := leakFindings(t, data, detect.LeakOptions{})
	fs := ownFindings(tr, all)
	for _, tc := range []struct {
		mark       string
		n          int
		reason     string
		confidence string
		hint       string // in the hint
	}{
		{"timeout", 1, parse.ReasonChanSend, detect.ConfidenceNoWaker, "buffer"},
		{"sameline", 3, parse.ReasonChanReceive, detect.ConfidenceNoWaker, "close the channel"},
		{"mutex", 1, parse.ReasonSync, detect.ConfidenceNoWaker, "missing Unlock"},
		{"idle", 2, parse.ReasonChanReceive, detect.ConfidenceJanitorAlive, "idle worker of a pool"},
		{"timer", 1, parse.ReasonSelect, detect.ConfidenceBlockedAtEnd, "a timer or the network woke waiters here before"},
		{"deadline", 1, parse.ReasonChanReceive, detect.ConfidenceBlockedAtEnd, "a timer or the network woke waiters here before"},
		{"collector", 1, parse.ReasonChanReceive, detect.ConfidenceBlockedAtEnd, "close the channel"},
		{"alone", 1, parse.ReasonChanReceive, detect.ConfidenceNoWaker, "close the channel"},
	} {
		t.Run(tc.mark, func(t *testing.T) {
			line := marks[tc.mark]
			f := findingAt(fs, line)
			if f == nil {
				t.Fatalf("no finding at leak_test.go:%d; findings: %v", line, messages(fs))
			}
			if len(f.Goroutines) != tc.n || f.Reason != tc.reason || f.Confidence != tc.confidence {
				t.Errorf("finding %q: %d goroutines, Reason %q, Confidence %q; want %d, %q, %q", f.Message, len(f.Goroutines), f.Reason, f.Confidence, tc.n, tc.reason, tc.confidence)
			}
			if !strings.Contains(f.Hint, tc.hint) {
				t.Errorf("finding %q: Hint %q; want one about %q", f.Message, f.Hint, tc.hint)
			}
			if !strings.HasPrefix(f.Test, "TestLeakScenarios") || !strings.Contains(f.Message, "started by TestLeakScenarios") {
				t.Errorf("finding %q: Test = %q; want TestLeakScenarios, named in the message", f.Message, f.Test)
			}
			var total time.Duration
			for _, id := range f.Goroutines {
				total += time.Duration(tr.End-tr.Start) - time.Duration(tr.Goroutine(id).Since)
			}
			if f.Total != total {
				t.Errorf("finding %q: Total = %v; want %v, the sum of the goroutines' blocked times", f.Message, f.Total, total)
			}
			if i := slices.IndexFunc(f.Related, func(r detect.Related) bool { return r.Role == "creator" }); i < 0 {
				t.Errorf("finding %q has no creator", f.Message)
			} else if cr := f.Related[i]; cr.Goroutine != tr.Goroutine(f.Goroutines[0]).Creator || filepath.Base(cr.Location.File) != "leak_test.go" {
				t.Errorf("finding %q: creator goroutine %d at %v; want %d in leak_test.go", f.Message, cr.Goroutine, cr.Location, tr.Goroutine(f.Goroutines[0]).Creator)
			}
		})
	}
	if len(fs) != 8 {
		t.Errorf("%d findings; want 8: %v", len(fs), messages(fs))
	}
	// Forgetting exited wakers at once (see detect.SetForgetting) changes
	// no verdict: the collector's wakers exited, but their creator lives.
	restore := detect.SetForgetting(1, 1, 1)
	_, forgot := leakFindings(t, data, detect.LeakOptions{})
	restore()
	verdicts := func(fs []detect.Finding) (out []string) {
		for _, f := range fs {
			out = append(out, f.Confidence+": "+f.Message)
		}
		return out
	}
	if got, want := verdicts(forgot), verdicts(all); !slices.Equal(got, want) {
		t.Errorf("findings forgetting exited wakers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func messages(fs []detect.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Message)
	}
	return out
}

// collectForgot and collectLive are collect, for TestLeakForgetsWakers.
func collectForgot(results chan int) {
	for range results {
	}
}

func collectLive(results chan int) {
	for range results {
	}
}

// startWakers starts a waker that lives on (sleeping) after two sends, then
// one that exits after two, and exits.
func startWakers(results chan int, stop *atomic.Bool, done chan struct{}) {
	sent := make(chan struct{})
	go liveWaker(results, stop, sent)
	<-sent
	go exitingWaker(results, done)
}

func liveWaker(results chan int, stop *atomic.Bool, sent chan struct{}) {
	results <- 1
	results <- 2
	close(sent)
	for !stop.Load() {
		time.Sleep(time.Millisecond)
	}
}

func exitingWaker(results chan int, done chan struct{}) {
	results <- 3
	results <- 4
	close(done)
}

// TestLeakForgetsWakers checks that a site forgetting its wakers that
// exited keeps those alive and the creators that still live: a collector
// whose wakers all exited, the first ones started by the test's goroutine
// (alive at the end), the last ones by a goroutine that exited, is still
// wakeable; so is one a live waker started by an exited goroutine woke
// before one that exited.
func TestLeakForgetsWakers(t *testing.T) {
	results, live := make(chan int), make(chan int)
	var stop atomic.Bool
	data := recordTrace(t, func() {
		go collectForgot(results)
		serveRequests(results, "detect_test.collectForgot", 3)
		served := make(chan struct{})
		go func() {
			serveRequests(results, "detect_test.collectForgot", 3)
			close(served)
		}()
		<-served
		go collectLive(live)
		done := make(chan struct{})
		go startWakers(live, &stop, done)
		<-done
		awaitGone(t, "detect_test.TestLeakForgetsWakers.func1.1")
		awaitGone(t, "detect_test.startWakers")
		awaitGone(t, "detect_test.exitingWaker")
		waitBlocked(t, "detect_test.collectForgot", "chan receive", 1)
		waitBlocked(t, "detect_test.collectLive", "chan receive", 1)
	})
	stop.Store(true)
	close(results)
	close(live)
	verdicts := func(wakers int) map[string]string {
		defer detect.SetForgetting(wakers, wakers, wakers)()
		tr, fs := leakFindings(t, data, detect.LeakOptions{})
		out := map[string]string{}
		for _, f := range ownFindings(tr, fs) {
			out[shortFunc(f.Location.Func)] = f.Confidence
		}
		return out
	}
	got, never := verdicts(1), verdicts(math.MaxInt)
	want := map[string]string{
		"collectForgot": detect.ConfidenceBlockedAtEnd,
		"collectLive":   detect.ConfidenceJanitorAlive, // its live waker sleeps
	}
	for fn, w := range want {
		if got[fn] != never[fn] || got[fn] != w {
			t.Errorf("%s's confidence forgetting wakers at once = %q, never = %q; want %q", fn, got[fn], never[fn], w)
		}
	}
}

// shortFunc drops the package from a function name.
func shortFunc(fn string) string {
	return fn[strings.LastIndexByte(fn, '.')+1:]
}

// TestLeakOptions checks goleak-style filters: by top function, by any
// function, by minimum blocked time.
func TestLeakOptions(t *testing.T) {
	ch, sameCh := make(chan int), make(chan int)
	var mu sync.Mutex
	data := recordTrace(t, func() {
		timeoutLeak(ch)
		sameLineLeak(sameCh)
		mutexLeak(&mu)
		waitBlocked(t, "detect_test.timeoutLeak.func1.1", "chan send", 1)
		waitBlocked(t, "detect_test.sameLineLeak.func1.1", "chan receive", 3)
		waitBlocked(t, "detect_test.mutexLeak.func1.1", "sync.Mutex.Lock", 1)
	})
	<-ch
	close(sameCh)
	mu.Unlock()

	const pkg = "github.com/blockscope/blockscope/detect_test."
	for _, tc := range []struct {
		name string
		opts detect.LeakOptions
		want int
	}{
		{"none", detect.LeakOptions{}, 3},
		{"top function", detect.LeakOptions{IgnoreTopFunction: []string{pkg + "timeoutLeak.func1.1"}}, 2},
		{"top function is the innermost non-runtime frame", detect.LeakOptions{IgnoreTopFunction: []string{"sync.(*Mutex).Lock"}}, 2},
		{"not top function", detect.LeakOptions{IgnoreTopFunction: []string{pkg + "sameLineLeak"}}, 3},
		{"any function", detect.LeakOptions{IgnoreAnyFunction: []string{pkg + "sameLineLeak.func1.1", "sync.(*Mutex).Lock"}}, 1},
		{"min blocked", detect.LeakOptions{MinBlocked: time.Hour}, 0},
		{"min blocked short", detect.LeakOptions{MinBlocked: time.Nanosecond}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, fs := leakFindings(t, data, tc.opts)
			if got := ownFindings(tr, fs); len(got) != tc.want {
				t.Errorf("%d findings; want %d: %v", len(got), tc.want, messages(got))
			}
		})
	}
}

// TestNoLeakHealthyPool: a worker pool that shuts down cleanly leaves
// nothing blocked.
func TestNoLeakHealthyPool(t *testing.T) {
	data := recordTrace(t, func() {
		jobs, results := make(chan int), make(chan int)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					results <- 2 * j
				}
			}()
		}
		go func() {
			for i := range 100 {
				jobs <- i
			}
			close(jobs)
		}()
		go func() {
			wg.Wait()
			close(results)
		}()
		sum := 0
		for r := range results {
			sum += r
		}
		if sum != 9900 {
			t.Errorf("pool sum = %d; want 9900", sum)
		}
	})
	tr, fs := leakFindings(t, data, detect.LeakOptions{})
	if own := ownFindings(tr, fs); len(own) > 0 {
		t.Errorf("healthy pool: %d leak findings; want none: %v", len(own), messages(own))
	}
	if _, exited, _ := tr.Counts(); exited < 6 {
		t.Errorf("%d goroutines exited; want the pool's 6 at least", exited)
	}
}

// TestNoLeakIdleServer: servers blocked in network reads at the end of the
// trace (a TCP echo server and an HTTP server, each with an idle client
// connection) are not leaks.
func TestNoLeakIdleServer(t *testing.T) {
	var conns []net.Conn
	var closers []io.Closer
	defer func() {
		for _, c := range append(conns, nil) {
			if c != nil {
				c.Close()
			}
		}
		for _, c := range closers {
			c.Close()
		}
	}()
	data := recordTrace(t, func() {
		// A line echo server; its client sends one line and stays.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, ln)
		go echoServe(ln)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintln(c, "hello")
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "hello\n" {
			t.Fatalf("echo = %q, %v; want hello", line, err)
		}

		// An HTTP server; a raw keep-alive client makes one request.
		hln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
		closers = append(closers, srv)
		go srv.Serve(hln)
		hc, err := net.Dial("tcp", hln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, hc)
		fmt.Fprint(hc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(hc), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		waitBlocked(t, "net/http.(*conn).serve", "IO wait", 1)
		waitBlocked(t, "net/http.(*Server).Serve", "IO wait", 1)
		waitBlocked(t, "detect_test.echoServe", "IO wait", 1)
		waitBlocked(t, "detect_test.echoConn", "IO wait", 1)
	})
	tr, fs := leakFindings(t, data, detect.LeakOptions{})
	if own := ownFindings(tr, fs); len(own) > 0 {
		t.Errorf("idle servers: %d leak findings; want none: %v", len(own), messages(own))
	}
	var network int
	for _, g := range tr.Goroutines() {
		if g.State == parse.StateWaiting && g.Reason == parse.ReasonNetwork && !g.Preexisting {
			network++
		}
	}
	if network < 4 {
		t.Errorf("%d goroutines blocked in the network at the end; want 4 (two accept loops, two connections)", network)
	}
}

func echoServe(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go echoConn(c)
	}
}

func echoConn(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		io.WriteString(c, line)
	}
}

// genWant is a "// want REASON [leak] [xN]" marker of parse's generator.
type genWant struct {
	line int
	leak bool
	n    int
}

// genWants reads the markers of one of parse's generator scenarios.
func genWants(t *testing.T, file string) map[int]genWant {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "parse", "testdata", "gen", file))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\S.*// want [^x]*?( leak)?( x(\d+))?$`)
	wants := make(map[int]genWant)
	for i, line := range strings.Split(string(src), "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		w := genWant{line: i + 1, leak: m[1] != "", n: 1}
		if m[3] != "" {
			w.n, _ = strconv.Atoi(m[3])
		}
		wants[w.line] = w
	}
	return wants
}

// TestLeakGenerated checks the leak findings on parse's checked-in traces
// against their scenarios' markers, both ways: a finding at every line
// marked leak, with as many goroutines, and none elsewhere.
func TestLeakGenerated(t *testing.T) {
	for _, tc := range []struct{ trace, src string }{
		{"blocked.trace", "blocked.go"},
		{"preexisting.trace", "preexisting.go"},
	} {
		t.Run(tc.trace, func(t *testing.T) {
			wants := genWants(t, tc.src)
			data, err := os.ReadFile(filepath.Join("..", "parse", "testdata", tc.trace))
			if err != nil {
				t.Fatal(err)
			}
			tr, fs := leakFindings(t, data, detect.LeakOptions{})
			got := make(map[int]detect.Finding)
			for _, f := range fs {
				if filepath.Base(f.Location.File) != tc.src {
					t.Errorf("finding outside the scenario: %s", f.Message)
					continue
				}
				got[f.Location.Line] = f
			}
			for line, w := range wants {
				f, ok := got[line]
				switch {
				case w.leak && !ok:
					t.Errorf("%s:%d: no leak finding; want one", tc.src, line)
				case !w.leak && ok:
					t.Errorf("%s:%d: unexpected finding %q", tc.src, line, f.Message)
				case ok && len(f.Goroutines) != w.n:
					t.Errorf("%s:%d: finding of %d goroutines; want %d", tc.src, line, len(f.Goroutines), w.n)
				}
				// Nobody was ever woken at these lines, so the creator
				// stands in for the waker: main is alive at the end, and
				// who could wake a goroutine blocked before tracing began
				// is unknown. Certain: a nil channel or an empty select,
				// and nestedChild, whose creator has exited.
				if !ok {
					continue
				}
				want := detect.ConfidenceBlockedAtEnd
				if g := tr.Goroutine(f.Goroutines[0]); f.Reason == parse.ReasonForever || g.Creator != parse.NoGoroutine && tr.Goroutine(g.Creator).State == parse.StateExited {
					want = detect.ConfidenceNoWaker
				}
				if f.Confidence != want {
					t.Errorf("%s:%d: confidence %q; want %q", tc.src, line, f.Confidence, want)
				}
			}
			for line, f := range got {
				if _, ok := wants[line]; !ok {
					t.Errorf("%s:%d: finding %q at a line with no marker", tc.src, line, f.Message)
				}
			}
		})
	}
}

// leakySend blocks for ever unless someone receives from ch.
func leakySend(ch chan int) {
	ch <- 1 // want leak pertest
}

// TestLeakPerTest: the same line leaking in two subtests is one finding,
// naming the top-level test, "in a subtest" (the trace holds no subtest
// names).
func TestLeakPerTest(t *testing.T) {
	marks := leakMarks(t)
	ch1, ch2 := make(chan int), make(chan int)
	data := recordTrace(t, func() {
		t.Run("a", func(t *testing.T) { go leakySend(ch1) })
		t.Run("b", func(t *testing.T) { go leakySend(ch2) })
		waitBlocked(t, "detect_test.leakySend", "chan send", 2)
	})
	<-ch1
	<-ch2
	tr, all := leakFindings(t, data, detect.LeakOptions{})
	f := findingAt(ownFindings(tr, all), marks["pertest"])
	if f == nil {
		t.Fatalf("no finding at leak_test.go:%d: %v", marks["pertest"], messages(all))
	}
	if len(f.Goroutines) != 2 || f.Severity != detect.SeverityError {
		t.Errorf("finding %q: %d goroutines, %s; want 2, error", f.Message, len(f.Goroutines), f.Severity)
	}
	want := []detect.LeakTest{{Name: "TestLeakPerTest", Subtest: true, Goroutines: f.Goroutines}}
	if f.Test != "TestLeakPerTest" || fmt.Sprint(f.Tests) != fmt.Sprint(want) || !strings.Contains(f.Message, "started by TestLeakPerTest (in a subtest)") {
		t.Errorf("finding %q: Test %q, Tests %+v; want TestLeakPerTest, %+v, named in the message", f.Message, f.Test, f.Tests, want)
	}
}
