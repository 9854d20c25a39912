package sync_test

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/blockscope/blockscope/primitives/sync"
)

func ExampleOnce() {
	var once sync.Once
	onceBody := func() {
		fmt.Println("Only once")
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			once.Do(onceBody)
		})
	}
	wg.Wait()
	// Output:
	// Only once
}

// ExampleOnceErr connects lazily, retrying after a failure until a
// connection succeeds; after that, Do returns nil without calling f.
func ExampleOnceErr() {
	var (
		connect  sync.OnceErr
		attempts int
	)
	dial := func() error {
		attempts++
		if attempts < 3 {
			return fmt.Errorf("attempt %d: %w", attempts, errors.New("connection refused"))
		}
		fmt.Printf("attempt %d: connected\n", attempts)
		return nil
	}
	for range 5 {
		if err := connect.Do(dial); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("done:", connect.Done(), "attempts:", attempts)
	// Output:
	// attempt 1: connection refused
	// attempt 2: connection refused
	// attempt 3: connected
	// done: true attempts: 3
}

func ExampleWaitGroup_Go() {
	urls := []string{
		"http://www.golang.org/",
		"http://www.google.com/",
		"http://www.example.com/",
	}
	var (
		wg      sync.WaitGroup
		fetched = make([]bool, len(urls))
		count   atomic.Int32
	)
	for i := range urls {
		// Go starts the task and adds it to the group; Wait returns once
		// every task has returned.
		wg.Go(func() {
			fetched[i] = true // stands for fetching urls[i]
			count.Add(1)
		})
	}
	wg.Wait()
	fmt.Println(count.Load(), "fetched:", !slices.Contains(fetched, false))
	// Output:
	// 3 fetched: true
}

func ExampleOnceValue() {
	calls := 0
	config := sync.OnceValue(func() map[string]string {
		calls++
		return map[string]string{"mode": "fast"}
	})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_ = config()["mode"]
		})
	}
	wg.Wait()
	fmt.Println(config()["mode"], "computed", calls, "time(s)")
	// Output:
	// fast computed 1 time(s)
}
