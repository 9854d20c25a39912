package sync_test

import (
	"fmt"
	"sort"

	"github.com/blockscope/blockscope/primitives/sync"
)

// A counter shared by many goroutines, exactly as with the standard
// library's sync.Mutex: only the import path differs.
func ExampleMutex() {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		count int
	)
	mu.SetName("count") // names the mutex in execution traces; optional
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				mu.Lock()
				count++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	fmt.Println(count, mu.Locked(), mu.Waiters())
	// Output: 1000 false 0
}

// Readers share the lock; a writer has it alone.
func ExampleRWMutex() {
	var (
		rw     sync.RWMutex
		prices = map[string]int{"apple": 3}
	)
	get := func(item string) int {
		rw.RLock()
		defer rw.RUnlock()
		return prices[item]
	}
	set := func(item string, price int) {
		rw.Lock()
		defer rw.Unlock()
		prices[item] = price
	}
	set("pear", 4)
	fmt.Println(get("apple"), get("pear"))
	// Output: 3 4
}

// A queue whose consumers wait on a Cond until an item arrives.
func ExampleCond() {
	var (
		mu    sync.Mutex
		ready = sync.NewCond(&mu)
		queue []string
		wg    sync.WaitGroup
		got   []string
	)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			for len(queue) == 0 {
				ready.Wait()
			}
			got = append(got, queue[0])
			queue = queue[1:]
		}()
	}
	for _, item := range []string{"a", "b", "c"} {
		mu.Lock()
		queue = append(queue, item)
		mu.Unlock()
		ready.Signal()
	}
	wg.Wait()
	sort.Strings(got)
	fmt.Println(got)
	// Output: [a b c]
}

// A method that holds the lock calls another that takes it too.
func ExampleReentrantMutex() {
	type account struct {
		mu      sync.ReentrantMutex
		balance int
	}
	var a account
	var deposit func(n int)
	deposit = func(n int) {
		a.mu.Lock()
		defer a.mu.Unlock()
		if n > 100 { // split large deposits, re-entering the lock
			deposit(n / 2)
			deposit(n - n/2)
			return
		}
		a.balance += n
		fmt.Println("deposit", n, "at depth", a.mu.Depth())
	}
	deposit(250)
	fmt.Println("balance", a.balance, "held", a.mu.Held())
	// Output:
	// deposit 62 at depth 3
	// deposit 63 at depth 3
	// deposit 62 at depth 3
	// deposit 63 at depth 3
	// balance 250 held false
}

// TryLock does not wait: it fails while the mutex is held.
func ExampleMutex_TryLock() {
	var mu sync.Mutex
	fmt.Println(mu.TryLock())
	fmt.Println(mu.TryLock())
	mu.Unlock()
	// Output:
	// true
	// false
}
