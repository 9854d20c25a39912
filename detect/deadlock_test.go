package detect

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// dlScript feeds a synthetic event stream to the deadlock analyzer and
// records each goroutine's state at the end.
type dlScript struct {
	d   *deadlock
	gos map[parse.GoID]*dlGo
	ids []parse.GoID
}

func newDLScript() *dlScript {
	return &dlScript{d: newDeadlock(), gos: make(map[parse.GoID]*dlGo)}
}

func (s *dlScript) g(id parse.GoID) *dlGo {
	g := s.gos[id]
	if g == nil {
		g = &dlGo{ID: id, State: parse.StateRunning, Creator: parse.NoGoroutine}
		s.gos[id] = g
		s.ids = append(s.ids, id)
	}
	return g
}

// create: parent starts child.
func (s *dlScript) create(parent, child parse.GoID) {
	s.g(parent)
	s.g(child).Creator = parent
	s.d.Event(nil, &parse.Event{Kind: parse.EvCreate, G: child, Peer: parent})
}

// ann: goroutine g emits an annotation.
func (s *dlScript) ann(g parse.GoID, e wire.Event) {
	s.g(g)
	s.d.Event(nil, &parse.Event{Kind: parse.EvAnnotation, G: g, Peer: parse.NoGoroutine, Annotation: e})
}

// block leaves g waiting at the end, for reason.
func (s *dlScript) block(g parse.GoID, reason string) {
	s.g(g).State, s.g(g).Reason = parse.StateWaiting, reason
}

func (s *dlScript) exit(g parse.GoID) {
	s.g(g).State = parse.StateExited
	s.d.Event(nil, &parse.Event{Kind: parse.EvExit, G: g, Peer: parse.NoGoroutine})
}

func (s *dlScript) findings() []Finding {
	view := make([]dlGo, 0, len(s.ids))
	for _, id := range s.ids {
		view = append(view, *s.gos[id])
	}
	return s.d.solve(&parse.Stacks{}, nil, view, 1000)
}

// Shorthands for the events of each primitive.
func dlMu(id wire.ObjectID, op wire.Op, seq uint64) wire.Event {
	return wire.Event{Kind: wire.KindMutex, Object: id, Op: op, Seq: seq}
}

func dlRW(id wire.ObjectID, op wire.Op, seq uint64, n int64) wire.Event {
	return wire.Event{Kind: wire.KindRWMutex, Object: id, Op: op, Seq: seq, N: n}
}

func dlEv(kind wire.Kind, id wire.ObjectID, op wire.Op, seq uint64, n, depth int64) wire.Event {
	return wire.Event{Kind: kind, Object: id, Op: op, Seq: seq, N: n, Depth: depth}
}

// dlWant is one expected finding.
type dlWant struct {
	goroutines []parse.GoID
	confidence string
	message    string // regexp
}

func TestDeadlock(t *testing.T) {
	const (
		A wire.ObjectID = 1
		B wire.ObjectID = 2
		C wire.ObjectID = 3
	)
	chanSync := parse.ReasonChanReceive
	tests := []struct {
		name   string
		script func(s *dlScript)
		want   []dlWant
	}{
		{
			name: "lock twice: a cycle of one",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(1, dlMu(A, wire.OpWait, 0))
				s.block(1, chanSync)
			},
			want: []dlWant{{[]parse.GoID{1}, ConfidenceProven, `^goroutine 1 is deadlocked: it waits in Lock on Mutex#1, which it already locked`}},
		},
		{
			name: "RLock while holding Lock",
			script: func(s *dlScript) {
				s.ann(1, wire.Event{Kind: wire.KindRWMutex, Object: A, Op: wire.OpName, Key: "cache"})
				s.ann(1, dlRW(A, wire.OpLock, 1, 0))
				s.ann(1, dlRW(A, wire.OpWait, 0, 1))
				s.block(1, chanSync)
			},
			want: []dlWant{{[]parse.GoID{1}, ConfidenceProven, `waits in RLock on RWMutex#1 "cache", which it already write-locked`}},
		},
		{
			name: "Lock while holding RLock",
			script: func(s *dlScript) {
				s.ann(1, dlRW(A, wire.OpRLock, 0, 0))
				s.ann(1, dlRW(A, wire.OpWait, 0, 0))
				s.block(1, chanSync)
			},
			want: []dlWant{{[]parse.GoID{1}, ConfidenceProven, `waits in Lock on RWMutex#1, which it already read-locked`}},
		},
		{
			name: "ab-ba: a cycle of two",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(2, dlMu(B, wire.OpLock, 1))
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.ann(1, dlMu(B, wire.OpWait, 0))
				s.block(1, chanSync)
				s.block(2, chanSync)
			},
			want: []dlWant{{[]parse.GoID{1, 2}, ConfidenceProven,
				`^goroutines 1 and 2 are deadlocked: goroutine 1 waits in Lock on Mutex#2 at \?, held by goroutine 2 \(locked at \?\); goroutine 2 waits in Lock on Mutex#1 at \?, held by goroutine 1 \(locked at \?\)$`}},
		},
		{
			name: "three philosophers: a cycle of three",
			script: func(s *dlScript) {
				s.ann(7, dlMu(A, wire.OpLock, 1))
				s.ann(5, dlMu(B, wire.OpLock, 1))
				s.ann(6, dlMu(C, wire.OpLock, 1))
				s.ann(7, dlMu(B, wire.OpWait, 0)) // 7 → 5
				s.ann(5, dlMu(C, wire.OpWait, 0)) // 5 → 6
				s.ann(6, dlMu(A, wire.OpWait, 0)) // 6 → 7
				for _, g := range []parse.GoID{5, 6, 7} {
					s.block(g, chanSync)
				}
			},
			want: []dlWant{{[]parse.GoID{5, 6, 7}, ConfidenceProven,
				`^goroutines 5, 6 and 7 are deadlocked: goroutine 5 waits in Lock on Mutex#3 at \?, held by goroutine 6 \(locked at \?\); goroutine 6 waits .* held by goroutine 7 .*; goroutine 7 waits .* held by goroutine 5 \(locked at \?\)$`}},
		},
		{
			name: "a live holder: no deadlock",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.block(2, chanSync)
				s.block(1, parse.ReasonSleep)
			},
		},
		{
			name: "holder blocked on a plain channel: not provable",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.block(2, chanSync)
				s.block(1, parse.ReasonChanSend)
			},
		},
		{
			name: "holder blocked forever on a nil channel",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.block(2, chanSync)
				s.block(1, parse.ReasonForever)
			},
			want: []dlWant{{[]parse.GoID{2}, ConfidenceProven, `goroutine 1 locked it at \? and is blocked forever`}},
		},
		{
			name: "the waiter was woken: no open wait",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.ann(1, dlMu(A, wire.OpUnlock, 1))
				s.ann(2, dlMu(A, wire.OpLock, 2))
				s.exit(1)
				s.block(2, chanSync) // blocked, but not on A
			},
		},
		{
			name: "holder exited without Unlock",
			script: func(s *dlScript) {
				s.ann(1, wire.Event{Kind: wire.KindMutex, Object: A, Op: wire.OpName, Key: "store"})
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.exit(1)
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.ann(3, dlMu(A, wire.OpWait, 0))
				s.block(2, chanSync)
				s.block(3, chanSync)
			},
			want: []dlWant{{[]parse.GoID{2, 3}, ConfidenceProven,
				`^goroutines 2 and 3 wait in Lock on Mutex#1 "store": goroutine 1 locked it at \? and exited$`}},
		},
		{
			name: "lock 2 logged before unlock 1",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.ann(2, dlMu(A, wire.OpLock, 2)) // before goroutine 1's unlock in the log
				s.ann(1, dlMu(A, wire.OpUnlock, 1))
				s.ann(3, dlMu(A, wire.OpWait, 0))
				s.exit(2) // exits holding lock 2
				s.block(3, chanSync)
				// Goroutine 1, alive, must not count as the holder.
			},
			want: []dlWant{{[]parse.GoID{3}, ConfidenceProven, `goroutine 2 locked it at \? and exited`}},
		},
		{
			name: "unlock logged before its lock, same goroutine: no holder",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpUnlock, 4)) // lock 4 was taken before the trace
				s.ann(1, dlMu(A, wire.OpLock, 4))
				s.exit(1)
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.block(2, chanSync)
			},
		},
		{
			name: "unlocked by another goroutine: a hand-off, judged by users",
			script: func(s *dlScript) {
				s.create(1, 2)
				s.ann(2, dlMu(A, wire.OpLock, 1))
				s.ann(3, dlMu(A, wire.OpUnlock, 1)) // 3 unlocks what 2 locked
				s.ann(2, dlMu(A, wire.OpLock, 2))
				s.exit(2)
				s.ann(4, dlMu(A, wire.OpWait, 0))
				s.block(4, chanSync)
				s.block(3, parse.ReasonSleep) // alive: it might unlock again
			},
		},
		{
			name: "hand-off, every user gone",
			script: func(s *dlScript) {
				s.ann(2, dlMu(A, wire.OpLock, 1))
				s.ann(3, dlMu(A, wire.OpUnlock, 1))
				s.ann(2, dlMu(A, wire.OpLock, 2))
				s.exit(2)
				s.exit(3)
				s.ann(4, dlMu(A, wire.OpWait, 0))
				s.block(4, chanSync)
			},
			want: []dlWant{{[]parse.GoID{4}, ConfidenceNoUserAlive, `unlocked by a goroutine that had not locked it`}},
		},
		{
			name: "behind a cycle",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(2, dlMu(B, wire.OpLock, 1))
				s.ann(1, dlMu(B, wire.OpWait, 0))
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.ann(3, dlMu(A, wire.OpWait, 0))
				for _, g := range []parse.GoID{1, 2, 3} {
					s.block(g, chanSync)
				}
			},
			want: []dlWant{
				{[]parse.GoID{1, 2}, ConfidenceProven, `^goroutines 1 and 2 are deadlocked`},
				{[]parse.GoID{3}, ConfidenceProven, `^goroutine 3 waits in Lock on Mutex#1: goroutine 1 locked it at \? and is itself deadlocked, waiting in Lock on Mutex#2`},
			},
		},
		{
			name: "RLock behind a pending writer while holding a read lock",
			script: func(s *dlScript) {
				s.ann(1, dlRW(A, wire.OpRLock, 0, 0))
				s.ann(2, dlRW(A, wire.OpWait, 0, 0)) // writer waits for reader 1
				s.ann(1, dlRW(A, wire.OpWait, 0, 1)) // reader 1 waits for writer 2
				s.block(1, chanSync)
				s.block(2, chanSync)
			},
			want: []dlWant{{[]parse.GoID{1, 2}, ConfidenceProven,
				`^goroutines 1 and 2 are deadlocked: goroutine 1 read-locked RWMutex#1 at \? and read-locks it again at \?, while goroutine 2 waits to write-lock it at \?: the writer waits for goroutine 1's read lock, and the second RLock waits behind the writer$`}},
		},
		{
			name: "writer waits for a reader that exited",
			script: func(s *dlScript) {
				s.ann(1, dlRW(A, wire.OpRLock, 0, 0))
				s.ann(3, dlRW(A, wire.OpRLock, 0, 0))
				s.exit(1)
				s.ann(2, dlRW(A, wire.OpWait, 0, 0))
				s.block(2, chanSync)
				s.block(3, parse.ReasonSleep) // a live reader does not help
			},
			want: []dlWant{{[]parse.GoID{2}, ConfidenceProven, `goroutine 1 read-locked it at \? and exited`}},
		},
		{
			name: "ReentrantMutex re-entry is no wait",
			script: func(s *dlScript) {
				rm := func(op wire.Op, seq uint64, n int64) wire.Event {
					return wire.Event{Kind: wire.KindReentrant, Object: A, Op: op, Seq: seq, N: n}
				}
				s.ann(1, rm(wire.OpLock, 1, 1))
				s.ann(1, rm(wire.OpLock, 1, 2))
				s.ann(1, rm(wire.OpUnlock, 1, 1))
				s.ann(1, rm(wire.OpUnlock, 1, 0))
				s.ann(1, rm(wire.OpLock, 2, 1))
				s.ann(1, rm(wire.OpLock, 2, 2))
				s.ann(1, rm(wire.OpUnlock, 2, 1))
				s.exit(1) // holds it once
				s.ann(2, rm(wire.OpWait, 0, 0))
				s.block(2, chanSync)
			},
			want: []dlWant{{[]parse.GoID{2}, ConfidenceProven, `ReentrantMutex#1: goroutine 1 locked it at \? and exited`}},
		},
		{
			name: "Once re-entered from its own f",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindOnce, A, wire.OpRun, 1, 0, 0))
				s.ann(1, dlEv(wire.KindOnce, A, wire.OpWait, 1, 0, 1))
				s.block(1, chanSync)
			},
			want: []dlWant{{[]parse.GoID{1}, ConfidenceProven, `^goroutine 1 is deadlocked: it calls Do on Once#1 from inside that Once's own f`}},
		},
		{
			name: "Once waiter behind a stuck f",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindOnce, A, wire.OpRun, 1, 0, 0))
				s.ann(1, dlEv(wire.KindOnce, A, wire.OpWait, 1, 0, 1))
				s.ann(2, dlEv(wire.KindOnce, A, wire.OpWait, 1, 0, 2))
				s.block(1, chanSync)
				s.block(2, chanSync)
			},
			want: []dlWant{
				{[]parse.GoID{1}, ConfidenceProven, `from inside that Once's own f`},
				{[]parse.GoID{2}, ConfidenceProven, `^goroutine 2 waits in Do on Once#1: its f runs in goroutine 1 .* which is itself deadlocked`},
			},
		},
		{
			name: "Once waiter after f returned: not stuck",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindOnce, A, wire.OpRun, 1, 0, 0))
				s.ann(2, dlEv(wire.KindOnce, A, wire.OpWait, 1, 0, 1))
				s.ann(1, dlEv(wire.KindOnce, A, wire.OpRunDone, 1, 1, 0))
				s.exit(1)
				s.block(2, chanSync)
			},
		},
		{
			name: "WaitGroup whose counter cannot reach zero",
			script: func(s *dlScript) {
				s.create(0, 1)
				s.ann(1, dlEv(wire.KindWaitGroup, A, wire.OpAdd, 0, 3, 3))
				for _, w := range []parse.GoID{2, 3, 4} {
					s.create(1, w)
				}
				s.ann(2, dlEv(wire.KindWaitGroup, A, wire.OpAdd, 0, -1, 2))
				s.ann(3, dlEv(wire.KindWaitGroup, A, wire.OpAdd, 0, -1, 1))
				s.ann(1, dlEv(wire.KindWaitGroup, A, wire.OpWait, 0, 0, 1))
				s.exit(2)
				s.exit(3)
				s.exit(4) // never calls Done
				s.block(1, chanSync)
				s.block(0, parse.ReasonSleep) // the creator, alive, never used it
			},
			want: []dlWant{{[]parse.GoID{1}, ConfidenceNoUserAlive,
				`^goroutine 1 waits in Wait on WaitGroup#1, whose counter is stuck at 1: .*\(goroutines 2, 3 and 4 exited\)$`}},
		},
		{
			name: "WaitGroup with a live worker",
			script: func(s *dlScript) {
				s.create(0, 1)
				s.ann(1, dlEv(wire.KindWaitGroup, A, wire.OpAdd, 0, 1, 1))
				s.create(1, 2)
				s.ann(1, dlEv(wire.KindWaitGroup, A, wire.OpWait, 0, 0, 1))
				s.block(1, chanSync)
				s.block(2, parse.ReasonSleep) // will call Done
			},
		},
		{
			name: "WaitGroup whose start the trace missed",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindWaitGroup, A, wire.OpAdd, 0, -1, 1)) // counter was 2
				s.exit(1)
				s.ann(2, dlEv(wire.KindWaitGroup, A, wire.OpWait, 0, 0, 1))
				s.block(2, chanSync)
			},
		},
		{
			name: "WaitGroup waiter whose worker is deadlocked",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindWaitGroup, B, wire.OpAdd, 0, 1, 1))
				s.create(1, 2)
				s.ann(9, dlMu(A, wire.OpLock, 1))
				s.exit(9)
				s.ann(2, dlMu(A, wire.OpWait, 0)) // stuck before its Done
				s.ann(1, dlEv(wire.KindWaitGroup, B, wire.OpWait, 0, 0, 1))
				s.block(1, chanSync)
				s.block(2, chanSync)
			},
			want: []dlWant{
				{[]parse.GoID{1}, ConfidenceNoUserAlive, `counter is stuck at 1: .*goroutine 2 is itself deadlocked, waiting in Lock on Mutex#1`},
				{[]parse.GoID{2}, ConfidenceProven, `goroutine 9 locked it at \? and exited`},
			},
		},
		{
			name: "holds a lock while waiting on a WaitGroup its worker needs",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(1, dlEv(wire.KindWaitGroup, B, wire.OpAdd, 0, 1, 1))
				s.create(1, 2)
				s.ann(2, dlMu(A, wire.OpWait, 0))
				s.ann(1, dlEv(wire.KindWaitGroup, B, wire.OpWait, 0, 0, 1))
				s.block(1, chanSync)
				s.block(2, chanSync)
			},
			want: []dlWant{{[]parse.GoID{1, 2}, ConfidenceNoUserAlive,
				`goroutine 1 waits in Wait on WaitGroup#2 which goroutine 2, stuck too, could otherwise wake; goroutine 2 waits in Lock on Mutex#1 at \?, held by goroutine 1`}},
		},
		{
			name: "Cond nobody left can signal",
			script: func(s *dlScript) {
				s.create(0, 1)
				s.create(0, 2)
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(1, dlEv(wire.KindCond, B, wire.OpWait, 1, 0, 1))
				s.ann(1, dlMu(A, wire.OpUnlock, 1))
				s.ann(2, dlMu(A, wire.OpLock, 2))
				s.ann(2, dlMu(A, wire.OpUnlock, 2))
				s.exit(2) // changed the condition, never signalled
				s.block(1, chanSync)
				s.block(0, parse.ReasonSleep)
			},
			want: []dlWant{{[]parse.GoID{1}, ConfidenceNoUserAlive, `^goroutine 1 waits in Wait on Cond#2, which no goroutine left can signal: .*\(goroutine 2 exited\)$`}},
		},
		{
			name: "Cond whose lock a live goroutine uses",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(1, dlEv(wire.KindCond, B, wire.OpWait, 1, 0, 1))
				s.ann(1, dlMu(A, wire.OpUnlock, 1))
				s.ann(2, dlMu(A, wire.OpLock, 2))
				s.ann(2, dlMu(A, wire.OpUnlock, 2))
				s.block(1, chanSync)
				s.block(2, parse.ReasonSleep) // may lock, change and signal
			},
		},
		{
			name: "Cond waiter already signalled: relocking",
			script: func(s *dlScript) {
				s.ann(1, dlMu(A, wire.OpLock, 1))
				s.ann(1, dlEv(wire.KindCond, B, wire.OpWait, 1, 0, 1))
				s.ann(1, dlMu(A, wire.OpUnlock, 1))
				s.ann(2, dlEv(wire.KindCond, B, wire.OpSignal, 1, 0, 0))
				s.exit(2)
				s.block(1, chanSync)
			},
		},
		{
			name: "semaphore weight leaked by an exited holder",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindSemaphore, A, wire.OpAcquire, 1, 1, 0))
				s.exit(1)
				s.ann(2, dlEv(wire.KindSemaphore, A, wire.OpWait, 0, 1, 1))
				s.block(2, parse.ReasonSelect)
			},
			want: []dlWant{{[]parse.GoID{2}, ConfidenceProven, `^goroutine 2 waits in Acquire on Semaphore#1: goroutine 1 holds 1 of its weight \(Acquire at \?\) and exited$`}},
		},
		{
			name: "semaphore with a live holder",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindSemaphore, A, wire.OpAcquire, 1, 1, 0))
				s.ann(3, dlEv(wire.KindSemaphore, A, wire.OpAcquire, 2, 1, 0))
				s.exit(1)
				s.ann(2, dlEv(wire.KindSemaphore, A, wire.OpWait, 0, 1, 1))
				s.block(2, parse.ReasonSelect)
				s.block(3, parse.ReasonSleep)
			},
		},
		{
			name: "semaphore taken before the trace",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindSemaphore, A, wire.OpAcquire, 7, 1, 0))
				s.exit(1)
				s.ann(2, dlEv(wire.KindSemaphore, A, wire.OpWait, 0, 1, 1))
				s.block(2, parse.ReasonSelect)
			},
		},
		{
			name: "semaphore: acquired by the parent, released by workers, one leaks",
			script: func(s *dlScript) {
				s.create(0, 1)
				for i, w := range []parse.GoID{2, 3} {
					s.ann(1, dlEv(wire.KindSemaphore, A, wire.OpAcquire, uint64(i+1), 1, 0))
					s.create(1, w)
				}
				s.ann(2, dlEv(wire.KindSemaphore, A, wire.OpRelease, 1, 1, 0)) // a hand-off
				s.exit(2)
				s.exit(3) // returned without Release
				s.ann(1, dlEv(wire.KindSemaphore, A, wire.OpAcquire, 3, 1, 0))
				s.ann(1, dlEv(wire.KindSemaphore, A, wire.OpWait, 0, 1, 1))
				s.block(1, parse.ReasonSelect)
				s.block(0, parse.ReasonSleep)
			},
			want: []dlWant{{[]parse.GoID{1}, ConfidenceNoUserAlive, `no goroutine that used it, or was started by one, is left to release it`}},
		},
		{
			name: "Acquire of more than the size is not judged",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindSemaphore, A, wire.OpAcquire, 1, 1, 0))
				s.exit(1)
				s.ann(2, dlEv(wire.KindSemaphore, A, wire.OpWait, 0, 9, 0))
				s.block(2, parse.ReasonChanReceive)
			},
		},
		{
			name: "singleflight leader joins its own flight",
			script: func(s *dlScript) {
				s.ann(1, wire.Event{Kind: wire.KindSingleflight, Object: A, Op: wire.OpLead, Seq: 1, Key: "k"})
				s.ann(1, wire.Event{Kind: wire.KindSingleflight, Object: A, Op: wire.OpFollow, Seq: 1, Depth: 1, Key: "k"})
				s.ann(2, wire.Event{Kind: wire.KindSingleflight, Object: A, Op: wire.OpFollow, Seq: 1, Depth: 2, Key: "k"})
				s.block(1, parse.ReasonSync)
				s.block(2, parse.ReasonSync)
			},
			want: []dlWant{
				{[]parse.GoID{1}, ConfidenceProven, `calls Do on singleflight.Group#1 inside the function of the flight it leads itself`},
				{[]parse.GoID{2}, ConfidenceProven, `its flight is led by goroutine 1 .*itself deadlocked`},
			},
		},
		{
			name: "errgroup Wait from one of its own goroutines",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindErrgroup, A, wire.OpGo, 1, 0, 0))
				s.create(1, 2)
				s.ann(2, dlEv(wire.KindErrgroup, A, wire.OpWait, 0, 0, 0))
				s.ann(1, dlEv(wire.KindErrgroup, A, wire.OpWait, 0, 0, 0))
				s.block(1, parse.ReasonSync)
				s.block(2, parse.ReasonSync)
			},
			want: []dlWant{
				{[]parse.GoID{2}, ConfidenceProven, `^goroutine 2 is deadlocked: it waits in Wait on errgroup.Group#1, though it is one of that group's own goroutines`},
				{[]parse.GoID{1}, ConfidenceProven, `its goroutine 2 .* is itself deadlocked`},
			},
		},
		{
			name: "errgroup whose goroutine returned: not stuck",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindErrgroup, A, wire.OpGo, 1, 0, 0))
				s.create(1, 2)
				s.ann(2, dlEv(wire.KindErrgroup, A, wire.OpGoDone, 1, 0, 0))
				s.exit(2)
				s.ann(1, dlEv(wire.KindErrgroup, A, wire.OpWait, 0, 0, 0))
				s.block(1, parse.ReasonSync)
			},
		},
		{
			name: "Chan receiver whose producer exited without Close",
			script: func(s *dlScript) {
				s.create(0, 1)
				s.create(0, 2)
				s.ann(2, dlEv(wire.KindChan, A, wire.OpWait, 1, 1, 0))
				s.ann(2, dlEv(wire.KindChan, A, wire.OpSend, 1, 0, 0))
				s.ann(1, dlEv(wire.KindChan, A, wire.OpWait, 0, 2, 0))
				s.ann(1, wire.Event{Kind: wire.KindChan, Object: A, Op: wire.OpRecv, Seq: 1, Ref: 1})
				s.exit(2)
				s.ann(1, dlEv(wire.KindChan, A, wire.OpWait, 0, 2, 0))
				s.block(1, parse.ReasonChanReceive)
				s.block(0, parse.ReasonSleep)
			},
			want: []dlWant{{[]parse.GoID{1}, ConfidenceNoUserAlive, `waits in Recv on Chan#1, which no goroutine left will send on or close`}},
		},
		{
			name: "Chan wait open while blocked in a select: not judged",
			script: func(s *dlScript) {
				s.ann(1, dlEv(wire.KindChan, A, wire.OpWait, 1, 1, 0))
				s.block(1, parse.ReasonSelect)
			},
		},
	}
	// The cause of each finding, in order, for the tests that name one;
	// every deadlock finding has a cause.
	causes := map[string][]string{
		"lock twice: a cycle of one":                                 {CauseSelfLock},
		"RLock while holding Lock":                                   {CauseSelfLock},
		"Lock while holding RLock":                                   {CauseSelfLock},
		"ab-ba: a cycle of two":                                      {CauseLockCycle},
		"three philosophers: a cycle of three":                       {CauseLockCycle},
		"holder exited without Unlock":                               {CauseNoWaker},
		"behind a cycle":                                             {CauseLockCycle, CauseNoWaker},
		"RLock behind a pending writer while holding a read lock":    {CauseRecursiveRLock},
		"Once re-entered from its own f":                             {CauseOnceReentry},
		"WaitGroup whose counter cannot reach zero":                  {CauseNoWaker},
		"holds a lock while waiting on a WaitGroup its worker needs": {CauseWaitCycle},
		"singleflight leader joins its own flight":                   {CauseWaitCycle, CauseNoWaker},
		"errgroup Wait from one of its own goroutines":               {CauseWaitCycle, CauseNoWaker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newDLScript()
			tt.script(s)
			got := s.findings()
			t.Log(dlDump(got))
			if len(got) != len(tt.want) {
				t.Fatalf("findings = %s; want %d", dlDump(got), len(tt.want))
			}
			if want, ok := causes[tt.name]; ok {
				var have []string
				for _, f := range got {
					have = append(have, f.Cause)
				}
				if !slices.Equal(have, want) {
					t.Errorf("causes = %q; want %q", have, want)
				}
			}
			for i, w := range tt.want {
				f := got[i]
				if f.Cause == "" {
					t.Errorf("finding %d has no cause", i)
				}
				if !slices.Equal(f.Goroutines, w.goroutines) {
					t.Errorf("finding %d goroutines = %v; want %v", i, f.Goroutines, w.goroutines)
				}
				if f.Confidence != w.confidence {
					t.Errorf("finding %d confidence = %q; want %q", i, f.Confidence, w.confidence)
				}
				if !regexp.MustCompile(w.message).MatchString(f.Message) {
					t.Errorf("finding %d message = %q; want match for %q", i, f.Message, w.message)
				}
				if f.Kind != "deadlock" || f.Severity != SeverityError || f.Evidence != EvidenceAnnotations {
					t.Errorf("finding %d = kind %q severity %q evidence %q; want deadlock, error, annotations", i, f.Kind, f.Severity, f.Evidence)
				}
				if f.Hint == "" {
					t.Errorf("finding %d has no hint", i)
				}
			}
		})
	}
}

// TestDeadlockRelated checks that a cycle names, for each goroutine, where
// it is blocked and where it took what the next one waits for.
func TestDeadlockRelated(t *testing.T) {
	s := newDLScript()
	s.ann(1, dlMu(1, wire.OpLock, 1))
	s.ann(2, dlMu(2, wire.OpLock, 1))
	s.ann(1, dlMu(2, wire.OpWait, 0))
	s.ann(2, dlMu(1, wire.OpWait, 0))
	s.block(1, parse.ReasonChanReceive)
	s.block(2, parse.ReasonChanReceive)
	fs := s.findings()
	if len(fs) != 1 {
		t.Fatalf("findings = %s; want 1", dlDump(fs))
	}
	var got []string
	for _, r := range fs[0].Related {
		got = append(got, fmt.Sprintf("%s %d", r.Role, r.Goroutine))
	}
	want := []string{"blocked 1", "holder 2", "blocked 2", "holder 1"}
	if !slices.Equal(got, want) {
		t.Errorf("related = %v; want %v", got, want)
	}
	if fs[0].Object != "Mutex#2, Mutex#1" {
		t.Errorf("object = %q; want %q", fs[0].Object, "Mutex#2, Mutex#1")
	}
}

func TestDLComponents(t *testing.T) {
	graph := map[parse.GoID][]parse.GoID{
		1: {2}, 2: {3}, 3: {1}, // a cycle
		4: {1}, // behind it
		5: {5}, // a self-loop
		6: nil, // alone
		7: {8}, 8: {7},
	}
	nodes := []parse.GoID{1, 2, 3, 4, 5, 6, 7, 8}
	got := dlComponents(nodes, func(id parse.GoID) []parse.GoID { return graph[id] })
	want := [][]parse.GoID{{1, 2, 3}, {4}, {5}, {6}, {7, 8}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("dlComponents = %v; want %v", got, want)
	}
}

func dlDump(fs []Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d findings", len(fs))
	for _, f := range fs {
		fmt.Fprintf(&b, "\n\t%v %s: %s", f.Goroutines, f.Confidence, f.Message)
	}
	return b.String()
}

// TestDropExplained checks that a flight stalled on followers a deadlock
// finding explains is not reported again (nor one whose other followers
// are leaks), and one with another follower is.
func TestDropExplained(t *testing.T) {
	stall := func(gs ...parse.GoID) Finding {
		return Finding{Kind: "singleflight-fanin", Goroutines: gs, Stats: map[string]int64{"followers_waiting": int64(len(gs) - 1)}}
	}
	fs := []Finding{
		{Kind: "deadlock", Goroutines: []parse.GoID{2, 3}},
		stall(1, 2, 3), // leader 1 blocked elsewhere; followers 2 and 3 deadlocked
		stall(5, 2, 4), // follower 4 is not
		{Kind: "leak", Goroutines: []parse.GoID{9}},
		stall(8, 2, 9), // follower 9 is a leak of its own (a DoChan caller)
		stall(8, 9),    // no follower is deadlocked
		{Kind: "singleflight-fanin", Goroutines: []parse.GoID{2}}, // a fan-in, not a stall
	}
	got := dropExplained(fs)
	var kept [][]parse.GoID
	for _, f := range got {
		kept = append(kept, f.Goroutines)
	}
	want := [][]parse.GoID{{2, 3}, {5, 2, 4}, {9}, {8, 9}, {2}}
	if !slices.EqualFunc(kept, want, slices.Equal) {
		t.Errorf("dropExplained kept %v; want %v", kept, want)
	}
}

// TestDeadlockRecursiveRLockRelated checks that a recursive read lock's
// finding relates the writer the second RLock waits behind as queued, not
// as a holder, and the reader's first RLock as the writer's holder.
func TestDeadlockRecursiveRLockRelated(t *testing.T) {
	s := newDLScript()
	s.ann(1, dlRW(1, wire.OpRLock, 0, 0))
	s.ann(2, dlRW(1, wire.OpWait, 0, 0))
	s.ann(1, dlRW(1, wire.OpWait, 0, 1))
	s.block(1, parse.ReasonChanReceive)
	s.block(2, parse.ReasonChanReceive)
	fs := s.findings()
	if len(fs) != 1 || fs[0].Cause != CauseRecursiveRLock {
		t.Fatalf("findings = %s; want one recursive-rlock", dlDump(fs))
	}
	var got []string
	for _, r := range fs[0].Related {
		got = append(got, fmt.Sprintf("%s %d", r.Role, r.Goroutine))
	}
	want := []string{"blocked 1", "queued-writer 2", "blocked 2", "holder 1"}
	if !slices.Equal(got, want) {
		t.Errorf("related = %v; want %v", got, want)
	}
}
