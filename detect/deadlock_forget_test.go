package detect

import (
	"regexp"
	"testing"

	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// forgetting makes the deadlock script forget what is gone: a goroutine
// that exited counts as gone for good (it started nothing alive), and the
// thresholds are low.
func forgetting(t *testing.T, s *dlScript, users, objects int) {
	t.Helper()
	oldUsers, oldObjects := dlForgetUsers, dlForgetObjects
	t.Cleanup(func() { dlForgetUsers, dlForgetObjects = oldUsers, oldObjects })
	dlForgetUsers, dlForgetObjects = users, objects
	s.d.sweepAt = objects
	s.d.goneHook = func(g parse.GoID) bool { return s.gos[g] != nil && s.gos[g].State == parse.StateExited }
}

// TestDeadlockForgetsObjects checks that objects nothing holds or waits on,
// whose users are gone, are forgotten, and that one used again is judged
// as it would have been: seen from its first use, handed off, named.
func TestDeadlockForgetsObjects(t *testing.T) {
	s := newDLScript()
	forgetting(t, s, 4, 16)
	const (
		wg    wire.ObjectID = 5
		sem   wire.ObjectID = 2000
		mu    wire.ObjectID = 3000
		extra wire.ObjectID = 4000
	)
	s.ann(100, wire.Event{Kind: wire.KindWaitGroup, Object: wg, Op: wire.OpName, Key: "reqs"})
	// A thousand requests, a WaitGroup each, done and gone.
	for i := range 1000 {
		g, id := parse.GoID(100+i), wire.ObjectID(1+i)
		s.ann(g, dlEv(wire.KindWaitGroup, id, wire.OpAdd, 0, 1, 1))
		s.ann(g, dlEv(wire.KindWaitGroup, id, wire.OpAdd, 0, -1, 0))
		s.exit(g)
	}
	// A semaphore used from the start, a Mutex handed off: then idle.
	s.ann(1100, dlEv(wire.KindSemaphore, sem, wire.OpAcquire, 1, 1, 0))
	s.ann(1100, dlEv(wire.KindSemaphore, sem, wire.OpRelease, 2, 1, 0))
	s.ann(1101, dlMu(mu, wire.OpLock, 1))
	s.ann(1102, dlMu(mu, wire.OpUnlock, 1)) // a hand-off
	s.exit(1100)
	s.exit(1101)
	s.exit(1102)
	for i := range 40 { // more objects, so that a sweep runs
		g := parse.GoID(1200 + i)
		s.ann(g, dlEv(wire.KindOnce, extra+wire.ObjectID(i), wire.OpRun, 1, 0, 0))
		s.ann(g, dlEv(wire.KindOnce, extra+wire.ObjectID(i), wire.OpRunDone, 1, 0, 0))
		s.exit(g)
	}
	if n := len(s.d.objs); n > 16 {
		t.Errorf("objects tracked after 1000 idle ones = %d; want at most 16", n)
	}
	if n := len(s.d.forgotten); n > 4 {
		t.Errorf("forgotten ranges = %d (%v); want at most 4", n, s.d.forgotten)
	}
	for _, id := range []wire.ObjectID{wg, sem, mu} {
		if s.d.objs[id] != nil {
			t.Fatalf("object %d is still tracked; want it forgotten", id)
		}
	}

	// Used again: a WaitGroup's new epoch whose worker exits without
	// Done; weight taken and never released; the handed-off Mutex locked
	// by a goroutine that exits.
	s.ann(5000, dlEv(wire.KindWaitGroup, wg, wire.OpAdd, 7, 1, 1))
	s.create(5000, 5001)
	s.exit(5001)
	s.ann(5000, dlEv(wire.KindWaitGroup, wg, wire.OpWait, 7, 0, 1))
	s.block(5000, parse.ReasonChanReceive)
	s.ann(6000, dlEv(wire.KindSemaphore, sem, wire.OpAcquire, 5, 1, 0))
	s.exit(6000)
	s.ann(6001, dlEv(wire.KindSemaphore, sem, wire.OpWait, 0, 1, 1))
	s.block(6001, parse.ReasonSelect)
	s.ann(7000, dlMu(mu, wire.OpLock, 2))
	s.exit(7000)
	s.ann(7001, dlMu(mu, wire.OpWait, 0))
	s.block(7001, parse.ReasonSync)

	got := s.findings()
	want := []dlWant{
		{[]parse.GoID{5000}, ConfidenceNoUserAlive, `^goroutine 5000 waits in Wait on WaitGroup#5 "reqs", whose counter is stuck at 1: .*\(goroutine 5001 exited\)$`},
		{[]parse.GoID{6001}, ConfidenceProven, `^goroutine 6001 waits in Acquire on Semaphore#2000: goroutine 6000 holds 1 of its weight`},
		{[]parse.GoID{7001}, ConfidenceNoUserAlive, `^goroutine 7001 waits in Lock on Mutex#3000, which was unlocked by a goroutine that had not locked it`},
	}
	if len(got) != len(want) {
		t.Fatalf("findings = %s; want %d", dlDump(got), len(want))
	}
	for i, w := range want {
		f := got[i]
		if f.Confidence != w.confidence || !regexp.MustCompile(w.message).MatchString(f.Message) {
			t.Errorf("finding %d = %s %q; want %s matching %q", i, f.Confidence, f.Message, w.confidence, w.message)
		}
	}
}

// TestDeadlockForgetsIncomplete checks that an object forgotten before the
// trace saw its first use stays unjudged when used again.
func TestDeadlockForgetsIncomplete(t *testing.T) {
	s := newDLScript()
	forgetting(t, s, 4, 4)
	const ch wire.ObjectID = 1
	s.ann(10, dlEv(wire.KindChan, ch, wire.OpSend, 9, 0, 0)) // message 9: the trace began later
	s.exit(10)
	for i := range 20 {
		s.ann(parse.GoID(20+i), dlEv(wire.KindOnce, wire.ObjectID(100+i), wire.OpRunDone, 1, 0, 0))
		s.exit(parse.GoID(20 + i))
	}
	if s.d.objs[ch] != nil {
		t.Fatal("the channel is still tracked; want it forgotten")
	}
	s.ann(11, dlEv(wire.KindChan, ch, wire.OpWait, 0, 0, 0))
	s.block(11, parse.ReasonChanReceive)
	if got := s.findings(); len(got) != 0 {
		t.Errorf("findings = %s; want none (the channel's users before the trace are unknown)", dlDump(got))
	}
}

// TestDeadlockForgetsUsers checks that a channel's many users that are
// gone are forgotten, and that its finding still names and counts them.
func TestDeadlockForgetsUsers(t *testing.T) {
	run := func(forget bool) (*dlScript, []Finding) {
		s := newDLScript()
		if forget {
			forgetting(t, s, 4, 1024)
		}
		const ch wire.ObjectID = 1
		for i := range 20 {
			g := parse.GoID(10 + i)
			s.ann(g, dlEv(wire.KindChan, ch, wire.OpSend, uint64(1+i), 0, 0))
			s.exit(g)
		}
		s.ann(100, dlEv(wire.KindChan, ch, wire.OpWait, 0, 0, 0))
		s.block(100, parse.ReasonChanReceive)
		return s, s.findings()
	}
	s, got := run(true)
	if n := len(s.d.objs[1].users); n >= 8 {
		t.Errorf("users kept = %d; want fewer than 8 of 21", n)
	}
	_, want := run(false)
	if len(got) != 1 || len(want) != 1 {
		t.Fatalf("findings = %s; without forgetting %s; want 1 each", dlDump(got), dlDump(want))
	}
	const msg = `\(goroutines 10 11 12 13 14 15 16 17 and 12 more exited\)$`
	if !regexp.MustCompile(msg).MatchString(got[0].Message) || got[0].Message != want[0].Message {
		t.Errorf("message = %q;\nwithout forgetting %q;\nwant both to match %q", got[0].Message, want[0].Message, msg)
	}
	if len(got[0].Related) != len(want[0].Related) {
		t.Errorf("related sites = %d; without forgetting %d", len(got[0].Related), len(want[0].Related))
	}
}

// goneCheck checks goneForever at the end of a pass over a real trace
// that drops records: a goroutine it calls gone exited, and so did every
// goroutine it started, directly or not (children: the whole forest, from
// a pass that keeps every record).
type goneCheck struct {
	t                    *testing.T
	d                    *deadlock
	children             map[parse.GoID][]parse.GoID
	gone, exitedWithKids int
}

func (c *goneCheck) Event(*parse.Trace, *parse.Event) {}

func (c *goneCheck) Finalize(tr *parse.Trace) {
	var liveBelow func(parse.GoID) bool
	liveBelow = func(g parse.GoID) bool {
		for _, k := range c.children[g] {
			if !tr.Exited(k) || liveBelow(k) {
				return true
			}
		}
		return false
	}
	for _, ks := range c.children {
		for _, g := range ks {
			gone, live := c.d.goneForever(tr, g), !tr.Exited(g) || liveBelow(g)
			if gone && live {
				c.t.Errorf("%s: goroutine %d is gone for good, but it or a goroutine it started is alive", tr.Path, g)
			}
			if gone {
				c.gone++
			}
			if tr.Exited(g) && live {
				c.exitedWithKids++
			}
		}
	}
}

// TestGoneForever checks, on the corpus, that a goroutine is gone for good
// only if it exited leaving no goroutine it started alive.
func TestGoneForever(t *testing.T) {
	c := &goneCheck{t: t, d: newDeadlock()}
	for _, path := range corpus.Files(t, "go126", "*.trace") {
		full, err := parse.File(path, parse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		c.children = make(map[parse.GoID][]parse.GoID)
		for id, creator := range full.Creations() {
			c.children[creator] = append(c.children[creator], id)
		}
		if _, err := parse.File(path, parse.Options{DropExited: true}, c); err != nil {
			t.Fatal(err)
		}
	}
	if c.gone == 0 || c.exitedWithKids == 0 {
		t.Errorf("gone for good: %d, exited with a live goroutine below: %d; want some of each", c.gone, c.exitedWithKids)
	}
}

// TestDeadlockKeepsCondLocker checks that a Cond's Locker is not forgotten
// while the Cond is tracked: the Cond's waiters count its users as wakers.
func TestDeadlockKeepsCondLocker(t *testing.T) {
	s := newDLScript()
	forgetting(t, s, 4, 4)
	const (
		mu   wire.ObjectID = 1
		cond wire.ObjectID = 2
	)
	s.ann(10, dlMu(mu, wire.OpLock, 1))
	s.ann(10, dlEv(wire.KindCond, cond, wire.OpWait, 1, 0, 0))
	s.ann(10, dlMu(mu, wire.OpUnlock, 1)) // the Cond's Locker
	s.ann(11, dlEv(wire.KindCond, cond, wire.OpSignal, 1, 0, 0))
	s.exit(10)
	s.ann(12, dlEv(wire.KindCond, cond, wire.OpSignal, 2, 0, 0)) // keeps the Cond tracked
	for i := range 20 {
		s.ann(parse.GoID(20+i), dlEv(wire.KindOnce, wire.ObjectID(100+i), wire.OpRunDone, 1, 0, 0))
		s.exit(parse.GoID(20 + i))
	}
	if s.d.objs[cond] == nil || s.d.objs[mu] == nil {
		t.Errorf("Cond tracked: %v, its Locker tracked: %v; want both", s.d.objs[cond] != nil, s.d.objs[mu] != nil)
	}
}
