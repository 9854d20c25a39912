// Package many: thirty tests leak a goroutine each at one line: one
// finding, listing the tests.
package many

import (
	"testing"

	"example.com/leaktests/internal/park"
)

func serve(quit chan struct{}) {
	<-quit // want leak error no-waker-alive 30 tests
}

// started counts the goroutines start started, all parked in serve.
var started int

func start() chan struct{} {
	quit := make(chan struct{})
	go serve(quit)
	started++
	park.Wait(started, "many.serve", "chan receive")
	return quit
}

func TestLeak01(t *testing.T) { start() }

func TestLeak02(t *testing.T) { start() }

func TestLeak03(t *testing.T) { start() }

func TestLeak04(t *testing.T) { start() }

func TestLeak05(t *testing.T) { start() }

func TestLeak06(t *testing.T) { start() }

func TestLeak07(t *testing.T) { start() }

func TestLeak08(t *testing.T) { start() }

func TestLeak09(t *testing.T) { start() }

func TestLeak10(t *testing.T) { start() }

func TestLeak11(t *testing.T) { start() }

func TestLeak12(t *testing.T) { start() }

func TestLeak13(t *testing.T) { start() }

func TestLeak14(t *testing.T) { start() }

func TestLeak15(t *testing.T) { start() }

func TestLeak16(t *testing.T) { start() }

func TestLeak17(t *testing.T) { start() }

func TestLeak18(t *testing.T) { start() }

func TestLeak19(t *testing.T) { start() }

func TestLeak20(t *testing.T) { start() }

func TestLeak21(t *testing.T) { start() }

func TestLeak22(t *testing.T) { start() }

func TestLeak23(t *testing.T) { start() }

func TestLeak24(t *testing.T) { start() }

func TestLeak25(t *testing.T) { start() }

func TestLeak26(t *testing.T) { start() }

func TestLeak27(t *testing.T) { start() }

func TestLeak28(t *testing.T) { start() }

func TestLeak29(t *testing.T) { start() }

func TestLeak30(t *testing.T) { start() }

func TestStops(t *testing.T) { close(start()) }
