package chans_test

import (
	"context"
	"fmt"

	"github.com/blockscope/blockscope/primitives/chans"
)

// A producer sends on a Chan and closes it; the consumer ranges over All.
func Example() {
	c := chans.Make[string](2)
	go func() {
		defer c.Close()
		for _, w := range []string{"one", "two", "three"} {
			c.Send(w)
		}
	}()
	for w := range c.All() {
		fmt.Println(w)
	}
	// Output:
	// one
	// two
	// three
}

// TrySend and TryRecv never block.
func ExampleChan_TrySend() {
	c := chans.Make[int](1)
	fmt.Println(c.TrySend(1), c.TrySend(2))
	v, ok := c.TryRecv()
	fmt.Println(v, ok)
	v, ok = c.TryRecv()
	fmt.Println(v, ok)
	// Output:
	// true false
	// 1 true
	// 0 false
}

// In a select statement, send a message made by Prepare on SendChan and
// report whether it went with Sent or Unsent; pass what a receive from
// RecvChan got to Received.
func ExampleChan_SendChan() {
	c := chans.Make[int](1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 1; i <= 2; i++ {
		if i == 2 {
			cancel() // the Chan is full: give up on the second value
		}
		m := c.Prepare(i)
		select {
		case c.SendChan() <- m:
			c.Sent(m)
			fmt.Println("sent", i)
		case <-ctx.Done():
			c.Unsent(m)
			fmt.Println("gave up on", i)
		}
	}
	c.Close()

	quit := make(chan struct{}) // would stop the receiver early
	for {
		select {
		case m, ok := <-c.RecvChan():
			v, ok := c.Received(m, ok)
			if !ok {
				fmt.Println("closed")
				return
			}
			fmt.Println("received", v)
		case <-quit:
			return
		}
	}
	// Output:
	// sent 1
	// gave up on 2
	// received 1
	// closed
}
