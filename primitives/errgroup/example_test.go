package errgroup_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/blockscope/blockscope/primitives/errgroup"
)

// A Group in place of a sync.WaitGroup: Wait returns the first error.
func ExampleGroup() {
	var g errgroup.Group
	results := make([]int, 4)
	for i := range results {
		g.Go(func() error {
			if i == 2 {
				return fmt.Errorf("task %d failed", i)
			}
			results[i] = i * i
			return nil
		})
	}
	err := g.Wait()
	fmt.Println(results, err)
	// Output: [0 1 0 9] task 2 failed
}

// The first error cancels the Context derived by WithContext, with the error
// as its cause, so the other goroutines can stop early.
func ExampleWithContext() {
	g, ctx := errgroup.WithContext(context.Background())
	errDisk := errors.New("disk full")
	g.Go(func() error {
		<-ctx.Done() // a long task that gives up when cancelled
		return ctx.Err()
	})
	g.Go(func() error { return errDisk })
	err := g.Wait()
	fmt.Println(err)
	fmt.Println(context.Cause(ctx))
	// Output:
	// disk full
	// disk full
}

// SetLimit bounds the number of goroutines running at once: Go blocks and
// TryGo fails at the bound.
func ExampleGroup_SetLimit() {
	var g errgroup.Group
	g.SetLimit(1)
	release := make(chan struct{})
	g.Go(func() error {
		<-release
		return nil
	})
	fmt.Println(g.TryGo(func() error { return nil }))
	close(release)
	fmt.Println(g.Wait())
	// Output:
	// false
	// <nil>
}
