// Package demo is the program `blockscope demo` traces: the classic timeout
// leak and a contended mutex, in a few milliseconds.
package demo

import (
	"sync"
	"time"
)

// Run leaks one goroutine and contends a mutex, then returns.
func Run() {
	contend()
	done := make(chan struct{})
	go handle(done) // a request handler
	<-done
	time.Sleep(30 * time.Millisecond) // the program goes on; the sender is stuck by now
}

// handle serves one request whose backend call times out.
func handle(done chan<- struct{}) {
	defer close(done)
	_, _ = fetch(5 * time.Millisecond)
}

// fetch waits for a result at most timeout. When the timeout wins, nobody
// will ever receive from ch and the sending goroutine leaks: ch needs a
// buffer of one.
func fetch(timeout time.Duration) (int, bool) {
	ch := make(chan int)
	go func() {
		time.Sleep(2 * timeout) // slow work
		ch <- 42                // blocks forever once fetch has returned
	}()
	select {
	case v := <-ch:
		return v, true
	case <-time.After(timeout):
		return 0, false
	}
}

// contend has three goroutines hold one mutex for 2 ms each.
func contend() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			time.Sleep(2 * time.Millisecond)
			mu.Unlock()
		}()
	}
	wg.Wait()
}
