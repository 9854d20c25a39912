package singleflight_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xsingleflight "golang.org/x/sync/singleflight"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/primitives/singleflight"
)

// result is a Result of either implementation.
type result struct {
	Val    any
	Err    error
	Shared bool
}

// group is what both implementations offer. DoChan's channel types differ,
// so the adapters return a function that receives from it instead.
type group interface {
	Do(key string, fn func() (any, error)) (any, error, bool)
	DoChan(key string, fn func() (any, error)) func() result
	Forget(key string)
}

type xgroup struct{ g xsingleflight.Group }

func (x *xgroup) Do(key string, fn func() (any, error)) (any, error, bool) { return x.g.Do(key, fn) }
func (x *xgroup) Forget(key string)                                        { x.g.Forget(key) }
func (x *xgroup) DoChan(key string, fn func() (any, error)) func() result {
	ch := x.g.DoChan(key, fn)
	return func() result { return result(<-ch) }
}

type ourgroup struct{ g singleflight.Group }

func (o *ourgroup) Do(key string, fn func() (any, error)) (any, error, bool) { return o.g.Do(key, fn) }
func (o *ourgroup) Forget(key string)                                        { o.g.Forget(key) }
func (o *ourgroup) DoChan(key string, fn func() (any, error)) func() result {
	ch := o.g.DoChan(key, fn)
	return func() result { return result(<-ch) }
}

// impl is one implementation under test: every behavioural test runs
// against golang.org/x/sync/singleflight and against ours, so the two are
// held to the same expectations.
type impl struct {
	name string
	new  func() group
	do   string // the Do frame in a goroutine dump
}

var impls = []impl{
	{"xsync", func() group { return new(xgroup) }, "golang.org/x/sync/singleflight.(*Group).Do("},
	{"ours", func() group { return new(ourgroup) }, "blockscope/primitives/singleflight.(*Group).Do("},
}

// A follower of a flight is parked in Do; its leader's goroutine has Do
// (or DoChan's goroutine) and doCall on its stack.
const leaderFrame = "doCall("

// gate is a function for a flight that counts its calls and blocks until
// opened.
type gate struct {
	calls   atomic.Int32
	started chan struct{} // closed by the first call
	open    chan struct{}
	once    sync.Once
}

func newGate() *gate {
	return &gate{started: make(chan struct{}), open: make(chan struct{})}
}

// fn returns a function that waits for the gate and then returns val, err.
func (g *gate) fn(val any, err error) func() (any, error) {
	return func() (any, error) {
		g.calls.Add(1)
		g.once.Do(func() { close(g.started) })
		<-g.open
		return val, err
	}
}

// doAsync calls Do in a new goroutine and sends its results.
func doAsync(g group, key string, fn func() (any, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		v, err, shared := g.Do(key, fn)
		ch <- result{v, err, shared}
	}()
	return ch
}

var errBoom = errors.New("boom")

func TestDo(t *testing.T) {
	tests := []struct {
		name string
		val  any
		err  error
	}{
		{"value", "bar", nil},
		{"error", nil, errBoom},
		{"value and error", 42, errBoom},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				g := im.new()
				calls := 0
				fn := func() (any, error) { calls++; return tt.val, tt.err }
				for i := range 2 {
					v, err, shared := g.Do("key", fn)
					if v != tt.val || err != tt.err || shared {
						t.Fatalf("Do #%d = %v, %v, %v; want %v, %v, false", i+1, v, err, shared, tt.val, tt.err)
					}
				}
				if calls != 2 {
					t.Fatalf("fn called %d times by two Do calls in turn; want 2", calls)
				}
			})
		}
	}
}

// TestDoDedup pins the fan-in: concurrent Do calls with one key share one
// execution, and all of them see its results with shared true.
func TestDoDedup(t *testing.T) {
	const followers = 7
	tests := []struct {
		name string
		val  any
		err  error
	}{
		{"value", "bar", nil},
		{"error", nil, errBoom},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				g := im.new()
				gt := newGate()
				fn := gt.fn(tt.val, tt.err)
				chans := []<-chan result{doAsync(g, "key", fn)}
				tracetest.Recv(t, gt.started)
				for range followers {
					chans = append(chans, doAsync(g, "key", fn))
				}
				waitParked(t, followers, im.do, leaderFrame)
				close(gt.open)
				want := result{tt.val, tt.err, true}
				for i, ch := range chans {
					if got := tracetest.Recv(t, ch); got != want {
						t.Errorf("Do #%d = %v; want %v", i, got, want)
					}
				}
				if n := gt.calls.Load(); n != 1 {
					t.Errorf("fn called %d times by %d concurrent Do calls; want 1", n, followers+1)
				}
			})
		}
	}
}

func TestDoChan(t *testing.T) {
	type call struct {
		chanCall bool // DoChan rather than Do
	}
	tests := []struct {
		name  string
		calls []call // the first leads
	}{
		{"alone", []call{{true}}},
		{"DoChan followers", []call{{true}, {true}, {true}}},
		{"Do leads, DoChan follows", []call{{false}, {true}}},
		{"DoChan leads, Do follows", []call{{true}, {false}, {false}}},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				g := im.new()
				gt := newGate()
				fn := gt.fn("bar", nil)
				var results []func() result
				doFollowers := 0
				for i, c := range tt.calls {
					if c.chanCall {
						results = append(results, g.DoChan("key", fn))
					} else {
						ch := doAsync(g, "key", fn)
						results = append(results, func() result { return tracetest.Recv(t, ch) })
						if i > 0 {
							doFollowers++
						}
					}
					if i == 0 {
						tracetest.Recv(t, gt.started)
					}
				}
				waitParked(t, doFollowers, im.do, leaderFrame)
				close(gt.open)
				want := result{"bar", nil, len(tt.calls) > 1}
				for i, r := range results {
					if got := r(); got != want {
						t.Errorf("call #%d = %v; want %v", i, got, want)
					}
				}
				if n := gt.calls.Load(); n != 1 {
					t.Errorf("fn called %d times; want 1", n)
				}
			})
		}
	}
}

// TestForget checks that after Forget a new call starts a new flight, and
// that the end of the forgotten flight does not end the new one.
func TestForget(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			g := im.new()
			first, second := newGate(), newGate()
			r1 := doAsync(g, "key", first.fn(1, nil))
			tracetest.Recv(t, first.started)
			g.Forget("key")

			r2 := doAsync(g, "key", second.fn(2, nil))
			tracetest.Recv(t, second.started) // not waiting for the first flight
			r3 := doAsync(g, "key", first.fn(3, nil))
			waitParked(t, 1, im.do, leaderFrame)

			close(first.open)
			if got, want := tracetest.Recv(t, r1), (result{1, nil, false}); got != want {
				t.Errorf("forgotten Do = %v; want %v", got, want)
			}
			// The second flight is still the one registered for the key.
			r4 := g.DoChan("key", first.fn(4, nil))
			close(second.open)
			want := result{2, nil, true}
			if got := tracetest.Recv(t, r2); got != want {
				t.Errorf("Do after Forget = %v; want %v", got, want)
			}
			if got := tracetest.Recv(t, r3); got != want {
				t.Errorf("Do joining after Forget = %v; want %v", got, want)
			}
			if got := r4(); got != want {
				t.Errorf("DoChan joining after the forgotten flight ended = %v; want %v", got, want)
			}
			if n := first.calls.Load(); n != 1 {
				t.Errorf("first fn called %d times; want 1", n)
			}
			g.Forget("never used") // harmless
		})
	}
}

// TestPanicDo checks that a panic in fn reaches every Do caller of the
// flight as an error that wraps the value and holds the stack, and that the
// key is free afterwards.
func TestPanicDo(t *testing.T) {
	const followers = 3
	tests := []struct {
		name  string
		value any
		check func(t *testing.T, err error)
	}{
		{"string", "it broke", func(t *testing.T, err error) {
			if u := errors.Unwrap(err); u != nil {
				t.Errorf("errors.Unwrap(%T) = %v; want nil", err, u)
			}
		}},
		{"error", errBoom, func(t *testing.T, err error) {
			if !errors.Is(err, errBoom) {
				t.Errorf("errors.Is(%T, errBoom) = false; want true", err)
			}
		}},
		{"nil", nil, func(t *testing.T, err error) {
			var pn *runtime.PanicNilError
			if !errors.As(err, &pn) {
				t.Errorf("errors.As(%T, *runtime.PanicNilError) = false; want true", err)
			}
		}},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				g := im.new()
				gt := newGate()
				blockThenPanic := func() (any, error) {
					gt.fn(nil, nil)()
					panic(tt.value)
				}
				recovered := make(chan any, followers+1)
				call := func() {
					defer func() { recovered <- recover() }()
					g.Do("key", blockThenPanic)
				}
				go call()
				tracetest.Recv(t, gt.started)
				for range followers {
					go call()
				}
				waitParked(t, followers, im.do, leaderFrame)
				close(gt.open)
				for i := range followers + 1 {
					r := tracetest.Recv(t, recovered)
					err, ok := r.(error)
					if !ok {
						t.Fatalf("Do #%d panicked with %T %v; want an error", i, r, r)
					}
					msg := err.Error()
					if want := fmt.Sprint(recoverValue(tt.value)); !strings.Contains(msg, want) {
						t.Errorf("panic message %q does not contain the value %q", msg, want)
					}
					if !strings.Contains(msg, "TestPanicDo") {
						t.Errorf("panic message %q does not contain the stack of fn", msg)
					}
					tt.check(t, err)
				}
				// The flight is over: the key runs fn again.
				if v, err, _ := g.Do("key", func() (any, error) { return "again", nil }); v != "again" || err != nil {
					t.Errorf("Do after a panic = %v, %v; want again, nil", v, err)
				}
			})
		}
	}
}

// recoverValue is what recover returns for panic(v).
func recoverValue(v any) (r any) {
	defer func() { r = recover() }()
	panic(v)
}

// TestGoexitDo checks that runtime.Goexit in fn ends every Do caller of the
// flight the same way, and that the key is free afterwards.
func TestGoexitDo(t *testing.T) {
	const followers = 3
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			g := im.new()
			gt := newGate()
			blockThenExit := func() (any, error) {
				gt.fn(nil, nil)()
				runtime.Goexit()
				return nil, nil
			}
			returned := make(chan bool, followers+1)
			call := func() {
				ret := false
				defer func() { returned <- ret }()
				g.Do("key", blockThenExit)
				ret = true
			}
			go call()
			tracetest.Recv(t, gt.started)
			for range followers {
				go call()
			}
			waitParked(t, followers, im.do, leaderFrame)
			close(gt.open)
			for i := range followers + 1 {
				if tracetest.Recv(t, returned) {
					t.Errorf("Do #%d returned after fn called runtime.Goexit; want its goroutine to exit", i)
				}
			}
			if v, err, _ := g.Do("key", func() (any, error) { return "again", nil }); v != "again" || err != nil {
				t.Errorf("Do after a Goexit = %v, %v; want again, nil", v, err)
			}
		})
	}
}

// crashEnv names the scenario a re-executed test binary must run.
const crashEnv = "BLOCKSCOPE_SINGLEFLIGHT_CRASH"

// TestDoChanPanicCrashes checks, in a child process, that a panic in a
// flight with a DoChan caller cannot be recovered and crashes the program
// instead of leaving the channel empty forever.
func TestDoChanPanicCrashes(t *testing.T) {
	scenarios := map[string]func(g group){
		"DoChan leads": func(g group) {
			defer func() { recover() }()
			r := g.DoChan("key", func() (any, error) { panic("boom in DoChan") })
			r()
		},
		"Do leads, DoChan follows": func(g group) {
			started, open := make(chan struct{}), make(chan struct{})
			go func() {
				defer func() { recover() }()
				g.Do("key", func() (any, error) {
					close(started)
					<-open
					panic("boom in Do")
				})
			}()
			<-started
			r := g.DoChan("key", func() (any, error) { panic("DoChan follower ran fn") })
			close(open)
			r()
		},
	}
	if name := os.Getenv(crashEnv); name != "" {
		for _, im := range impls {
			for sc, f := range scenarios {
				if name == im.name+"/"+sc {
					f(im.new())
					fmt.Println("scenario returned")
					os.Exit(0)
				}
			}
		}
		t.Fatalf("unknown scenario %q", name)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Skipf("no test executable: %v", err)
	}
	for _, im := range impls {
		for _, sc := range []string{"DoChan leads", "Do leads, DoChan follows"} {
			t.Run(im.name+"/"+sc, func(t *testing.T) {
				cmd := exec.Command(exe, "-test.run=^TestDoChanPanicCrashes$")
				cmd.Env = append(os.Environ(), crashEnv+"="+im.name+"/"+sc)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				done := make(chan error, 1)
				if err := cmd.Start(); err != nil {
					t.Skipf("cannot run the test executable: %v", err)
				}
				go func() { done <- cmd.Wait() }()
				select {
				case err = <-done:
				case <-time.After(tracetest.HangGuard):
					cmd.Process.Kill()
					t.Fatalf("child still running after %v; output:\n%s", tracetest.HangGuard, out.Bytes())
				}
				if err == nil {
					t.Errorf("child exited cleanly; want a crash. Output:\n%s", out.Bytes())
				}
				for _, unwanted := range []string{"scenario returned", "follower ran fn"} {
					if bytes.Contains(out.Bytes(), []byte(unwanted)) {
						t.Errorf("child output contains %q; want a crash from fn's panic. Output:\n%s", unwanted, out.Bytes())
					}
				}
				if !bytes.Contains(out.Bytes(), []byte("panic: boom in")) {
					t.Errorf("child output lacks %q. Output:\n%s", "panic: boom in", out.Bytes())
				}
			})
		}
	}
}

// TestStress runs many goroutines calling Do, DoChan and Forget on a few
// keys and checks that every caller gets the result of a call of fn for its
// own key, and that shared calls run fn fewer times than there are calls.
func TestStress(t *testing.T) {
	const (
		goroutines = 16
		iterations = 300
	)
	keys := []string{"a", "b", "c"}
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			g := im.new()
			var calls, shared atomic.Int64
			var wg sync.WaitGroup
			for i := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range iterations {
						key := keys[(i+j)%len(keys)]
						fn := func() (any, error) {
							calls.Add(1)
							runtime.Gosched()
							return key, nil
						}
						var r result
						switch j % 5 {
						case 0:
							r = g.DoChan(key, fn)()
						case 1:
							g.Forget(key)
							fallthrough
						default:
							v, err, sh := g.Do(key, fn)
							r = result{v, err, sh}
						}
						if r.Val != key || r.Err != nil {
							t.Errorf("Do(%q) = %v, %v; want %q, nil", key, r.Val, r.Err, key)
						}
						if r.Shared {
							shared.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			if n := calls.Load(); n < 1 || n > goroutines*iterations {
				t.Errorf("fn called %d times for %d calls", n, goroutines*iterations)
			}
			t.Logf("%d calls of fn for %d calls, %d shared", calls.Load(), goroutines*iterations, shared.Load())
		})
	}
}
