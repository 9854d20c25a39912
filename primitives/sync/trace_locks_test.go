package sync

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/internal/wire"
)

// opsOf renders events as their messages without kind and object, for
// comparison: "lock 3", "wait 0 depth=2".
func opsOf(evs []tracetest.Annotation) []string {
	var out []string
	for _, e := range evs {
		msg := e.Encode()
		for range 2 { // drop KIND and OBJECT
			msg = msg[strings.IndexByte(msg, ' ')+1:]
		}
		out = append(out, msg)
	}
	return out
}

// checkOps compares the ops of evs with want.
func checkOps(t *testing.T, what string, evs []tracetest.Annotation, want []string) {
	t.Helper()
	if got := opsOf(evs); !slices.Equal(got, want) {
		t.Errorf("%s annotations:\n got %q\nwant %q", what, got, want)
	}
}

// checkKind checks that every event has the given kind.
func checkKind(t *testing.T, evs []tracetest.Annotation, kind wire.Kind) {
	t.Helper()
	for _, e := range evs {
		if e.Kind != kind {
			t.Fatalf("event %q has kind %v; want %v", e.Encode(), e.Kind, kind)
		}
	}
}

// checkLockPairs checks the write-lock protocol of a mutex's events: lock
// and unlock alternate, the locks are numbered 1, 2, ... and each unlock
// carries the number of the lock it releases; every wait is closed by its
// goroutine's next lock.
func checkLockPairs(t *testing.T, evs []tracetest.Annotation) {
	t.Helper()
	var g uint64
	held := false
	waiting := map[exptrace.GoID]bool{}
	for _, e := range evs {
		switch e.Op {
		case wire.OpWait:
			if waiting[e.G] {
				t.Fatalf("goroutine %d: wait %q while already waiting", e.G, e.Encode())
			}
			waiting[e.G] = true
		case wire.OpLock:
			if held || e.Seq != g+1 {
				t.Fatalf("%q after lock %d (held=%v); want lock %d after an unlock", e.Encode(), g, held, g+1)
			}
			g, held = e.Seq, true
			delete(waiting, e.G)
		case wire.OpUnlock:
			if !held || e.Seq != g {
				t.Fatalf("%q after lock %d (held=%v); want unlock %d of a held lock", e.Encode(), g, held, g)
			}
			held = false
		}
	}
	if len(waiting) != 0 {
		t.Fatalf("waits never closed by a lock: goroutines %v", waiting)
	}
}

func TestTraceMutexAlternating(t *testing.T) {
	var mu Mutex
	const rounds = 5
	evs := tracetest.Record(t, func() {
		turnA, turnB := make(chan struct{}), make(chan struct{})
		done := make(chan struct{})
		go func() { // B
			for range rounds {
				<-turnB
				mu.Lock()
				mu.Unlock()
				turnA <- struct{}{}
			}
			close(done)
		}()
		for range rounds { // A
			mu.Lock()
			mu.Unlock()
			turnB <- struct{}{}
			<-turnA
		}
		<-done
	})
	evs = tracetest.Of(evs, mu.ident.ID())
	checkKind(t, evs, wire.KindMutex)
	var want []string
	for g := 1; g <= 2*rounds; g++ {
		want = append(want, fmt.Sprintf("lock %d", g), fmt.Sprintf("unlock %d", g))
	}
	checkOps(t, "alternating Lock/Unlock", evs, want)
	// The locks alternate between the two goroutines.
	for i := 2; i < len(evs); i += 2 {
		if evs[i].G == evs[i-2].G {
			t.Errorf("locks %d and %d were taken by the same goroutine %d; want alternating goroutines", evs[i-2].Seq, evs[i].Seq, evs[i].G)
		}
	}
}

func TestTraceMutexContended(t *testing.T) {
	var mu Mutex
	evs := tracetest.Record(t, func() {
		mu.Lock()
		done := make(chan struct{})
		go func() {
			mu.Lock()
			mu.Unlock()
			close(done)
		}()
		pollLocks(t, "the waiter to queue", func() bool { return mu.Waiters() == 1 })
		mu.Unlock()
		recvLocks(t, "the waiter", done)
	})
	evs = tracetest.Of(evs, mu.ident.ID())
	checkOps(t, "contended Lock", evs, []string{"lock 1", "wait 0 depth=1", "unlock 1", "lock 2", "unlock 2"})
	checkLockPairs(t, evs)
	if len(evs) == 5 && (evs[1].G != evs[3].G || evs[0].G == evs[1].G) {
		t.Errorf("wait and lock 2 written by goroutines %d and %d, lock 1 by %d; want the waiter's wait and lock, from another goroutine than lock 1", evs[1].G, evs[3].G, evs[0].G)
	}
}

func TestTraceMutexTryLock(t *testing.T) {
	var mu Mutex
	evs := tracetest.Record(t, func() {
		if !mu.TryLock() {
			t.Error("TryLock of unlocked = false; want true")
		}
		failed := make(chan bool)
		go func() { failed <- !mu.TryLock() }()
		if !recvLocks(t, "TryLock", failed) {
			t.Error("TryLock of locked = true; want false")
		}
		mu.Unlock()
	})
	evs = tracetest.Of(evs, mu.ident.ID())
	checkOps(t, "TryLock", evs, []string{"lock 1", "unlock 1"})
}

func TestTraceMutexStarvation(t *testing.T) {
	var mu Mutex
	evs := tracetest.Record(t, func() { runStarvation(t, &mu) })
	evs = tracetest.Of(evs, mu.ident.ID())
	checkKind(t, evs, wire.KindMutex)
	checkLockPairs(t, evs)
	// Starvation mode is entered and left, alternately, at least once.
	var modes []string
	for _, e := range evs {
		if e.Op == wire.OpStarve || e.Op == wire.OpNormal {
			modes = append(modes, e.Op.String())
		}
	}
	if len(modes) == 0 || len(modes)%2 != 0 {
		t.Fatalf("mode switches %q; want starve, normal (repeated)", modes)
	}
	for i, m := range modes {
		if want := []string{"starve", "normal"}[i%2]; m != want {
			t.Fatalf("mode switches %q; want starve, normal (repeated)", modes)
		}
	}
}

func TestTraceRWMutex(t *testing.T) {
	var rw RWMutex
	evs := tracetest.Record(t, func() {
		rw.Lock()
		rw.Unlock()
		rw.RLock()
		if !rw.TryRLock() {
			t.Error("TryRLock while read-locked = false; want true")
		}
		rw.RUnlock()
		// A writer waits for the reader still inside.
		writerDone := make(chan struct{})
		go func() {
			rw.Lock()
			close(writerDone)
		}()
		pollLocks(t, "the writer to wait for the reader", func() bool { return rw.writerSem.nwait.Load() == 1 })
		rw.RUnlock()
		recvLocks(t, "the writer", writerDone)
		// A reader waits for the writer, which this goroutine unlocks.
		readerDone := make(chan struct{})
		go func() {
			rw.RLock()
			rw.RUnlock()
			close(readerDone)
		}()
		pollLocks(t, "the reader to wait for the writer", func() bool { return rw.readerSem.nwait.Load() == 1 })
		rw.Unlock()
		recvLocks(t, "the reader", readerDone)
	})
	evs = tracetest.Of(evs, rw.ident.ID())
	checkKind(t, evs, wire.KindRWMutex)
	checkOps(t, "RWMutex", evs, []string{
		"lock 1", "unlock 1",
		"rlock 1", "rlock 1", "runlock 1",
		"wait 0 depth=1", "runlock 1", "lock 2",
		"wait 0 n=1", "unlock 2", "rlock 2", "runlock 2",
	})
}

func TestTraceReentrantMutex(t *testing.T) {
	var m ReentrantMutex
	evs := tracetest.Record(t, func() {
		m.Lock()
		m.Lock()
		m.Unlock()
		m.Unlock()
		m.Lock()
		done := make(chan struct{})
		go func() {
			m.Lock()
			m.Unlock()
			close(done)
		}()
		pollLocks(t, "the waiter to queue", func() bool { return m.mu.waiters() == 1 })
		m.Unlock()
		recvLocks(t, "the waiter", done)
	})
	evs = tracetest.Of(evs, m.ident.ID())
	checkKind(t, evs, wire.KindReentrant)
	checkOps(t, "ReentrantMutex", evs, []string{
		"lock 1 n=1", "lock 1 n=2", "unlock 1 n=1", "unlock 1",
		"lock 2 n=1", "wait 0 depth=1", "unlock 2", "lock 3 n=1", "unlock 3",
	})
}

func TestTraceCond(t *testing.T) {
	c := NewCond(new(Mutex))
	evs := tracetest.Record(t, func() {
		woke := make(chan int, 3)
		startCondWaiters(t, c, 1, woke)
		c.Signal()
		recvLocks(t, "the signalled waiter", woke)
		c.Signal() // nobody waits
		startCondWaiters(t, c, 3, woke)
		c.Broadcast()
		for range 3 {
			recvLocks(t, "the broadcast waiters", woke)
		}
		c.Broadcast() // nobody waits
	})
	evs = tracetest.Of(evs, c.ident.ID())
	checkKind(t, evs, wire.KindCond)
	// The wakes of a broadcast come in any order; sort them.
	ops := opsOf(evs)
	want := []string{
		"wait 1 depth=1", "signal 1", "wake 1",
		"signal 0",
		"wait 2 depth=1", "wait 3 depth=2", "wait 4 depth=3", "broadcast 2 n=3",
		"wake 2", "wake 3", "wake 4",
		"broadcast 0",
	}
	if len(ops) == 12 {
		slices.Sort(ops[8:11])
	}
	if !slices.Equal(ops, want) {
		t.Errorf("Cond annotations:\n got %q\nwant %q", ops, want)
	}
	// Each wake is written by the goroutine that waited with its ticket.
	waiter := map[uint64]exptrace.GoID{}
	for _, e := range evs {
		switch e.Op {
		case wire.OpWait:
			waiter[e.Seq] = e.G
		case wire.OpWake:
			if g, ok := waiter[e.Seq]; !ok || g != e.G {
				t.Errorf("wake %d written by goroutine %d; want the goroutine that waited with ticket %d (%d)", e.Seq, e.G, e.Seq, g)
			}
		}
	}
}

func TestTraceSetName(t *testing.T) {
	var (
		mu Mutex
		rw RWMutex
		rm ReentrantMutex
		c  = NewCond(&mu)
	)
	tests := []struct {
		kind  wire.Kind
		ident *wire.Ident
		name  func(string)
	}{
		{wire.KindMutex, &mu.ident, mu.SetName},
		{wire.KindRWMutex, &rw.ident, rw.SetName},
		{wire.KindReentrant, &rm.ident, rm.SetName},
		{wire.KindCond, &c.ident, c.SetName},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			name := "the " + tt.kind.String()
			evs := tracetest.Of(tracetest.Record(t, func() { tt.name(name) }), tt.ident.ID())
			want := wire.Event{Kind: tt.kind, Object: tt.ident.ID(), Op: wire.OpName, Key: name}
			if len(evs) != 1 || evs[0].Event != want {
				t.Fatalf("SetName(%q) wrote %v; want one %q", name, opsOf(evs), want.Encode())
			}
		})
	}
}

// TestTraceMisuse checks that misuse panics as it does untraced, and that
// the failed operation writes no release.
func TestTraceMisuse(t *testing.T) {
	var (
		mu Mutex
		rw RWMutex
	)
	tests := []struct {
		name  string
		ident *wire.Ident
		op    func()
		want  string
	}{
		{"Mutex.Unlock", &mu.ident, mu.Unlock, "sync: unlock of unlocked mutex"},
		{"RWMutex.Unlock", &rw.ident, rw.Unlock, "sync: Unlock of unlocked RWMutex"},
		{"RWMutex.RUnlock", &rw.ident, rw.RUnlock, "sync: RUnlock of unlocked RWMutex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			evs := tracetest.Record(t, func() { got = lockPanic(tt.op) })
			if got != tt.want {
				t.Errorf("%s panicked with %v; want %q", tt.name, got, tt.want)
			}
			if evs := tracetest.Of(evs, tt.ident.ID()); len(evs) != 0 {
				t.Errorf("%s of an unlocked lock wrote %q; want nothing", tt.name, opsOf(evs))
			}
		})
	}
}
