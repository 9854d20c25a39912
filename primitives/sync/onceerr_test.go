package sync

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestOnceErrRetries checks the sequential contract: f is called until it
// succeeds, and never after.
func TestOnceErrRetries(t *testing.T) {
	errFail := errors.New("fail")
	tests := []struct {
		name    string
		results []error // what f returns on its first, second, ... call
		calls   int     // how many times Do is called
		want    []error // what each Do returns
		fCalls  int
	}{
		{"succeeds at once", []error{nil}, 3, []error{nil, nil, nil}, 1},
		{"fails twice then succeeds", []error{errFail, errFail, nil}, 5, []error{errFail, errFail, nil, nil, nil}, 3},
		{"always fails", []error{errFail, errFail, errFail}, 3, []error{errFail, errFail, errFail}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o OnceErr
			fCalls := 0
			f := func() error {
				err := tt.results[fCalls]
				fCalls++
				return err
			}
			for i := range tt.calls {
				if err := o.Do(f); err != tt.want[i] {
					t.Errorf("call %d: Do(f) = %v; want %v", i+1, err, tt.want[i])
				}
				if done, want := o.Done(), tt.want[i] == nil; done != want {
					t.Errorf("call %d: Done() = %v; want %v", i+1, done, want)
				}
			}
			if fCalls != tt.fCalls {
				t.Errorf("f called %d times; want %d", fCalls, tt.fCalls)
			}
		})
	}
}

// TestOnceErrConcurrent calls Do from many goroutines while f fails its
// first attempts: calls of f never overlap, each Do calls f at most once and
// returns an error only from its own call, and exactly one call succeeds.
func TestOnceErrConcurrent(t *testing.T) {
	for _, failures := range []int{0, 1, 5, 19} {
		t.Run(fmt.Sprintf("failures=%d", failures), func(t *testing.T) {
			const callers = 20
			var (
				o                 OnceErr
				attempts          atomic.Int32
				running           atomic.Int32
				overlaps          atomic.Int32
				errs, nils, twice atomic.Int32
				foreign           atomic.Int32
			)
			runConcurrently(callers, func() {
				var mine error
				called := 0
				err := o.Do(func() error {
					called++
					if running.Add(1) != 1 {
						overlaps.Add(1)
					}
					defer running.Add(-1)
					if n := attempts.Add(1); int(n) <= failures {
						mine = fmt.Errorf("attempt %d failed", n)
						return mine
					}
					return nil
				})
				if called > 1 {
					twice.Add(1)
				}
				switch {
				case err == nil:
					nils.Add(1)
				case err == mine:
					errs.Add(1)
				default:
					foreign.Add(1)
				}
			})
			checks := []struct {
				what      string
				got, want int32
			}{
				{"calls of f", attempts.Load(), int32(failures + 1)},
				{"overlapping calls of f", overlaps.Load(), 0},
				{"Do calls that called f twice", twice.Load(), 0},
				{"Do calls that returned an error", errs.Load(), int32(failures)},
				{"Do calls that returned nil", nils.Load(), int32(callers - failures)},
				{"Do calls that returned another call's error", foreign.Load(), 0},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%d callers, f fails %d times: %s = %d; want %d", callers, failures, c.what, c.got, c.want)
				}
			}
			if !o.Done() {
				t.Errorf("Done() = false after f succeeded; want true")
			}
		})
	}
}

// TestOnceErrWaiterRetries makes a Do wait for a failing attempt and checks
// that it then makes the next attempt itself.
func TestOnceErrWaiterRetries(t *testing.T) {
	var o OnceErr
	errFirst := errors.New("first attempt failed")
	release := make(chan struct{})
	first := make(chan error)
	go func() {
		first <- o.Do(func() error {
			<-release
			return errFirst
		})
	}()
	awaitAttempt(t, &o)

	secondCalled := make(chan bool, 1)
	second := make(chan error)
	go func() {
		called := false
		err := o.Do(func() error {
			called = true
			return nil
		})
		secondCalled <- called
		second <- err
	}()
	awaitParkedIn(t, 1, "(*OnceErr).wait")
	close(release)

	if err := <-first; err != errFirst {
		t.Errorf("first Do(f) = %v; want %v", err, errFirst)
	}
	if !<-secondCalled {
		t.Errorf("Do that waited for a failed attempt did not call its f")
	}
	if err := <-second; err != nil {
		t.Errorf("second Do(f) = %v; want nil", err)
	}
	if !o.Done() {
		t.Errorf("Done() = false after a successful attempt; want true")
	}
}

// TestOnceErrWaiterSucceeds makes a Do wait for a succeeding attempt and
// checks that it returns nil without calling its f.
func TestOnceErrWaiterSucceeds(t *testing.T) {
	var o OnceErr
	release := make(chan struct{})
	first := make(chan error)
	go func() {
		first <- o.Do(func() error {
			<-release
			return nil
		})
	}()
	awaitAttempt(t, &o)
	second := make(chan error)
	go func() {
		second <- o.Do(func() error { return errors.New("waiter's f called") })
	}()
	awaitParkedIn(t, 1, "(*OnceErr).wait")
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first Do(f) = %v; want nil", err)
	}
	if err := <-second; err != nil {
		t.Errorf("waiting Do(f) = %v; want nil", err)
	}
}

// awaitAttempt waits until some Do of o has claimed an attempt.
func awaitAttempt(t *testing.T, o *OnceErr) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for o.last.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no attempt started within 30s")
		}
		runtime.Gosched()
	}
}

// TestOnceErrPanic checks that a panicking f counts as a failed attempt.
func TestOnceErrPanic(t *testing.T) {
	var o OnceErr
	p := panicOf(func() { o.Do(func() error { panic("boom") }) })
	if p != "boom" {
		t.Errorf("Do(f) where f panics(boom) panicked with %v; want boom", p)
	}
	if o.Done() {
		t.Errorf("Done() = true after f panicked; want false")
	}
	called := false
	if err := o.Do(func() error { called = true; return nil }); err != nil || !called {
		t.Errorf("Do(g) after a panic = %v, called g: %v; want nil, true", err, called)
	}
}
