package hbgraph_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// Synthetic event streams, fed to the Builder directly: each rule's pairing
// in isolation, both orders of release and acquire in the stream.

func an(g parse.GoID, msg string) parse.Event {
	e, err := wire.Decode(wire.Category, msg)
	if err != nil {
		panic(err)
	}
	return parse.Event{Kind: parse.EvAnnotation, G: g, Peer: parse.NoGoroutine, Annotation: e}
}

func create(parent, child parse.GoID) parse.Event {
	return parse.Event{Kind: parse.EvCreate, G: child, Peer: parent}
}

func block(g parse.GoID, reason string) parse.Event {
	return parse.Event{Kind: parse.EvBlock, G: g, Peer: parse.NoGoroutine, Reason: reason}
}

func wake(g, waker parse.GoID, reason string) parse.Event {
	return parse.Event{Kind: parse.EvWake, G: g, Peer: waker, Reason: reason}
}

func exit(g parse.GoID) parse.Event {
	return parse.Event{Kind: parse.EvExit, G: g, Peer: parse.NoGoroutine}
}

// build feeds events to a Builder, one nanosecond apart.
func build(opts hbgraph.Options, events ...parse.Event) *hbgraph.Graph {
	b := hbgraph.NewBuilder(opts)
	t := &parse.Trace{Path: "synthetic"}
	for i := range events {
		ev := events[i]
		ev.Time = parse.Time(i + 1)
		b.Event(t, &ev)
	}
	b.Finalize(t)
	return b.Graph()
}

// describe renders an edge as "G1 Mutex#1 unlock 1 → G2 Mutex#1 lock 2 [unlock→lock]".
func describe(g *hbgraph.Graph, e hbgraph.Edge) string {
	from, to := g.Node(e.From), g.Node(e.To)
	return fmt.Sprintf("G%d %s → G%d %s [%s]", from.G, g.Label(e.From), to.G, g.Label(e.To), e.Rule)
}

func edgeSet(g *hbgraph.Graph) []string {
	var out []string
	for _, e := range g.Edges() {
		out = append(out, describe(g, e))
	}
	slices.Sort(out)
	return out
}

// find returns the node of goroutine id whose label is label.
func find(t *testing.T, g *hbgraph.Graph, id parse.GoID, label string) hbgraph.NodeID {
	t.Helper()
	l := g.Lane(id)
	if l == nil {
		t.Fatalf("no lane for G%d", id)
	}
	for _, n := range l.Nodes {
		if g.Label(n) == label {
			return n
		}
	}
	t.Fatalf("G%d has no node %q", id, label)
	return hbgraph.NoNode
}

func TestBuilderRules(t *testing.T) {
	tests := []struct {
		name   string
		events []parse.Event
		want   []string
	}{
		{
			name:   "go statement",
			events: []parse.Event{create(1, 2), exit(2)},
			want:   []string{"G1 go G2 → G2 start (by G1) [go]"},
		},
		{
			name:   "runtime unblock; a timer's wake has no edge",
			events: []parse.Event{block(2, "chan receive"), wake(2, 1, "chan receive"), block(1, "sleep"), wake(1, parse.NoGoroutine, "sleep")},
			want:   []string{"G1 unblock G2 → G2 wake (chan receive) by G1 [unblock (runtime)]"},
		},
		{
			name: "mutex handoff",
			events: []parse.Event{
				an(1, "mutex 1 lock 1"), an(1, "mutex 1 unlock 1"),
				an(2, "mutex 1 lock 2"), an(2, "mutex 1 unlock 2"),
				an(1, "mutex 1 lock 3"),
			},
			want: []string{
				"G1 Mutex#1 unlock 1 → G2 Mutex#1 lock 2 [unlock→lock]",
				"G2 Mutex#1 unlock 2 → G1 Mutex#1 lock 3 [unlock→lock]",
			},
		},
		{
			name: "mutex unlock logged after the lock it enabled",
			events: []parse.Event{
				an(1, "mutex 1 lock 1"), an(2, "mutex 1 lock 2"), an(1, "mutex 1 unlock 1"),
			},
			want: []string{"G1 Mutex#1 unlock 1 → G2 Mutex#1 lock 2 [unlock→lock]"},
		},
		{
			name: "two mutexes do not pair",
			events: []parse.Event{
				an(1, "mutex 1 lock 1"), an(1, "mutex 1 unlock 1"), an(2, "mutex 2 lock 2"),
			},
		},
		{
			name: "reentrant mutex pairs only the outermost unlock and lock",
			events: []parse.Event{
				an(1, "rmutex 1 lock 1 n=1"), an(1, "rmutex 1 lock 1 n=2"),
				an(1, "rmutex 1 unlock 1 n=1"), an(1, "rmutex 1 unlock 1"),
				an(2, "rmutex 1 lock 2 n=1"),
			},
			want: []string{"G1 ReentrantMutex#1 unlock 1 → G2 ReentrantMutex#1 lock 2 n=1 [unlock→lock]"},
		},
		{
			name: "rwmutex: unlock → rlocks, runlocks → next lock",
			events: []parse.Event{
				an(1, "rwmutex 1 lock 1"), an(1, "rwmutex 1 unlock 1"),
				an(2, "rwmutex 1 rlock 1"), an(3, "rwmutex 1 rlock 1"),
				an(2, "rwmutex 1 runlock 1"), an(1, "rwmutex 1 lock 2"), an(3, "rwmutex 1 runlock 1"),
			},
			want: []string{
				"G1 RWMutex#1 unlock 1 → G1 RWMutex#1 lock 2 [unlock→lock]",
				"G1 RWMutex#1 unlock 1 → G2 RWMutex#1 rlock 1 [unlock→rlock]",
				"G1 RWMutex#1 unlock 1 → G3 RWMutex#1 rlock 1 [unlock→rlock]",
				"G2 RWMutex#1 runlock 1 → G1 RWMutex#1 lock 2 [runlock→lock]",
				"G3 RWMutex#1 runlock 1 → G1 RWMutex#1 lock 2 [runlock→lock]",
			},
		},
		{
			name: "rwmutex rlock before any write unlock has no edge",
			events: []parse.Event{
				an(2, "rwmutex 1 rlock 0"), an(2, "rwmutex 1 runlock 0"), an(1, "rwmutex 1 lock 1"),
			},
			want: []string{"G2 RWMutex#1 runlock 0 → G1 RWMutex#1 lock 1 [runlock→lock]"},
		},
		{
			name: "cond signal and broadcast by ticket",
			events: []parse.Event{
				an(2, "cond 1 wait 1"), an(3, "cond 1 wait 2"), an(4, "cond 1 wait 3"), an(5, "cond 1 wait 4"),
				an(1, "cond 1 signal 1"), an(2, "cond 1 wake 1"),
				an(4, "cond 1 wake 3"), an(1, "cond 1 broadcast 2 n=2"), an(3, "cond 1 wake 2"),
				an(1, "cond 1 signal 0"),
			},
			want: []string{
				"G1 Cond#1 broadcast 2 n=2 → G3 Cond#1 wake 2 [signal→wait]",
				"G1 Cond#1 broadcast 2 n=2 → G4 Cond#1 wake 3 [signal→wait]",
				"G1 Cond#1 signal 1 → G2 Cond#1 wake 1 [signal→wait]",
			},
		},
		{
			name: "once: f's completion → every waiting Do",
			events: []parse.Event{
				an(1, "once 1 run 1"), an(2, "once 1 wait 1"), an(2, "once 1 wake 1"),
				an(1, "once 1 rundone 1 n=1"), an(3, "once 1 wait 1"), an(3, "once 1 wake 1"),
			},
			want: []string{
				"G1 Once#1 rundone 1 n=1 → G2 Once#1 wake 1 [f→Do]",
				"G1 Once#1 rundone 1 n=1 → G3 Once#1 wake 1 [f→Do]",
			},
		},
		{
			name: "onceerr pairs by attempt",
			events: []parse.Event{
				an(1, "onceerr 1 run 1"), an(2, "onceerr 1 wait 1"), an(1, "onceerr 1 rundone 1"),
				an(2, "onceerr 1 wake 1"), an(2, "onceerr 1 run 2"), an(3, "onceerr 1 wait 2"),
				an(2, "onceerr 1 rundone 2 n=1"), an(3, "onceerr 1 wake 2"),
			},
			want: []string{
				"G1 OnceErr#1 rundone 1 → G2 OnceErr#1 wake 1 [f→Do]",
				"G2 OnceErr#1 rundone 2 n=1 → G3 OnceErr#1 wake 2 [f→Do]",
			},
		},
		{
			name: "waitgroup: every add and done of the epoch → its wakes",
			events: []parse.Event{
				an(1, "wg 1 add 0 n=2 depth=2"), an(1, "wg 1 wait 0 depth=1"),
				an(2, "wg 1 add 0 n=-1 depth=1"), an(1, "wg 1 wake 0"), an(3, "wg 1 add 0 n=-1"),
				an(1, "wg 1 add 1 n=1 depth=1"), an(4, "wg 1 wake 1"),
			},
			want: []string{
				"G1 WaitGroup#1 add 0 n=2 → G1 WaitGroup#1 wake 0 [done→wait]",
				"G1 WaitGroup#1 add 1 n=1 → G4 WaitGroup#1 wake 1 [done→wait]",
				"G2 WaitGroup#1 add 0 n=-1 → G1 WaitGroup#1 wake 0 [done→wait]",
				"G3 WaitGroup#1 add 0 n=-1 → G1 WaitGroup#1 wake 0 [done→wait]",
			},
		},
		{
			name: "semaphore: release → the acquires naming it",
			events: []parse.Event{
				an(1, "sema 1 acquire 1 n=2"), an(2, "sema 1 wait 0 n=1 depth=1"), an(3, "sema 1 wait 0 n=1 depth=2"),
				an(2, "sema 1 acquire 2 n=1 ref=1"), an(1, "sema 1 release 1 n=2"),
				an(3, "sema 1 acquire 3 n=1 ref=1"), an(4, "sema 1 acquire 4 n=1"), an(2, "sema 1 release 2 n=1"),
			},
			want: []string{
				"G1 Semaphore#1 release 1 n=2 → G2 Semaphore#1 acquire 2 n=1 [release→acquire]",
				"G1 Semaphore#1 release 1 n=2 → G3 Semaphore#1 acquire 3 n=1 [release→acquire]",
			},
		},
		{
			name: "singleflight: leader's return → its followers only",
			events: []parse.Event{
				an(1, "sf 1 lead 1"), an(2, "sf 1 follow 1 depth=1"), an(3, "sf 1 lead 2"),
				an(1, "sf 1 return 1 n=1"), an(2, "sf 1 wake 1"), an(4, "sf 1 follow 2"), an(4, "sf 1 wake 2"),
			},
			want: []string{"G1 singleflight.Group#1 return 1 n=1 → G2 singleflight.Group#1 wake 1 [leader→follower]"},
		},
		{
			name: "errgroup: godone n → a wake that counted n",
			events: []parse.Event{
				an(1, "eg 1 go 1"), an(1, "eg 1 go 2"), an(2, "eg 1 godone 1"), an(1, "eg 1 wait 0"),
				an(1, "eg 1 wake 2"), an(3, "eg 1 godone 2"), an(1, "eg 1 go 3"), an(4, "eg 1 godone 3"),
			},
			want: []string{
				"G2 errgroup.Group#1 godone 1 → G1 errgroup.Group#1 wake 2 [go-return→wait]",
				"G3 errgroup.Group#1 godone 2 → G1 errgroup.Group#1 wake 2 [go-return→wait]",
			},
		},
		{
			name: "buffered channel: send's wait → recv, recv's wait → send k+C, close → zero receive",
			events: []parse.Event{
				an(1, "chan 1 wait 1 n=1"), an(1, "chan 1 send 1 n=1"),
				an(2, "chan 1 wait 0 n=2"), an(2, "chan 1 recv 1 n=1 ref=1"),
				an(1, "chan 1 wait 2 n=1"), an(1, "chan 1 send 2 n=1"),
				an(1, "chan 1 wait 3 n=1"), an(1, "chan 1 cancel 3 n=1"), an(1, "chan 1 close 2"),
				an(2, "chan 1 wait 0 n=2"), an(2, "chan 1 recv 2 n=1 ref=2"),
				an(2, "chan 1 wait 0 n=2"), an(2, "chan 1 recv 0 n=1"),
			},
			want: []string{
				"G1 Chan#1 close 2 → G2 Chan#1 recv 0 n=1 [close→recv]",
				"G1 Chan#1 wait 1 n=1 → G2 Chan#1 recv 1 n=1 [send→recv]",
				"G1 Chan#1 wait 2 n=1 → G2 Chan#1 recv 2 n=1 [send→recv]",
				"G2 Chan#1 wait 0 n=2 → G1 Chan#1 send 2 n=1 [recv→send]",
			},
		},
		{
			name: "unbuffered channel: both ways, without a cycle, logged out of order",
			events: []parse.Event{
				an(2, "chan 1 wait 0 n=2"), an(1, "chan 1 wait 1 n=1"), an(2, "chan 1 recv 1 ref=1"), an(1, "chan 1 send 1"),
				an(3, "chan 1 wait 2 n=1"), an(4, "chan 1 wait 0 n=2"), an(3, "chan 1 send 2"), an(4, "chan 1 recv 2 ref=2"),
			},
			want: []string{
				"G1 Chan#1 wait 1 n=1 → G2 Chan#1 recv 1 [send→recv]",
				"G2 Chan#1 wait 0 n=2 → G1 Chan#1 send 1 [recv→send]",
				"G3 Chan#1 wait 2 n=1 → G4 Chan#1 recv 2 [send→recv]",
				"G4 Chan#1 wait 0 n=2 → G3 Chan#1 send 2 [recv→send]",
			},
		},
		{
			name: "channel receive without a wait (select) is its own source",
			events: []parse.Event{
				an(1, "chan 1 wait 1 n=1"), an(2, "chan 1 recv 1 ref=1"), an(1, "chan 1 send 1"),
			},
			want: []string{
				"G1 Chan#1 wait 1 n=1 → G2 Chan#1 recv 1 [send→recv]",
				"G2 Chan#1 recv 1 → G1 Chan#1 send 1 [recv→send]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := build(hbgraph.Options{}, tt.events...)
			got := edgeSet(g)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("edges:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}
			if len(g.Warnings) > 0 {
				t.Errorf("Warnings = %q; want none", g.Warnings)
			}
		})
	}
}

func TestHappensBeforeSynthetic(t *testing.T) {
	// G1 starts G2 and G3; G2 and G3 contend a mutex; G4 is unrelated.
	g := build(hbgraph.Options{},
		create(1, 2), create(1, 3),
		an(2, "mutex 1 lock 1"), an(4, "mutex 9 lock 1"), an(2, "mutex 1 unlock 1"),
		an(3, "mutex 1 wait 0 depth=1"), an(3, "mutex 1 lock 2"), an(3, "mutex 1 unlock 2"),
		an(4, "mutex 9 unlock 1"),
	)
	var (
		goG2     = find(t, g, 1, "go G2")
		goG3     = find(t, g, 1, "go G3")
		start3   = find(t, g, 3, "start (by G1)")
		lock2    = find(t, g, 2, "Mutex#1 lock 1")
		unlock2  = find(t, g, 2, "Mutex#1 unlock 1")
		wait3    = find(t, g, 3, "Mutex#1 wait 0")
		lock3    = find(t, g, 3, "Mutex#1 lock 2")
		unlock3  = find(t, g, 3, "Mutex#1 unlock 2")
		other    = find(t, g, 4, "Mutex#9 lock 1")
		otherEnd = find(t, g, 4, "Mutex#9 unlock 1")
	)
	tests := []struct {
		name string
		a, b hbgraph.NodeID
		want bool
	}{
		{"program order", lock2, unlock2, true},
		{"program order is not reversed", unlock2, lock2, false},
		{"go statement → child", goG2, lock2, true},
		{"go statement → later child nodes", goG3, unlock3, true},
		{"handoff: holder's lock → next holder's lock", lock2, lock3, true},
		{"handoff: unlock → next lock", unlock2, lock3, true},
		{"before the handoff the waiter is concurrent", lock2, wait3, false},
		{"start of the waiter is not before the holder", start3, unlock2, false},
		{"a node does not happen before itself", lock3, lock3, false},
		{"unrelated goroutine", lock2, other, false},
		{"unrelated goroutine, other way", otherEnd, unlock3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := g.HappensBefore(tt.a, tt.b); got != tt.want {
				t.Errorf("HappensBefore(%s, %s) = %v; want %v", g.Label(tt.a), g.Label(tt.b), got, tt.want)
			}
		})
	}
	if !g.Concurrent(wait3, lock2) {
		t.Errorf("Concurrent(%s, %s) = false; want true", g.Label(wait3), g.Label(lock2))
	}
	if g.Concurrent(unlock2, lock3) {
		t.Errorf("Concurrent(%s, %s) = true; want false", g.Label(unlock2), g.Label(lock3))
	}
	if !g.Concurrent(other, unlock3) {
		t.Errorf("Concurrent(%s, %s) = false; want true", g.Label(other), g.Label(unlock3))
	}
	// G3's clock at its unlock knows G1's two go statements and G2's lock and unlock.
	got := fmt.Sprint(g.Clock(unlock3))
	if want := "[{1 2} {2 3} {3 4}]"; got != want {
		t.Errorf("Clock(%s) = %s; want %s", g.Label(unlock3), got, want)
	}
}

func TestCriticalPath(t *testing.T) {
	// G1 starts G2; G2 releases a mutex G3 gets; G3 signals G4's wait.
	g := build(hbgraph.Options{},
		create(1, 2), create(1, 3), create(1, 4),
		an(2, "mutex 1 lock 1"), an(4, "cond 2 wait 1"), an(2, "mutex 1 unlock 1"),
		an(3, "mutex 1 lock 2"), an(3, "cond 2 signal 1"), an(4, "cond 2 wake 1"),
	)
	var got []string
	for _, e := range g.CriticalPath(find(t, g, 4, "Cond#2 wake 1")) {
		got = append(got, describe(g, e))
	}
	want := []string{
		"G1 go G2 → G2 start (by G1) [go]",
		"G2 Mutex#1 unlock 1 → G3 Mutex#1 lock 2 [unlock→lock]",
		"G3 Cond#2 signal 1 → G4 Cond#2 wake 1 [signal→wait]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("CriticalPath(G4 wake) =\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if p := g.CriticalPath(find(t, g, 1, "go G2")); len(p) != 0 {
		t.Errorf("CriticalPath(G1's first node) = %v; want none", p)
	}
}

func TestBuilderOptions(t *testing.T) {
	events := []parse.Event{
		create(1, 2), block(2, "sync"), wake(2, 1, "sync"), an(2, "mutex 1 lock 1"), exit(2),
	}
	tests := []struct {
		name        string
		opts        hbgraph.Options
		wantNodes   int
		wantDropped int
		wantEdges   int
	}{
		{"everything", hbgraph.Options{}, 7, 0, 2},
		{"annotated only", hbgraph.Options{AnnotatedOnly: true}, 4, 0, 1},
		{"node budget", hbgraph.Options{MaxNodes: 3}, 3, 4, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := build(tt.opts, events...)
			if g.Len() != tt.wantNodes || g.Dropped != tt.wantDropped || len(g.Edges()) != tt.wantEdges {
				t.Errorf("Len, Dropped, edges = %d, %d, %d; want %d, %d, %d", g.Len(), g.Dropped, len(g.Edges()), tt.wantNodes, tt.wantDropped, tt.wantEdges)
			}
		})
	}
}

func TestRuntimeWaitsAreNoNodes(t *testing.T) {
	// G2 is preempted for a stack scan and resumed by a GC worker (G27),
	// and waits for mark-assist work: the program synchronizes with no one.
	g := build(hbgraph.Options{},
		block(2, "preempted"), wake(2, 27, "preempted"),
		block(2, "GC mark assist wait for work"), wake(2, 27, "GC mark assist wait for work"),
		block(2, "sync"), wake(2, 1, "sync"),
	)
	var got []string
	for _, l := range g.Lanes() {
		for _, id := range l.Nodes {
			got = append(got, fmt.Sprintf("G%d %s", l.G, g.Label(id)))
		}
	}
	want := []string{"G2 block (sync)", "G2 wake (sync) by G1", "G1 unblock G2"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("nodes = %q; want %q", got, want)
	}
}

func TestCycleIsBroken(t *testing.T) {
	// Contradictory annotations: G1's unlock 1 → G2's lock 2 and G2's
	// unlock 2 → G1's lock 3 where G1's lock 3 comes before its unlock 1.
	g := build(hbgraph.Options{},
		an(1, "mutex 1 lock 3"), an(2, "mutex 1 lock 2"), an(2, "mutex 1 unlock 2"), an(1, "mutex 1 unlock 1"),
	)
	cyclic := 0
	for _, e := range g.Edges() {
		if e.Cyclic {
			cyclic++
		}
	}
	if cyclic != 1 || len(g.Warnings) == 0 {
		t.Errorf("cyclic edges = %d, warnings %q; want 1 and a warning", cyclic, g.Warnings)
	}
	for i := 0; i < g.Len(); i++ {
		for j := 0; j < g.Len(); j++ {
			a, b := hbgraph.NodeID(i), hbgraph.NodeID(j)
			if g.HappensBefore(a, b) && g.HappensBefore(b, a) {
				t.Errorf("HappensBefore both ways between %s and %s", g.Label(a), g.Label(b))
			}
		}
	}
}
