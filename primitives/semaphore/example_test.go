package semaphore_test

import (
	"context"
	"fmt"

	"github.com/blockscope/blockscope/primitives/semaphore"
)

// ExampleWeighted bounds the work in progress by its cost: jobs of
// different weights share a budget of 4, and the last Acquire of the whole
// budget waits for every job to finish.
func ExampleWeighted() {
	ctx := context.Background()
	sem := semaphore.NewWeighted(4)
	sem.SetName("job budget") // shown by blockscope when the program is traced

	weights := []int64{1, 3, 2, 4, 1}
	results := make([]int64, len(weights))
	for i, w := range weights {
		if err := sem.Acquire(ctx, w); err != nil {
			fmt.Println("acquire:", err)
			return
		}
		go func() {
			defer sem.Release(w)
			results[i] = w * w
		}()
	}
	if err := sem.Acquire(ctx, 4); err != nil {
		fmt.Println("acquire:", err)
		return
	}
	fmt.Println(results)
	sem.Release(4)
	fmt.Println("whole budget free again:", sem.TryAcquire(4))
	// Output:
	// [1 9 4 16 1]
	// whole budget free again: true
}
