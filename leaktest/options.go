package leaktest

import (
	"fmt"
	"slices"
	"time"

	"github.com/blockscope/blockscope/detect"
)

// Option changes what VerifyNone, Check and VerifyTestMain judge.
type Option func(*options)

type options struct {
	leak      detect.LeakOptions
	current   map[int64]bool // IgnoreCurrent's goroutines
	detectors []string       // kinds reported besides leak and deadlock
	settle    time.Duration  // how long goroutines may take to finish
	err       error          // an option that made no sense
}

// IgnoreTopFunction ignores goroutines blocked in f, a function's full name
// as in stacks ("example.com/pool.(*Pool).worker"): any frame from the
// innermost to the goroutine's first frame in the user's code matches, so
// "sync.(*Mutex).Lock" and the user's function that called it both do.
func IgnoreTopFunction(f string) Option {
	return func(o *options) { o.leak.IgnoreTopFunction = append(o.leak.IgnoreTopFunction, f) }
}

// IgnoreAnyFunction ignores goroutines with f anywhere in their stack.
func IgnoreAnyFunction(f string) Option {
	return func(o *options) { o.leak.IgnoreAnyFunction = append(o.leak.IgnoreAnyFunction, f) }
}

// IgnoreCurrent ignores every goroutine that exists when the option is
// created: call it at the start of the test, or before m.Run.
func IgnoreCurrent() Option {
	ids := make(map[int64]bool)
	for _, g := range dump() {
		ids[g.id] = true
	}
	return func(o *options) {
		for id := range ids {
			o.current[id] = true
		}
	}
}

// WithDetectors also reports the findings of these detectors (by kind, as
// blockscope analyze --fail-on names them: "mutex-wait", "lock-order",
// "semaphore-queue", "singleflight-fanin", "goroutine-growth") about the
// goroutines of the test. Leaks and deadlocks are always reported.
func WithDetectors(kinds ...string) Option {
	return func(o *options) {
		for _, k := range kinds {
			if detect.Lookup(k) == nil {
				o.err = fmt.Errorf("WithDetectors: unknown detector %q", k)
				return
			}
			if !slices.Contains(o.detectors, k) {
				o.detectors = append(o.detectors, k)
			}
		}
	}
}

// defaultSettle bounds how long VerifyNone waits for goroutines to finish,
// as goleak's default retries do.
const defaultSettle = time.Second

func buildOptions(opts []Option) *options {
	o := &options{current: make(map[int64]bool), settle: defaultSettle}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// reports reports whether findings of this kind are judged.
func (o *options) reports(kind string) bool {
	return kind == detect.Leak.Name || kind == detect.Deadlock.Name || slices.Contains(o.detectors, kind)
}
