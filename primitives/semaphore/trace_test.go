package semaphore_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/primitives/semaphore"
)

const ours = "blockscope/primitives/semaphore.(*Weighted).Acquire("

// checkRefs checks that every acquire that names a release comes after it
// in the trace, and that release numbers are distinct.
func checkRefs(t *testing.T, as []tracetest.Annotation, obj wire.ObjectID) {
	t.Helper()
	released := make(map[uint64]bool)
	for _, a := range tracetest.Of(as, obj) {
		switch a.Op {
		case wire.OpRelease:
			if released[a.Seq] {
				t.Errorf("release %d written twice", a.Seq)
			}
			released[a.Seq] = true
		case wire.OpAcquire:
			if a.Ref != 0 && !released[a.Ref] {
				t.Errorf("%s: %q before the release it names", a.Label, a.Encode())
			}
		}
	}
}

func sema(obj wire.ObjectID, op wire.Op, seq uint64, n, depth int64, ref uint64) wire.Event {
	return wire.Event{Kind: wire.KindSemaphore, Object: obj, Op: op, Seq: seq, N: n, Depth: depth, Ref: ref}
}

// goAcquire calls Acquire in a new goroutine labelled who.
func goAcquire(ctx context.Context, s *semaphore.Weighted, who string, n int64) <-chan result {
	ch := make(chan result, 1)
	go func() {
		tracetest.Label(who)
		ch <- result{who, s.Acquire(ctx, n)}
	}()
	return ch
}

func TestTraceAnnotations(t *testing.T) {
	s := semaphore.NewWeighted(2)
	bg := context.Background()
	as := tracetest.Record(t, func() {
		tracetest.Label("main")
		s.SetName("pool")
		must(t, s.Acquire(bg, 2))

		// One release admits two waiters.
		w1 := goAcquire(bg, s, "w1", 1)
		waitParked(t, 1, ours)
		w2 := goAcquire(bg, s, "w2", 1)
		waitParked(t, 2, ours)
		s.Release(2)
		must(t, tracetest.Recv(t, w1).err)
		must(t, tracetest.Recv(t, w2).err)
		s.Release(1)
		s.Release(1)

		// TryAcquire, both ways.
		s.TryAcquire(2)
		s.TryAcquire(1)

		// A waiter gives up.
		ctx, cancel := context.WithCancel(bg)
		w3 := goAcquire(ctx, s, "w3", 1)
		waitParked(t, 1, ours)
		cancel()
		if err := tracetest.Recv(t, w3).err; !errors.Is(err, context.Canceled) {
			t.Fatalf("Acquire(1) = %v; want %v", err, context.Canceled)
		}

		// A large waiter at the head holds back a small one.
		s.Release(1)
		w4 := goAcquire(bg, s, "w4", 2)
		waitParked(t, 1, ours)
		w5 := goAcquire(bg, s, "w5", 1)
		waitParked(t, 2, ours)
		s.Release(1)
		must(t, tracetest.Recv(t, w4).err)
		s.Release(2)
		must(t, tracetest.Recv(t, w5).err)
		s.Release(1)

		// Failures without a wait, and a request that can never be met.
		s.Acquire(ctx, 1)
		ctx6, cancel6 := context.WithCancel(bg)
		w6 := goAcquire(ctx6, s, "w6", 3)
		waitParked(t, 1, ours)
		cancel6()
		tracetest.Recv(t, w6)

		// A waiter at the head gives up and lets in the one behind it.
		s.TryAcquire(1)
		ctx7, cancel7 := context.WithCancel(bg)
		w7 := goAcquire(ctx7, s, "w7", 2)
		waitParked(t, 1, ours)
		w8 := goAcquire(bg, s, "w8", 1)
		waitParked(t, 2, ours)
		cancel7()
		tracetest.Recv(t, w7)
		must(t, tracetest.Recv(t, w8).err)
		s.Release(2)
	})
	obj := semaphore.ObjectID(s)
	checkRefs(t, as, obj)
	ev := func(op wire.Op, seq uint64, n, depth int64, ref uint64) wire.Event {
		return sema(obj, op, seq, n, depth, ref)
	}
	name := wire.Event{Kind: wire.KindSemaphore, Object: obj, Op: wire.OpName, Key: "pool"}
	tracetest.CheckByLabel(t, tracetest.Of(as, obj), map[string][]wire.Event{
		"main": {
			name,
			ev(wire.OpAcquire, 1, 2, 0, 0),
			ev(wire.OpRelease, 1, 2, 0, 0),
			ev(wire.OpRelease, 2, 1, 0, 0),
			ev(wire.OpRelease, 3, 1, 0, 0),
			ev(wire.OpAcquire, 4, 2, 0, 0),
			ev(wire.OpCancel, 0, 1, 0, 0),
			ev(wire.OpRelease, 4, 1, 0, 0),
			ev(wire.OpRelease, 5, 1, 1, 0), // admits w4, leaves w5 queued
			ev(wire.OpRelease, 6, 2, 0, 0),
			ev(wire.OpRelease, 7, 1, 0, 0),
			ev(wire.OpCancel, 0, 1, 0, 0),
			ev(wire.OpAcquire, 7, 1, 0, 0),
			ev(wire.OpRelease, 8, 2, 0, 0),
		},
		"w1": {ev(wire.OpWait, 0, 1, 1, 0), ev(wire.OpAcquire, 2, 1, 0, 1)},
		"w2": {ev(wire.OpWait, 0, 1, 2, 0), ev(wire.OpAcquire, 3, 1, 0, 1)},
		"w3": {ev(wire.OpWait, 0, 1, 1, 0), ev(wire.OpCancel, 0, 1, 0, 0)},
		"w4": {ev(wire.OpWait, 0, 2, 1, 0), ev(wire.OpAcquire, 5, 2, 0, 5)},
		"w5": {ev(wire.OpWait, 0, 1, 2, 0), ev(wire.OpAcquire, 6, 1, 0, 6)},
		"w6": {ev(wire.OpWait, 0, 3, 0, 0), ev(wire.OpCancel, 0, 3, 0, 0)},
		"w7": {ev(wire.OpWait, 0, 2, 1, 0), ev(wire.OpCancel, 0, 2, 0, 0)},
		"w8": {ev(wire.OpWait, 0, 1, 2, 0), ev(wire.OpAcquire, 8, 1, 0, 0)}, // admitted by w7 leaving
	})
}

// TestTraceHandBack checks the annotations when a waiter is admitted just
// as its context is cancelled: if it gives up, the waiter its weight admits
// names the Release that had admitted it, and its own acquire number is
// skipped.
func TestTraceHandBack(t *testing.T) {
	// One P makes the hand-back likely (the waiter runs only after both the
	// Release and the cancel); either outcome is checked.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	bg := context.Background()
	type run struct {
		s         *semaphore.Weighted
		cancelled bool
	}
	var runs []run
	as := tracetest.Record(t, func() {
		tracetest.Label("main")
		for range 20 {
			s := semaphore.NewWeighted(1)
			s.TryAcquire(1)
			ctx, cancel := context.WithCancel(bg)
			first := goAcquire(ctx, s, "first", 1)
			waitParked(t, 1, ours)
			next := goAcquire(bg, s, "next", 1)
			waitParked(t, 2, ours)
			s.Release(1)
			cancel()
			err := tracetest.Recv(t, first).err
			if err == nil {
				s.Release(1)
			}
			must(t, tracetest.Recv(t, next).err)
			s.Release(1)
			runs = append(runs, run{s, err != nil})
		}
	})
	handedBack := 0
	for _, r := range runs {
		obj := semaphore.ObjectID(r.s)
		checkRefs(t, as, obj)
		ev := func(op wire.Op, seq uint64, n, depth int64, ref uint64) wire.Event {
			return sema(obj, op, seq, n, depth, ref)
		}
		if r.cancelled {
			handedBack++
			tracetest.CheckByLabel(t, tracetest.Of(as, obj), map[string][]wire.Event{
				"main": {
					ev(wire.OpAcquire, 1, 1, 0, 0),
					ev(wire.OpRelease, 1, 1, 1, 0),
					ev(wire.OpRelease, 2, 1, 0, 0),
				},
				"first": {ev(wire.OpWait, 0, 1, 1, 0), ev(wire.OpCancel, 0, 1, 0, 0)},
				"next":  {ev(wire.OpWait, 0, 1, 2, 0), ev(wire.OpAcquire, 3, 1, 0, 1)},
			})
		} else {
			tracetest.CheckByLabel(t, tracetest.Of(as, obj), map[string][]wire.Event{
				"main": {
					ev(wire.OpAcquire, 1, 1, 0, 0),
					ev(wire.OpRelease, 1, 1, 1, 0),
					ev(wire.OpRelease, 2, 1, 0, 0),
					ev(wire.OpRelease, 3, 1, 0, 0),
				},
				"first": {ev(wire.OpWait, 0, 1, 1, 0), ev(wire.OpAcquire, 2, 1, 0, 1)},
				"next":  {ev(wire.OpWait, 0, 1, 2, 0), ev(wire.OpAcquire, 3, 1, 0, 2)},
			})
		}
	}
	t.Logf("hand-back in %d of %d runs", handedBack, len(runs))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("Acquire = %v; want nil", err)
	}
}
