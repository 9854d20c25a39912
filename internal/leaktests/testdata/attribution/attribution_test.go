// Package attribution: an example and a subtest that leak; the trace
// names the example and the subtest's top-level test.
package attribution

import (
	"fmt"
	"testing"
)

func wait(ch chan int) {
	<-ch // want leak error no-waker-alive Example_leak,TestParent(subtest)
}

func Example_leak() {
	go wait(make(chan int))
	fmt.Println("started")
	// Output: started
}

func TestParent(t *testing.T) {
	t.Run("child", func(t *testing.T) {
		go wait(make(chan int))
	})
}
