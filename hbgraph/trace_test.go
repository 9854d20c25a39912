package hbgraph_test

import (
	"bytes"
	"context"
	"runtime/trace"
	"strings"
	stdsync "sync"
	"testing"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/primitives/chans"
	"github.com/blockscope/blockscope/primitives/errgroup"
	"github.com/blockscope/blockscope/primitives/semaphore"
	"github.com/blockscope/blockscope/primitives/singleflight"
	"github.com/blockscope/blockscope/primitives/sync"
)

// Traces recorded in this process from small programs: for each rule, the
// edge must be there, and the goroutines it does not order stay concurrent.
// The programs' goroutines run named functions, so their lanes can be found
// by entry function.

// record runs f while recording an execution trace and returns its graph.
func record(t *testing.T, f func()) *hbgraph.Graph {
	t.Helper()
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("cannot start tracing: %v", err)
	}
	f()
	trace.Stop()
	b := hbgraph.NewBuilder(hbgraph.Options{})
	if _, err := parse.Parse(&buf, parse.Options{Path: t.Name()}, b); err != nil {
		t.Fatalf("parse.Parse: %v", err)
	}
	g := b.Graph()
	if len(g.Warnings) > 0 {
		t.Errorf("Warnings = %q; want none", g.Warnings)
	}
	return g
}

// waitBlocked waits until a goroutine running fn is parked in one of the
// states (as runtime.Stack shows them: "chan receive", "sync.Mutex.Lock").
// Naming the state keeps it from taking a goroutine that waits somewhere
// else in fn for a moment (say, for a GC cycle to start) for one parked
// where the test wants it.
func waitBlocked(t *testing.T, fn string, states ...string) {
	t.Helper()
	tracetest.WaitParked(t, 1, "hbgraph_test."+fn+"(", states...)
}

// laneOf returns the lane of the one goroutine that started in fn.
func laneOf(t *testing.T, g *hbgraph.Graph, fn string) *hbgraph.Lane {
	t.Helper()
	var found *hbgraph.Lane
	for i, l := range g.Lanes() {
		if strings.HasSuffix(l.Entry, "hbgraph_test."+fn) {
			if found != nil {
				t.Fatalf("two goroutines started in %s", fn)
			}
			found = &g.Lanes()[i]
		}
	}
	if found == nil {
		t.Fatalf("no goroutine started in %s", fn)
	}
	return found
}

// nodeIn returns the nth (from 1; -1: the last) node of lane l that
// matches.
func nodeIn(t *testing.T, g *hbgraph.Graph, l *hbgraph.Lane, nth int, match func(hbgraph.Node) bool) hbgraph.NodeID {
	t.Helper()
	var ids []hbgraph.NodeID
	for _, id := range l.Nodes {
		if match(g.Node(id)) {
			ids = append(ids, id)
		}
	}
	switch {
	case nth == -1 && len(ids) > 0:
		return ids[len(ids)-1]
	case nth >= 1 && nth <= len(ids):
		return ids[nth-1]
	}
	t.Fatalf("G%d (%s) has %d matching nodes; want a %dth", l.G, l.Entry, len(ids), nth)
	return hbgraph.NoNode
}

func kind(k hbgraph.NodeKind) func(hbgraph.Node) bool {
	return func(n hbgraph.Node) bool { return n.Kind == k }
}

// waitFor matches the block or wake of a wait with that reason (a
// goroutine may also block, say, to be preempted).
func waitFor(k hbgraph.NodeKind, reason string) func(hbgraph.Node) bool {
	return func(n hbgraph.Node) bool { return n.Kind == k && n.Reason == reason }
}

func op(p wire.Kind, o wire.Op) func(hbgraph.Node) bool {
	return func(n hbgraph.Node) bool { return n.Kind == hbgraph.NodeAnnotation && n.Prim == p && n.Op == o }
}

// edgesBetween counts the edges of a rule from lane a to lane b.
func edgesBetween(g *hbgraph.Graph, a, b *hbgraph.Lane, r hbgraph.Rule) int {
	n := 0
	for _, e := range g.Edges() {
		if e.Rule == r && g.Node(e.From).G == a.G && g.Node(e.To).G == b.G {
			n++
		}
	}
	return n
}

// wantEdge checks that an edge of rule r goes from node from to node to.
func wantEdge(t *testing.T, g *hbgraph.Graph, from, to hbgraph.NodeID, r hbgraph.Rule) {
	t.Helper()
	for _, e := range g.Out(from) {
		if e.To == to && e.Rule == r {
			return
		}
	}
	t.Errorf("no %s edge from G%d %s to G%d %s; out: %v", r, g.Node(from).G, g.Label(from), g.Node(to).G, g.Label(to), g.Out(from))
}

func wantOrder(t *testing.T, g *hbgraph.Graph, a, b hbgraph.NodeID, want bool) {
	t.Helper()
	if got := g.HappensBefore(a, b); got != want {
		t.Errorf("HappensBefore(G%d %s, G%d %s) = %v; want %v", g.Node(a).G, g.Label(a), g.Node(b).G, g.Label(b), got, want)
	}
}

func wantConcurrent(t *testing.T, g *hbgraph.Graph, a, b hbgraph.NodeID) {
	t.Helper()
	if !g.Concurrent(a, b) {
		t.Errorf("Concurrent(G%d %s, G%d %s) = false; want true", g.Node(a).G, g.Label(a), g.Node(b).G, g.Label(b))
	}
}

// The programs' goroutines.

func idleA(wg *stdsync.WaitGroup) { wg.Done() }
func idleB(wg *stdsync.WaitGroup) { wg.Done() }

func recvOne(ch <-chan int, done chan<- struct{}) { <-ch; close(done) }
func sendOne(ch chan<- int)                       { ch <- 1 }

func holdStdMutex(mu *stdsync.Mutex, release <-chan struct{}, done *stdsync.WaitGroup) {
	defer done.Done()
	mu.Lock()
	<-release
	mu.Unlock()
}

func waitStdMutex(mu *stdsync.Mutex, done *stdsync.WaitGroup) {
	defer done.Done()
	mu.Lock()
	mu.Unlock()
}

func holdMutex(mu *sync.Mutex, release <-chan struct{}, done *stdsync.WaitGroup) {
	defer done.Done()
	mu.Lock()
	<-release
	mu.Unlock()
}

func waitMutex(mu *sync.Mutex, done *stdsync.WaitGroup) {
	defer done.Done()
	mu.Lock()
	mu.Unlock()
}

func otherMutex(mu *sync.Mutex, done *stdsync.WaitGroup) {
	defer done.Done()
	mu.Lock()
	mu.Unlock()
}

func readerA(rw *sync.RWMutex, wg *stdsync.WaitGroup) { defer wg.Done(); rw.RLock(); rw.RUnlock() }
func readerB(rw *sync.RWMutex, wg *stdsync.WaitGroup) { defer wg.Done(); rw.RLock(); rw.RUnlock() }

func condWaiter(c *sync.Cond, ready *bool, done *stdsync.WaitGroup) {
	defer done.Done()
	c.L.Lock()
	for !*ready {
		c.Wait()
	}
	c.L.Unlock()
}

func onceRunner(o *sync.Once, release <-chan struct{}, done *stdsync.WaitGroup) {
	defer done.Done()
	o.Do(func() { <-release })
}

func onceWaiter(o *sync.Once, done *stdsync.WaitGroup) {
	defer done.Done()
	o.Do(func() { panic("hbgraph_test: once ran twice") })
}

func wgWorkerA(wg *sync.WaitGroup) { wg.Done() }
func wgWorkerB(wg *sync.WaitGroup) { wg.Done() }

func semaHolder(s *semaphore.Weighted, release <-chan struct{}, done *stdsync.WaitGroup) {
	defer done.Done()
	if err := s.Acquire(context.Background(), 1); err != nil {
		panic(err)
	}
	<-release
	s.Release(1)
}

func semaWaiter(s *semaphore.Weighted, done *stdsync.WaitGroup) {
	defer done.Done()
	if err := s.Acquire(context.Background(), 1); err != nil {
		panic(err)
	}
	s.Release(1)
}

func sfLeader(g *singleflight.Group, release <-chan struct{}, done *stdsync.WaitGroup) {
	defer done.Done()
	g.Do("k", func() (any, error) { <-release; return 1, nil })
}

func sfFollower(g *singleflight.Group, done *stdsync.WaitGroup) {
	defer done.Done()
	g.Do("k", func() (any, error) { panic("hbgraph_test: follower led") })
}

func chanProducer(c *chans.Chan[int]) {
	for i := range 3 {
		c.Send(i)
	}
	c.Close()
}

func chanConsumer(c *chans.Chan[int], done chan<- struct{}) {
	for range c.All() {
	}
	close(done)
}

func TestTraceRules(t *testing.T) {
	tests := []struct {
		name  string
		run   func(t *testing.T)
		check func(t *testing.T, g *hbgraph.Graph)
	}{
		{
			name: "go statement; unrelated goroutines are concurrent",
			run: func(t *testing.T) {
				var wg stdsync.WaitGroup
				wg.Add(2)
				go idleA(&wg)
				go idleB(&wg)
				wg.Wait()
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				a, b := laneOf(t, g, "idleA"), laneOf(t, g, "idleB")
				startA, startB := a.Nodes[0], b.Nodes[0]
				in := g.In(startA)
				if len(in) != 1 || in[0].Rule != hbgraph.RuleGo || g.Node(in[0].From).Kind != hbgraph.NodeGo {
					t.Fatalf("In(G%d start) = %v; want one go edge from a go node", a.G, in)
				}
				// The trace may stop before the goroutines' exits: their
				// last nodes are whatever the trace saw last.
				lastA, lastB := a.Nodes[len(a.Nodes)-1], b.Nodes[len(b.Nodes)-1]
				wantOrder(t, g, in[0].From, lastA, true)
				wantConcurrent(t, g, startA, startB)
				wantConcurrent(t, g, lastA, lastB)
			},
		},
		{
			name: "runtime unblock on a plain channel",
			run: func(t *testing.T) {
				ch, done := make(chan int), make(chan struct{})
				go recvOne(ch, done)
				waitBlocked(t, "recvOne", "chan receive")
				go sendOne(ch)
				<-done
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				r, s := laneOf(t, g, "recvOne"), laneOf(t, g, "sendOne")
				blocked := nodeIn(t, g, r, 1, waitFor(hbgraph.NodeBlock, parse.ReasonChanReceive))
				woken := nodeIn(t, g, r, 1, waitFor(hbgraph.NodeWake, parse.ReasonChanReceive))
				unblock := nodeIn(t, g, s, 1, kind(hbgraph.NodeUnblock))
				wantEdge(t, g, unblock, woken, hbgraph.RuleUnblock)
				if n := g.Node(woken); n.Reason != parse.ReasonChanReceive || n.Peer != s.G {
					t.Errorf("wake = %+v; want reason %q, peer G%d", n, parse.ReasonChanReceive, s.G)
				}
				wantOrder(t, g, s.Nodes[0], woken, true)
				wantConcurrent(t, g, blocked, s.Nodes[0])
			},
		},
		{
			name: "runtime unblock hands a plain sync.Mutex over",
			run: func(t *testing.T) {
				var mu stdsync.Mutex
				var done stdsync.WaitGroup
				release := make(chan struct{})
				done.Add(2)
				go holdStdMutex(&mu, release, &done)
				waitBlocked(t, "holdStdMutex", "chan receive")
				go waitStdMutex(&mu, &done)
				waitBlocked(t, "waitStdMutex", "sync.Mutex.Lock")
				close(release)
				done.Wait()
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				h, w := laneOf(t, g, "holdStdMutex"), laneOf(t, g, "waitStdMutex")
				blocked := nodeIn(t, g, w, 1, waitFor(hbgraph.NodeBlock, parse.ReasonSync))
				woken := nodeIn(t, g, w, 1, waitFor(hbgraph.NodeWake, parse.ReasonSync))
				if n := edgesBetween(g, h, w, hbgraph.RuleUnblock); n != 1 {
					t.Errorf("unblock edges from the holder to the waiter = %d; want 1", n)
				}
				if r := g.Node(woken).Reason; r != parse.ReasonSync {
					t.Errorf("waiter's wake reason = %q; want %q", r, parse.ReasonSync)
				}
				holderWake := nodeIn(t, g, h, 1, waitFor(hbgraph.NodeWake, parse.ReasonChanReceive))
				wantConcurrent(t, g, h.Nodes[0], blocked)
				wantOrder(t, g, holderWake, woken, true)
				wantOrder(t, g, woken, holderWake, false)
			},
		},
		{
			name: "mutex: unlock n → lock n+1; another mutex is not ordered",
			run: func(t *testing.T) {
				var mu, other sync.Mutex
				var done stdsync.WaitGroup
				release := make(chan struct{})
				done.Add(3)
				go holdMutex(&mu, release, &done)
				waitBlocked(t, "holdMutex", "chan receive")
				go waitMutex(&mu, &done)
				waitBlocked(t, "waitMutex", "chan receive")
				go otherMutex(&other, &done)
				close(release)
				done.Wait()
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				h, w, o := laneOf(t, g, "holdMutex"), laneOf(t, g, "waitMutex"), laneOf(t, g, "otherMutex")
				hLock := nodeIn(t, g, h, 1, op(wire.KindMutex, wire.OpLock))
				unlock := nodeIn(t, g, h, 1, op(wire.KindMutex, wire.OpUnlock))
				wait := nodeIn(t, g, w, 1, op(wire.KindMutex, wire.OpWait))
				lock := nodeIn(t, g, w, 1, op(wire.KindMutex, wire.OpLock))
				wantEdge(t, g, unlock, lock, hbgraph.RuleUnlockLock)
				if n := g.Node(lock); n.Seq != g.Node(unlock).Seq+1 || n.Object != g.Node(unlock).Object {
					t.Errorf("lock %s after unlock %s: want the same object, the next g", g.Label(lock), g.Label(unlock))
				}
				wantConcurrent(t, g, hLock, wait)
				wantOrder(t, g, hLock, lock, true)
				if n := edgesBetween(g, h, o, hbgraph.RuleUnlockLock) + edgesBetween(g, o, w, hbgraph.RuleUnlockLock); n != 0 {
					t.Errorf("unlock→lock edges with the other mutex's goroutine = %d; want 0", n)
				}
				wantConcurrent(t, g, nodeIn(t, g, o, 1, op(wire.KindMutex, wire.OpLock)), lock)
			},
		},
		{
			name: "rwmutex: unlock → rlocks, runlocks → next lock",
			run: func(t *testing.T) {
				var rw sync.RWMutex
				var wg stdsync.WaitGroup
				rw.Lock()
				rw.Unlock()
				wg.Add(2)
				go readerA(&rw, &wg)
				go readerB(&rw, &wg)
				wg.Wait()
				rw.Lock()
				rw.Unlock()
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				a, b := laneOf(t, g, "readerA"), laneOf(t, g, "readerB")
				rlockA := nodeIn(t, g, a, 1, op(wire.KindRWMutex, wire.OpRLock))
				rlockB := nodeIn(t, g, b, 1, op(wire.KindRWMutex, wire.OpRLock))
				for _, rl := range []hbgraph.NodeID{rlockA, rlockB} {
					in := g.In(rl)
					if len(in) != 1 || in[0].Rule != hbgraph.RuleUnlockRLock {
						t.Errorf("In(%s) = %v; want one unlock→rlock edge", g.Label(rl), in)
						continue
					}
					writer := g.Lane(g.Node(in[0].From).G)
					lock2 := nodeIn(t, g, writer, 2, op(wire.KindRWMutex, wire.OpLock))
					runlock := nodeIn(t, g, g.Lane(g.Node(rl).G), 1, op(wire.KindRWMutex, wire.OpRUnlock))
					wantEdge(t, g, runlock, lock2, hbgraph.RuleRUnlockLock)
				}
				wantConcurrent(t, g, rlockA, rlockB)
			},
		},
		{
			name: "cond: signal → the woken wait",
			run: func(t *testing.T) {
				var mu sync.Mutex
				c := sync.NewCond(&mu)
				ready := false
				var done stdsync.WaitGroup
				done.Add(1)
				go condWaiter(c, &ready, &done)
				waitBlocked(t, "condWaiter", "chan receive")
				mu.Lock()
				ready = true
				c.Signal()
				mu.Unlock()
				done.Wait()
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				w := laneOf(t, g, "condWaiter")
				wait := nodeIn(t, g, w, 1, op(wire.KindCond, wire.OpWait))
				wake := nodeIn(t, g, w, 1, op(wire.KindCond, wire.OpWake))
				in := g.In(wake)
				if len(in) != 1 || in[0].Rule != hbgraph.RuleCond || g.Node(in[0].From).Op != wire.OpSignal {
					t.Fatalf("In(%s) = %v; want one edge from a signal", g.Label(wake), in)
				}
				signal := in[0].From
				wantOrder(t, g, wake, signal, false)
				// Wait unlocks c.L, which the signaler locks before it
				// signals: the wait happens before the signal, through
				// the mutex.
				wantOrder(t, g, wait, signal, true)
			},
		},
		{
			name: "once: f's completion → a waiting Do's return",
			run: func(t *testing.T) {
				var o sync.Once
				var done stdsync.WaitGroup
				release := make(chan struct{})
				done.Add(2)
				go onceRunner(&o, release, &done)
				waitBlocked(t, "onceRunner", "chan receive")
				go onceWaiter(&o, &done)
				waitBlocked(t, "onceWaiter", "chan receive")
				close(release)
				done.Wait()
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				r, w := laneOf(t, g, "onceRunner"), laneOf(t, g, "onceWaiter")
				run := nodeIn(t, g, r, 1, op(wire.KindOnce, wire.OpRun))
				rundone := nodeIn(t, g, r, 1, op(wire.KindOnce, wire.OpRunDone))
				wait := nodeIn(t, g, w, 1, op(wire.KindOnce, wire.OpWait))
				wake := nodeIn(t, g, w, 1, op(wire.KindOnce, wire.OpWake))
				wantEdge(t, g, rundone, wake, hbgraph.RuleOnce)
				wantConcurrent(t, g, run, wait)
			},
		},
		{
			name: "waitgroup: every Done → the Wait's return",
			run: func(t *testing.T) {
				var wg sync.WaitGroup
				wg.Add(2)
				go wgWorkerA(&wg)
				go wgWorkerB(&wg)
				wg.Wait()
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				a, b := laneOf(t, g, "wgWorkerA"), laneOf(t, g, "wgWorkerB")
				doneA := nodeIn(t, g, a, 1, op(wire.KindWaitGroup, wire.OpAdd))
				doneB := nodeIn(t, g, b, 1, op(wire.KindWaitGroup, wire.OpAdd))
				var wake hbgraph.NodeID = hbgraph.NoNode
				for _, e := range g.Out(doneA) {
					if e.Rule == hbgraph.RuleWaitGroup {
						wake = e.To
					}
				}
				if wake == hbgraph.NoNode {
					t.Fatalf("Out(%s) = %v; want a done→wait edge", g.Label(doneA), g.Out(doneA))
				}
				wantEdge(t, g, doneB, wake, hbgraph.RuleWaitGroup)
				wantConcurrent(t, g, doneA, doneB)
			},
		},
		{
			name: "semaphore: release → the acquire it admits",
			run: func(t *testing.T) {
				s := semaphore.NewWeighted(1)
				var done stdsync.WaitGroup
				release := make(chan struct{})
				done.Add(2)
				go semaHolder(s, release, &done)
				waitBlocked(t, "semaHolder", "chan receive")
				go semaWaiter(s, &done)
				waitBlocked(t, "semaWaiter", "select", "chan receive")
				close(release)
				done.Wait()
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				h, w := laneOf(t, g, "semaHolder"), laneOf(t, g, "semaWaiter")
				hAcq := nodeIn(t, g, h, 1, op(wire.KindSemaphore, wire.OpAcquire))
				rel := nodeIn(t, g, h, 1, op(wire.KindSemaphore, wire.OpRelease))
				wait := nodeIn(t, g, w, 1, op(wire.KindSemaphore, wire.OpWait))
				acq := nodeIn(t, g, w, 1, op(wire.KindSemaphore, wire.OpAcquire))
				wantEdge(t, g, rel, acq, hbgraph.RuleSemaphore)
				if n := len(g.In(hAcq)); n != 0 {
					t.Errorf("fast-path %s has %d edges in; want 0", g.Label(hAcq), n)
				}
				wantConcurrent(t, g, hAcq, wait)
			},
		},
		{
			name: "singleflight: the leader's return → the follower's",
			run: func(t *testing.T) {
				var sf singleflight.Group
				var done stdsync.WaitGroup
				release := make(chan struct{})
				done.Add(2)
				go sfLeader(&sf, release, &done)
				waitBlocked(t, "sfLeader", "chan receive")
				go sfFollower(&sf, &done)
				waitBlocked(t, "sfFollower", "sync.WaitGroup.Wait")
				close(release)
				done.Wait()
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				l, f := laneOf(t, g, "sfLeader"), laneOf(t, g, "sfFollower")
				lead := nodeIn(t, g, l, 1, op(wire.KindSingleflight, wire.OpLead))
				ret := nodeIn(t, g, l, 1, op(wire.KindSingleflight, wire.OpReturn))
				follow := nodeIn(t, g, f, 1, op(wire.KindSingleflight, wire.OpFollow))
				wake := nodeIn(t, g, f, 1, op(wire.KindSingleflight, wire.OpWake))
				wantEdge(t, g, ret, wake, hbgraph.RuleSingleflight)
				wantConcurrent(t, g, lead, follow)
			},
		},
		{
			name: "errgroup: each function's return → Wait's",
			run: func(t *testing.T) {
				var eg errgroup.Group
				eg.Go(func() error { return nil })
				eg.Go(func() error { return nil })
				if err := eg.Wait(); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				var dones []hbgraph.NodeID
				wake := hbgraph.NoNode
				for i := 0; i < g.Len(); i++ {
					n := g.Node(hbgraph.NodeID(i))
					if n.Kind == hbgraph.NodeAnnotation && n.Prim == wire.KindErrgroup {
						switch n.Op {
						case wire.OpGoDone:
							dones = append(dones, n.ID)
						case wire.OpWake:
							wake = n.ID
						}
					}
				}
				if len(dones) != 2 || wake == hbgraph.NoNode {
					t.Fatalf("errgroup godones, wake = %v, %v; want 2 and a wake", dones, wake)
				}
				for _, d := range dones {
					wantEdge(t, g, d, wake, hbgraph.RuleErrgroup)
				}
				wantConcurrent(t, g, dones[0], dones[1])
			},
		},
		{
			name: "annotated channel: send → recv, recv k → send k+C, close → last recv",
			run: func(t *testing.T) {
				c := chans.Make[int](1)
				done := make(chan struct{})
				go chanConsumer(c, done)
				go chanProducer(c)
				<-done
			},
			check: func(t *testing.T, g *hbgraph.Graph) {
				p, c := laneOf(t, g, "chanProducer"), laneOf(t, g, "chanConsumer")
				for k := 1; k <= 3; k++ {
					wantEdge(t, g, nodeIn(t, g, p, k, op(wire.KindChan, wire.OpWait)), nodeIn(t, g, c, k, op(wire.KindChan, wire.OpRecv)), hbgraph.RuleChanSend)
				}
				// Capacity 1: receive 1's wait → send 2, receive 2's wait → send 3.
				for k := 1; k <= 2; k++ {
					wantEdge(t, g, nodeIn(t, g, c, k, op(wire.KindChan, wire.OpWait)), nodeIn(t, g, p, k+1, op(wire.KindChan, wire.OpSend)), hbgraph.RuleChanRecv)
				}
				wantEdge(t, g, nodeIn(t, g, p, 1, op(wire.KindChan, wire.OpClose)), nodeIn(t, g, c, 4, op(wire.KindChan, wire.OpRecv)), hbgraph.RuleChanClose)
				if n := edgesBetween(g, c, p, hbgraph.RuleChanRecv); n != 2 {
					t.Errorf("recv→send edges = %d; want 2 (the first send had a free slot)", n)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := record(t, func() { tt.run(t) })
			tt.check(t, g)
		})
	}
}
