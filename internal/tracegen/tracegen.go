// Package tracegen records the execution trace of a busy server-like
// workload, of a chosen size, for blockscope's benchmarks.
//
// The workload is what the biggest traces users bring look like: many
// short-lived goroutines (one per request, each fanning out to helpers),
// contended mutexes, channels, selects with timeouts, a weighted
// semaphore, singleflight, WaitGroups and Conds, and a few leaks (a helper
// left blocked on a send after its caller timed out). Every primitive is
// used both from blockscope's primitives (annotated) and from the standard
// library or golang.org/x/sync (plain), so both halves of the analysis do
// work. Nothing is random: the same size gives a trace of the same shape.
package tracegen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/trace"
	"strconv"
	stdsync "sync"
	"sync/atomic"
	"time"

	xsemaphore "golang.org/x/sync/semaphore"
	xsingleflight "golang.org/x/sync/singleflight"

	"github.com/blockscope/blockscope/primitives/semaphore"
	"github.com/blockscope/blockscope/primitives/singleflight"
	"github.com/blockscope/blockscope/primitives/sync"
)

// Stats describes a recorded trace.
type Stats struct {
	Bytes    int64         // bytes written
	Requests int64         // requests served
	Leaked   int           // goroutines left blocked when tracing stopped
	Elapsed  time.Duration // time spent tracing
}

// The workload's shape.
const (
	dispatchers = 8    // goroutines starting requests
	inflight    = 64   // requests in flight at most, per dispatcher
	leakEvery   = 2048 // one request in leakEvery leaks a helper
	workers     = 4    // consumers of the Cond-guarded queues
	// rate bounds the trace's growth, in bytes per second, to what a busy
	// server writes: the runtime starts a generation about every second,
	// so this is also about the size of a generation.
	rate = 12 << 20
)

// Record traces the workload into w until about size bytes have been
// written (the runtime flushes in chunks, so a little more), then stops
// tracing and releases the goroutines it leaked. It fails if tracing is
// already on.
func Record(w io.Writer, size int64) (Stats, error) {
	if size <= 0 {
		return Stats{}, errors.New("tracegen: size must be positive")
	}
	cw := &countingWriter{w: w}
	if err := trace.Start(cw); err != nil {
		return Stats{}, fmt.Errorf("tracegen: %w", err)
	}
	start := time.Now()
	s := newServer()
	s.paced = func() bool { return cw.n.Load() > int64(time.Since(start).Seconds()*rate) }
	s.start()
	for cw.n.Load() < size && cw.err.Load() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	s.stop()
	// Let the abandoned helpers reach their sends before the trace ends.
	time.Sleep(20 * time.Millisecond)
	trace.Stop()
	st := Stats{Bytes: cw.n.Load(), Requests: s.requests.Load(), Leaked: int(s.leaked.Load()), Elapsed: time.Since(start)}
	s.release()
	if err := cw.err.Load(); err != nil {
		return st, fmt.Errorf("tracegen: writing the trace: %w", *err)
	}
	return st, nil
}

type countingWriter struct {
	w   io.Writer
	n   atomic.Int64
	err atomic.Pointer[error]
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	if err != nil {
		c.err.CompareAndSwap(nil, &err)
	}
	return n, err
}

// server holds the shared state requests contend on.
type server struct {
	quit     chan struct{}
	leak     chan struct{} // closed by release: the leaked helpers' way out
	wg       stdsync.WaitGroup
	requests atomic.Int64
	leaked   atomic.Int64
	paced    func() bool // reports whether the trace is ahead of rate

	mu     sync.Mutex    // annotated cache lock
	plain  stdsync.Mutex // plain cache lock
	rw     sync.RWMutex  // guards config
	config int
	cache  map[int]int
	pcache map[int]int

	sem  *semaphore.Weighted  // annotated: bounds the "backend"
	xsem *xsemaphore.Weighted // plain

	sf  singleflight.Group
	xsf xsingleflight.Group

	queue  *jobQueue // annotated Cond
	pqueue *jobQueue // plain Cond
}

func newServer() *server {
	return &server{
		quit:   make(chan struct{}),
		leak:   make(chan struct{}),
		cache:  make(map[int]int),
		pcache: make(map[int]int),
		sem:    semaphore.NewWeighted(6),
		xsem:   xsemaphore.NewWeighted(6),
		queue:  newJobQueue(true),
		pqueue: newJobQueue(false),
	}
}

func (s *server) start() {
	for range workers {
		s.wg.Go(func() { s.queue.work(s.quit) })
		s.wg.Go(func() { s.pqueue.work(s.quit) })
	}
	for d := range dispatchers {
		s.wg.Go(func() { s.dispatch(d) })
	}
}

// stop ends the dispatchers and workers and waits for them and the
// requests they started; leaked helpers stay blocked.
func (s *server) stop() {
	close(s.quit)
	s.queue.wake()
	s.pqueue.wake()
	s.wg.Wait()
}

// release lets the leaked helpers exit.
func (s *server) release() { close(s.leak) }

// dispatch starts requests, a goroutine each, at most inflight at a time.
func (s *server) dispatch(d int) {
	var reqs stdsync.WaitGroup
	slots := make(chan struct{}, inflight)
	for i := 0; ; i++ {
		select {
		case <-s.quit:
			reqs.Wait()
			return
		case slots <- struct{}{}:
		}
		n := int(s.requests.Add(1))
		for n%64 == 0 && s.paced() {
			time.Sleep(2 * time.Millisecond)
		}
		reqs.Go(func() {
			s.handle(d, n)
			<-slots
		})
	}
}

// handle serves one request: a cache lookup under a lock, a fan-out to
// helpers with a deadline, a bounded backend call, a deduplicated fetch
// and a job handed to the queue workers.
func (s *server) handle(d, n int) {
	key := n % 97
	if n%2 == 0 {
		s.mu.Lock()
		s.cache[key]++
		s.mu.Unlock()
	} else {
		s.plain.Lock()
		s.pcache[key]++
		s.plain.Unlock()
	}
	if n%5 == 0 {
		s.rw.RLock()
		_ = s.config
		s.rw.RUnlock()
	} else if n%503 == 0 {
		s.rw.Lock()
		s.config++
		s.rw.Unlock()
	}

	s.fanOut(n)

	ctx := context.Background()
	switch n % 4 {
	case 0:
		if s.sem.Acquire(ctx, 1) == nil {
			spin(200)
			s.sem.Release(1)
		}
	case 1:
		if s.xsem.Acquire(ctx, 1) == nil {
			spin(200)
			s.xsem.Release(1)
		}
	case 2:
		s.sf.Do(strconv.Itoa(key%8), func() (any, error) { spin(300); return key, nil })
	case 3:
		s.xsf.Do(strconv.Itoa(key%8), func() (any, error) { spin(300); return key, nil })
	}

	if n%3 == 0 {
		s.queue.push(n)
	} else if n%3 == 1 {
		s.pqueue.push(n)
	}
}

// fanOut asks helpers for parts of the answer and waits for them, or for
// a deadline. One request in leakEvery gives up at once, abandoning a
// helper blocked on an unbuffered send: the classic timeout leak.
func (s *server) fanOut(n int) {
	if n%leakEvery == 0 {
		res := make(chan int)
		go func() {
			select {
			case res <- n:
			case <-s.leak:
			}
		}()
		s.leaked.Add(1)
		select {
		case v := <-res:
			_ = v
			s.leaked.Add(-1)
		default:
		}
		return
	}
	helpers := 1 + n%3
	res := make(chan int, helpers)
	if n%2 == 0 {
		var wg sync.WaitGroup
		for h := range helpers {
			wg.Go(func() { spin(50); res <- h })
		}
		wg.Wait()
	} else {
		var wg stdsync.WaitGroup
		for h := range helpers {
			wg.Go(func() { spin(50); res <- h })
		}
		wg.Wait()
	}
	timeout := time.NewTimer(time.Millisecond)
	defer timeout.Stop()
	for range helpers {
		select {
		case <-res:
		case <-timeout.C:
			return
		}
	}
}

// spin burns a little CPU, as real work between synchronizations does.
func spin(n int) int {
	x := 0
	for i := range n {
		x += i * i
	}
	return x
}

// jobQueue is a queue guarded by a Mutex and a Cond: blockscope's
// annotated ones, or the standard library's.
type jobQueue struct {
	mu   stdsync.Locker
	cond interface {
		Wait()
		Signal()
		Broadcast()
	}
	jobs []int
}

func newJobQueue(annotated bool) *jobQueue {
	q := &jobQueue{}
	if annotated {
		mu := new(sync.Mutex)
		q.mu, q.cond = mu, sync.NewCond(mu)
	} else {
		mu := new(stdsync.Mutex)
		q.mu, q.cond = mu, stdsync.NewCond(mu)
	}
	return q
}

func (q *jobQueue) push(j int) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *jobQueue) wake() {
	q.mu.Lock()
	q.cond.Broadcast()
	q.mu.Unlock()
}

func (q *jobQueue) work(quit <-chan struct{}) {
	for {
		q.mu.Lock()
		for len(q.jobs) == 0 {
			select {
			case <-quit:
				q.mu.Unlock()
				return
			default:
			}
			q.cond.Wait()
		}
		j := q.jobs[0]
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		spin(j % 100)
	}
}
