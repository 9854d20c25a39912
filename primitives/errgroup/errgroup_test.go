package errgroup_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	xerrgroup "golang.org/x/sync/errgroup"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/primitives/errgroup"
)

// group is the API both implementations share.
type group interface {
	Go(f func() error)
	TryGo(f func() error) bool
	SetLimit(n int)
	Wait() error
}

// impl makes groups of one implementation.
type impl struct {
	name        string
	zero        func() group
	withContext func(ctx context.Context) (group, context.Context)
}

var impls = []impl{
	{
		name: "blockscope",
		zero: func() group { return new(errgroup.Group) },
		withContext: func(ctx context.Context) (group, context.Context) {
			return errgroup.WithContext(ctx)
		},
	},
	{
		name: "x/sync",
		zero: func() group { return new(xerrgroup.Group) },
		withContext: func(ctx context.Context) (group, context.Context) {
			return xerrgroup.WithContext(ctx)
		},
	},
}

var (
	errFirst  = errors.New("first")
	errSecond = errors.New("second")
	errParent = errors.New("parent")
)

// describeCtx summarizes a context's state: its error and cause.
func describeCtx(ctx context.Context) string {
	return fmt.Sprintf("err=%v cause=%v", ctx.Err(), context.Cause(ctx))
}

// waitBlockedInGo waits until some goroutine is blocked sending in an
// errgroup Go (on the limit), failing the test after a generous hang guard.
func waitBlockedInGo(t *testing.T) {
	t.Helper()
	tracetest.WaitParked(t, 1, "errgroup.(*Group).Go(", "chan send")
}

// TestSameAsXSync runs each scenario against both implementations and
// requires both to give the wanted outcome.
func TestSameAsXSync(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, im impl) string
		want string
	}{
		{
			name: "zero group, no goroutines",
			run: func(t *testing.T, im impl) string {
				return fmt.Sprint(im.zero().Wait())
			},
			want: "<nil>",
		},
		{
			name: "context, no goroutines",
			run: func(t *testing.T, im impl) string {
				g, ctx := im.withContext(context.Background())
				before := describeCtx(ctx)
				err := g.Wait()
				return fmt.Sprintf("before: %s; wait=%v; after: %s", before, err, describeCtx(ctx))
			},
			want: "before: err=<nil> cause=<nil>; wait=<nil>; after: err=context canceled cause=context canceled",
		},
		{
			name: "all succeed",
			run: func(t *testing.T, im impl) string {
				g, ctx := im.withContext(context.Background())
				var n atomic.Int64
				ran := make(chan struct{}, 10)
				for range 10 {
					g.Go(func() error {
						n.Add(1)
						ran <- struct{}{}
						return nil
					})
				}
				for range 10 {
					<-ran
				}
				before := describeCtx(ctx)
				err := g.Wait()
				return fmt.Sprintf("ran=%d before: %s; wait=%v; after: %s", n.Load(), before, err, describeCtx(ctx))
			},
			want: "ran=10 before: err=<nil> cause=<nil>; wait=<nil>; after: err=context canceled cause=context canceled",
		},
		{
			name: "first error wins and cancels with cause",
			run: func(t *testing.T, im impl) string {
				g, ctx := im.withContext(context.Background())
				g.Go(func() error {
					<-ctx.Done() // returns only after the first error cancelled ctx
					return errSecond
				})
				g.Go(func() error { return errFirst })
				<-ctx.Done()
				during := describeCtx(ctx)
				err := g.Wait()
				return fmt.Sprintf("during: %s; wait=%v; after: %s", during, err, describeCtx(ctx))
			},
			want: "during: err=context canceled cause=first; wait=first; after: err=context canceled cause=first",
		},
		{
			name: "zero group returns the error",
			run: func(t *testing.T, im impl) string {
				g := im.zero()
				for i := range 5 {
					g.Go(func() error {
						if i == 3 {
							return errFirst
						}
						return nil
					})
				}
				return fmt.Sprint(g.Wait())
			},
			want: "first",
		},
		{
			name: "error is kept after reuse",
			run: func(t *testing.T, im impl) string {
				g := im.zero()
				g.Go(func() error { return errFirst })
				err1 := g.Wait()
				g.Go(func() error { return errSecond })
				err2 := g.Wait()
				return fmt.Sprintf("%v %v", err1, err2)
			},
			want: "first first",
		},
		{
			name: "parent cancelled",
			run: func(t *testing.T, im impl) string {
				parent, cancel := context.WithCancelCause(context.Background())
				g, ctx := im.withContext(parent)
				g.Go(func() error {
					<-ctx.Done()
					return nil
				})
				cancel(errParent)
				err := g.Wait()
				return fmt.Sprintf("wait=%v; %s", err, describeCtx(ctx))
			},
			want: "wait=<nil>; err=context canceled cause=parent",
		},
		{
			name: "goroutine calls Goexit",
			run: func(t *testing.T, im impl) string {
				g, ctx := im.withContext(context.Background())
				g.Go(func() error {
					runtime.Goexit()
					return errFirst
				})
				g.Go(func() error { return nil })
				err := g.Wait()
				return fmt.Sprintf("wait=%v; %s", err, describeCtx(ctx))
			},
			want: "wait=<nil>; err=context canceled cause=context canceled",
		},
		{
			name: "nested Go",
			run: func(t *testing.T, im impl) string {
				g := im.zero()
				var n atomic.Int64
				g.Go(func() error {
					for range 20 {
						g.Go(func() error {
							n.Add(1)
							return nil
						})
					}
					return nil
				})
				err := g.Wait()
				return fmt.Sprintf("wait=%v ran=%d", err, n.Load())
			},
			want: "wait=<nil> ran=20",
		},
		{
			name: "TryGo false at limit",
			run: func(t *testing.T, im impl) string {
				g := im.zero()
				g.SetLimit(2)
				release := make(chan struct{})
				var oks []bool
				for range 3 {
					oks = append(oks, g.TryGo(func() error {
						<-release
						return nil
					}))
				}
				close(release)
				err := g.Wait()
				after := g.TryGo(func() error { return nil })
				err2 := g.Wait()
				return fmt.Sprintf("%v wait=%v after=%v wait=%v", oks, err, after, err2)
			},
			want: "[true true false] wait=<nil> after=true wait=<nil>",
		},
		{
			name: "limit zero",
			run: func(t *testing.T, im impl) string {
				g := im.zero()
				g.SetLimit(0)
				ok := g.TryGo(func() error { return nil })
				return fmt.Sprintf("trygo=%v wait=%v", ok, g.Wait())
			},
			want: "trygo=false wait=<nil>",
		},
		{
			name: "Go blocks at limit",
			run: func(t *testing.T, im impl) string {
				g := im.zero()
				g.SetLimit(1)
				release := make(chan struct{})
				g.Go(func() error {
					<-release
					return nil
				})
				var secondRan atomic.Bool
				returned := make(chan struct{})
				go func() {
					g.Go(func() error {
						secondRan.Store(true)
						return nil
					})
					close(returned)
				}()
				waitBlockedInGo(t)
				var blocked bool
				select {
				case <-returned:
				default:
					blocked = !secondRan.Load()
				}
				close(release)
				<-returned
				err := g.Wait()
				return fmt.Sprintf("blocked=%v wait=%v secondRan=%v", blocked, err, secondRan.Load())
			},
			want: "blocked=true wait=<nil> secondRan=true",
		},
		{
			name: "SetLimit while active panics",
			run: func(t *testing.T, im impl) string {
				g := im.zero()
				g.SetLimit(3)
				release := make(chan struct{})
				for range 2 {
					g.Go(func() error {
						<-release
						return nil
					})
				}
				r := func() (r any) {
					defer func() { r = recover() }()
					g.SetLimit(5)
					return nil
				}()
				close(release)
				g.Wait()
				_, isErr := r.(error)
				return fmt.Sprintf("panic=%v error=%v", r, isErr)
			},
			want: "panic=errgroup: modify limit while 2 goroutines in the group are still active error=true",
		},
		{
			name: "negative limit removes the limit while active",
			run: func(t *testing.T, im impl) string {
				g := im.zero()
				g.SetLimit(1)
				release := make(chan struct{})
				block := func() error {
					<-release
					return nil
				}
				g.Go(block)
				g.SetLimit(-1)
				oks := []bool{g.TryGo(block), g.TryGo(block), g.TryGo(block)}
				close(release)
				return fmt.Sprintf("%v wait=%v", oks, g.Wait())
			},
			want: "[true true true] wait=<nil>",
		},
		{
			name: "limit bounds active goroutines",
			run: func(t *testing.T, im impl) string {
				g := im.zero()
				g.SetLimit(3)
				var active, most, total atomic.Int64
				for range 200 {
					g.Go(func() error {
						a := active.Add(1)
						for {
							m := most.Load()
							if a <= m || most.CompareAndSwap(m, a) {
								break
							}
						}
						runtime.Gosched()
						active.Add(-1)
						total.Add(1)
						return nil
					})
				}
				err := g.Wait()
				return fmt.Sprintf("wait=%v total=%d most<=3:%v", err, total.Load(), most.Load() <= 3)
			},
			want: "wait=<nil> total=200 most<=3:true",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, im := range impls {
				if got := tt.run(t, im); got != tt.want {
					t.Errorf("%s: got %q; want %q", im.name, got, tt.want)
				}
			}
		})
	}
}

// TestStress has many goroutines calling Go, TryGo and Wait on groups with
// and without a limit, for the race detector.
func TestStress(t *testing.T) {
	for _, limit := range []int{-1, 1, 4} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			for range 20 {
				g, ctx := errgroup.WithContext(context.Background())
				g.SetLimit(limit)
				var shared, started atomic.Int64
				var mu sync.Mutex
				sum := 0
				var callers sync.WaitGroup
				for c := range 4 {
					callers.Add(1)
					go func() {
						defer callers.Done()
						for i := range 25 {
							f := func() error {
								mu.Lock()
								sum++
								mu.Unlock()
								shared.Add(1)
								if c == 3 && i == 24 {
									return errFirst
								}
								return nil
							}
							if i%2 == 0 {
								g.Go(f)
								started.Add(1)
							} else if g.TryGo(f) {
								started.Add(1)
							}
						}
					}()
				}
				callers.Wait()
				err := g.Wait()
				if shared.Load() != started.Load() || int64(sum) != started.Load() {
					t.Fatalf("ran %d (sum %d) of %d started goroutines", shared.Load(), sum, started.Load())
				}
				if err != errFirst { // the last Go of caller 3 fails
					t.Fatalf("Wait() = %v; want %v", err, errFirst)
				}
				if ctx.Err() == nil {
					t.Fatalf("ctx.Err() = nil after Wait; want %v", context.Canceled)
				}
			}
		})
	}
}
