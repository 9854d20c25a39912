package sync

import (
	"errors"
	"runtime"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"weak"
)

// runConcurrently calls f from n goroutines at once and waits for them.
func runConcurrently(n int, f func()) {
	var join stdsync.WaitGroup
	start := make(chan struct{})
	for range n {
		join.Add(1)
		go func() {
			defer join.Done()
			<-start
			f()
		}()
	}
	close(start)
	join.Wait()
}

func TestOnceFunc(t *testing.T) {
	var calls atomic.Int32
	g := OnceFunc(func() { calls.Add(1) })
	runConcurrently(20, g)
	g()
	if n := calls.Load(); n != 1 {
		t.Errorf("OnceFunc(f) called 21 times called f %d times; want 1", n)
	}
}

func TestOnceValue(t *testing.T) {
	var calls atomic.Int32
	g := OnceValue(func() int { return int(calls.Add(1)) * 42 })
	var bad atomic.Int32
	runConcurrently(20, func() {
		if v := g(); v != 42 {
			bad.Add(1)
		}
	})
	if v := g(); v != 42 {
		t.Errorf("OnceValue(f)() = %d; want 42", v)
	}
	if n := bad.Load(); n != 0 {
		t.Errorf("%d concurrent calls of OnceValue(f) did not return 42", n)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("OnceValue(f) called 21 times called f %d times; want 1", n)
	}
}

func TestOnceValues(t *testing.T) {
	var calls atomic.Int32
	errSome := errors.New("some error")
	g := OnceValues(func() (int, error) { return int(calls.Add(1)), errSome })
	var bad atomic.Int32
	runConcurrently(20, func() {
		if v, err := g(); v != 1 || err != errSome {
			bad.Add(1)
		}
	})
	if v, err := g(); v != 1 || err != errSome {
		t.Errorf("OnceValues(f)() = %d, %v; want 1, %v", v, err, errSome)
	}
	if n := bad.Load(); n != 0 {
		t.Errorf("%d concurrent calls of OnceValues(f) did not return 1, %v", n, errSome)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("OnceValues(f) called 21 times called f %d times; want 1", n)
	}
}

// TestOnceXPanic checks that every call of the function OnceFunc,
// OnceValue and OnceValues return panics with what f panicked with, and
// that f is called once.
func TestOnceXPanic(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		make func(f func()) func()
	}{
		{"OnceFunc", func(f func()) func() { return OnceFunc(f) }},
		{"OnceValue", func(f func()) func() {
			g := OnceValue(func() int { f(); return 1 })
			return func() { g() }
		}},
		{"OnceValues", func(f func()) func() {
			g := OnceValues(func() (int, int) { f(); return 1, 2 })
			return func() { g() }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			g := tt.make(func() {
				calls++
				panic(errBoom)
			})
			for i := range 3 {
				if p := panicOf(g); p != errBoom {
					t.Errorf("call %d of %s(f) where f panics(%v) panicked with %v; want %v", i+1, tt.name, errBoom, p, errBoom)
				}
			}
			if calls != 1 {
				t.Errorf("%s(f) called 3 times called f %d times; want 1", tt.name, calls)
			}
		})
	}
}

// TestOnceXConcurrentPanic checks that callers that waited for a
// panicking f panic too.
func TestOnceXConcurrentPanic(t *testing.T) {
	var calls atomic.Int32
	g := OnceFunc(func() {
		calls.Add(1)
		runtime.Gosched()
		panic("boom")
	})
	var quiet atomic.Int32
	runConcurrently(10, func() {
		if p := panicOf(g); p != "boom" {
			quiet.Add(1)
		}
	})
	if n := quiet.Load(); n != 0 {
		t.Errorf("%d of 10 concurrent calls of OnceFunc(f) where f panics did not panic with boom", n)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("f called %d times; want 1", n)
	}
}

// TestOnceXReleasesF checks that the returned functions do not keep f, and
// what it refers to, alive once it has been called.
func TestOnceXReleasesF(t *testing.T) {
	tests := []struct {
		name string
		make func(buf *[1 << 10]byte) func()
	}{
		{"OnceFunc", func(buf *[1 << 10]byte) func() {
			return OnceFunc(func() { buf[0] = 1 })
		}},
		{"OnceValue", func(buf *[1 << 10]byte) func() {
			g := OnceValue(func() byte { return buf[0] })
			return func() { g() }
		}},
		{"OnceValues", func(buf *[1 << 10]byte) func() {
			g := OnceValues(func() (byte, byte) { return buf[0], buf[1] })
			return func() { g() }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := new([1 << 10]byte)
			w := weak.Make(buf)
			g := tt.make(buf)
			buf = nil
			g()
			for i := 0; i < 10 && w.Value() != nil; i++ {
				runtime.GC()
			}
			if w.Value() != nil {
				t.Errorf("%s(f) kept f alive after calling it", tt.name)
			}
			runtime.KeepAlive(g)
		})
	}
}

// panicOf calls f and returns what it panicked with, or nil.
func panicOf(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}
