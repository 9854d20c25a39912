package main

import (
	"runtime"
	"sync"
	"time"
)

// blocked leaves goroutines blocked in every way the parser tells apart,
// and wakes one goroutine from another.
func blocked() {
	chanSend()
	chanReceive()
	selectNever()
	nilChannel()
	mutexHeld()
	rwMutexHeld()
	waitGroupNeverDone()
	condNeverSignalled()
	sleeper()
	sameLine()
	nested()
	wakeOne()
	exits()
	time.Sleep(settle)
}

func chanSend() {
	ch := make(chan int)
	go func() {
		ch <- 1 // want chan send leak
	}()
}

func chanReceive() {
	ch := make(chan int)
	go func() {
		<-ch // want chan receive leak
	}()
}

func selectNever() {
	a, b := make(chan int), make(chan string)
	go func() {
		select { // want select leak
		case <-a:
		case b <- "":
		}
	}()
}

func nilChannel() {
	go func() {
		var ch chan int
		<-ch // want forever leak
	}()
}

func mutexHeld() {
	var mu sync.Mutex
	mu.Lock()
	go func() {
		mu.Lock() // want sync leak
	}()
}

func rwMutexHeld() {
	var mu sync.RWMutex
	mu.Lock()
	go func() {
		mu.RLock() // want sync leak
	}()
}

func waitGroupNeverDone() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		wg.Wait() // want sync leak
	}()
}

func condNeverSignalled() {
	c := sync.NewCond(new(sync.Mutex))
	go func() {
		c.L.Lock()
		c.Wait() // want sync.(*Cond).Wait leak
	}()
}

func sleeper() {
	go func() {
		time.Sleep(time.Hour) // want sleep
	}()
}

// sameLine leaks five goroutines at one line: one stack, one finding.
func sameLine() {
	ch := make(chan int)
	for range 5 {
		go sendOn(ch)
	}
}

func sendOn(ch chan int) {
	ch <- 1 // want chan send leak x5
}

// nested has main start a goroutine that starts the one that leaks.
func nested() {
	go nestedParent() // go nestedParent
}

func nestedParent() {
	ch := make(chan int)
	go nestedChild(ch) // go nestedChild
}

func nestedChild(ch chan int) {
	ch <- 1 // want chan send leak
}

// wakeOne has wakeSender wake wokenReceiver, then both exit.
func wakeOne() {
	ch := make(chan int)
	go wokenReceiver(ch)
	time.Sleep(2 * time.Millisecond) // let the receiver block first
	go wakeSender(ch)
}

func wokenReceiver(ch chan int) {
	<-ch // woken
}

func wakeSender(ch chan int) {
	ch <- 1 // waker
}

// exits starts ten goroutines that run and exit.
func exits() {
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go exiter(&wg)
	}
	wg.Wait()
}

func exiter(wg *sync.WaitGroup) {
	runtime.Gosched()
	wg.Done()
}
