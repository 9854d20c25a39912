package main

import (
	"sync"
	"time"
)

// wakeLater is received from by a goroutine that blocks before the trace
// starts and is woken inside it.
var wakeLater = make(chan int)

// preexistingBefore blocks goroutines before tracing starts: the trace
// knows them only from its status events, which carry a stack but no
// reason.
func preexistingBefore() {
	var mu sync.Mutex
	mu.Lock()
	c := sync.NewCond(new(sync.Mutex))
	go func() { make(chan int) <- 1 }()   // want chan send leak
	go func() { <-make(chan int) }()      // want chan receive leak
	go func() { select {} }()             // want forever leak
	go func() { mu.Lock() }()             // want sync leak
	go func() { c.L.Lock(); c.Wait() }()  // want sync.(*Cond).Wait leak
	go func() { time.Sleep(time.Hour) }() // want sleep
	go preexistingWoken()
	time.Sleep(settle) // all of them block before the trace starts
}

func preexistingWoken() {
	<-wakeLater // blocks before the trace, woken inside it
}

// preexistingDuring wakes one of preexistingBefore's goroutines.
func preexistingDuring() {
	wakeLater <- 1 // waker
	time.Sleep(settle)
}
