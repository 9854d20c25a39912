package singleflight_test

import (
	"fmt"
	"sync"

	"github.com/blockscope/blockscope/primitives/singleflight"
)

// ExampleGroup collapses three concurrent requests for the same user into
// one lookup.
func ExampleGroup() {
	var g singleflight.Group
	g.SetName("user lookups") // shown by blockscope when the program is traced

	lookups := 0
	release := make(chan struct{})
	lookup := func() (any, error) {
		lookups++
		<-release // a slow backend
		return "Ada Lovelace", nil
	}

	// The first call starts the lookup; DoChan does not wait for it.
	first := g.DoChan("user:42", lookup)

	// Two more calls for the same key join the lookup in progress.
	var wg sync.WaitGroup
	results := make([]singleflight.Result, 2)
	for i := range results {
		ch := g.DoChan("user:42", lookup)
		wg.Go(func() { results[i] = <-ch })
	}
	close(release)
	wg.Wait()
	r := <-first

	fmt.Println(r.Val, r.Shared)
	for _, r := range results {
		fmt.Println(r.Val, r.Shared)
	}
	fmt.Println("lookups:", lookups)
	// Output:
	// Ada Lovelace true
	// Ada Lovelace true
	// Ada Lovelace true
	// lookups: 1
}
