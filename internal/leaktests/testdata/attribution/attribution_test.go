// Package attribution: an example and a subtest that leak; the trace
// names the example and the subtest's top-level test.
package attribution

import (
	"fmt"
	"testing"

	"example.com/leaktests/internal/park"
)

func wait(ch chan int) {
	<-ch // want leak error no-waker-alive Example_leak,TestParent(subtest)
}

func Example_leak() {
	go wait(make(chan int))
	park.Wait(2, "attribution.wait", "chan receive") // TestParent's, and this one (tests run first)
	fmt.Println("started")
	// Output: started
}

func TestParent(t *testing.T) {
	t.Run("child", func(t *testing.T) {
		go wait(make(chan int))
		park.Wait(1, "attribution.wait", "chan receive")
	})
}
