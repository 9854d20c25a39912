package detect

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// Deadlock reports partial deadlocks among blockscope's annotated
// primitives: sets of goroutines blocked at the end of the trace that can
// never be woken. It rests on annotations only: who holds which lock, runs
// which Once, leads which singleflight flight, holds which semaphore weight,
// and who waits on what.
//
// A goroutine is blocked on an object if it has an open wait on it (a wait
// annotation not yet ended by its lock, acquire, wake or cancel) and the
// runtime says it is waiting at the end, in the same call. It can never be
// woken if the goroutines that could wake it have exited or are themselves
// blocked that way (a greatest fixpoint, so cycles qualify). Who can wake
// whom:
//
//   - a Mutex or ReentrantMutex Lock: the holder;
//   - an RWMutex Lock: the writer or readers holding it (one of them stuck
//     is enough: a writer waits for every reader); an RWMutex RLock: the
//     writer holding it, or else every writer queued for it;
//   - a semaphore Acquire: every goroutine holding weight; a Once or
//     OnceErr Do: the goroutine running f; a singleflight Do: the flight's
//     leader; an errgroup Wait: the group's goroutines that have not
//     returned (one stuck is enough); a Go blocked on the group's limit:
//     all of them.
//
// Findings resting on these are confidence "proven": a cycle in this
// wait-for graph (ab-ba lock order, RLock while holding Lock, a Once
// re-entered from its own f, errgroup Wait from one of the group's
// goroutines), or a wait on a holder that exited without releasing or is
// itself stuck. A lock or semaphore released by a goroutine that did not
// take it (a hand-off) loses its owners: any goroutine that used it might
// release it, as below.
//
// A WaitGroup, a Cond and a Chan have no owner: anyone who has one can call
// Done, Signal, Send or Close. For them the wakers are the goroutines that
// used the object (for a Cond, also its lock) and every goroutine started,
// directly or not, by one of those; the finding says "no-user-alive". A
// goroutine that got the object another way (over a channel) and has not
// used it yet is not seen. Objects the trace did not see from their first
// use (a trace started mid-run) are not judged this way.
//
// Each cycle is one finding at the blocked line of its lowest-numbered
// goroutine, naming every goroutine, the objects, where each waits and
// where each took what the next one waits for (related "holder" sites).
// Goroutines stuck behind a cycle or an exited holder are one finding per
// object and blocked line. Severity error; evidence annotations.
//
// Every finding has a cause (Finding.Cause) and a hint written for it:
//
//   - lock-cycle: goroutines each hold a lock the next one waits for (ab-ba,
//     dining philosophers; any length): take locks in one global order;
//   - recursive-rlock: a goroutine holding a read lock calls RLock again
//     while a writer is queued (the writer waits for its read lock, the
//     RLock waits behind the writer): not lock order, re-entry;
//   - self-lock: a goroutine locks a Mutex it holds, write-locks an RWMutex
//     it read-holds or read-locks one it write-holds (or acquires weight
//     only its own Release would free); the message shows the path from
//     where it took the lock to where it asks again;
//   - once-reentry: Once.Do called from inside that Once's own f;
//   - wait-cycle: any other cycle: channel, WaitGroup, Cond, singleflight
//     or errgroup waits (possibly mixed with locks) among goroutines that
//     only each other can wake;
//   - no-waker: outside any cycle, everyone who could end the wait has
//     exited (holding the lock, the weight, or without Done) or is itself
//     deadlocked (then the hint says to fix that deadlock first).
//
// Plain sync and channels carry no identity: the runtime says a goroutine
// is blocked in sync.(*Mutex).Lock at a line, not which mutex, and an
// uncontended Lock leaves no event, so nobody's holdings are known and no
// cycle can be proven; two goroutines of an ab-ba inversion look like two
// goroutines waiting for a third. Those are left to the leak detector.
// Goroutines this detector reports are also blocked at trace end, so leak
// reports them too, from the runtime's side; the two findings answer
// "what is stuck" (leak) and "why it can never move" (deadlock).
//
// Known false positives: a lock handed to another goroutine to unlock, when
// the trace shows no earlier hand-off of it; an Acquire whose context is
// later cancelled does end (it fails: the weight is still never released);
// for no-user-alive, a live goroutine holding the object without having used
// it during the trace. Not judged: an Acquire for more than the
// semaphore's size (only its context can end it), a Chan operation in a
// select, a DoChan caller (it waits at its own receive). No flags.
//
// Wrong:
//
//	func transfer(from, to *account) {
//		from.mu.Lock()
//		to.mu.Lock() // transfer(a, b) and transfer(b, a) deadlock here
//		...
//	}
//
// Right: lock the two accounts in a fixed order (say, by id).
var Deadlock = register(&Detector{
	Name: "deadlock",
	Doc:  "partial deadlocks among annotated primitives: wait-for cycles and waits no live goroutine can end",
	New:  func(*Config) Analyzer { return newDeadlock() },
})

// Deadlock confidences.
const (
	// ConfidenceProven: every goroutine that could release what the
	// goroutines wait for holds it and is stuck or gone.
	ConfidenceProven = "proven"
	// ConfidenceNoUserAlive: no goroutine that used the object, or was
	// started by one, is left to wake the waiters.
	ConfidenceNoUserAlive = "no-user-alive"
)

// Deadlock causes (Finding.Cause).
const (
	// CauseLockCycle: goroutines each hold a lock the next one waits for.
	CauseLockCycle = "lock-cycle"
	// CauseRecursiveRLock: a goroutine holding a read lock asks for it
	// again while a writer waits: the writer waits for its read lock, its
	// RLock waits behind the writer.
	CauseRecursiveRLock = "recursive-rlock"
	// CauseSelfLock: a goroutine locks a lock it already holds (or
	// acquires semaphore weight only its own release would free).
	CauseSelfLock = "self-lock"
	// CauseOnceReentry: Once.Do called from inside that Once's own f.
	CauseOnceReentry = "once-reentry"
	// CauseWaitCycle: other waits (channels, WaitGroups, Conds,
	// singleflight, errgroup) among goroutines only each other can wake.
	CauseWaitCycle = "wait-cycle"
	// CauseNoWaker: every goroutine that could end the wait has exited
	// or is itself deadlocked.
	CauseNoWaker = "no-waker"
)

// dlMode is what an open wait waits for.
type dlMode uint8

const (
	dlLock      dlMode = iota + 1 // a write lock: Mutex, RWMutex, ReentrantMutex
	dlRLock                       // an RWMutex read lock
	dlAcquire                     // semaphore weight
	dlOnce                        // the running f of a Once or OnceErr
	dlFollow                      // a singleflight flight's leader
	dlGroupWait                   // errgroup Wait
	dlGroupGo                     // errgroup Go at the limit
	dlWaitGroup                   // WaitGroup Wait
	dlCond                        // Cond Wait
	dlSend                        // Chan Send
	dlRecv                        // Chan Recv
)

var dlVerbs = [...]string{
	dlLock: "Lock", dlRLock: "RLock", dlAcquire: "Acquire", dlOnce: "Do",
	dlFollow: "Do", dlGroupWait: "Wait", dlGroupGo: "Go", dlWaitGroup: "Wait",
	dlCond: "Wait", dlSend: "Send", dlRecv: "Recv",
}

// dlWait is a wait a goroutine has open.
type dlWait struct {
	obj   *dlObject
	mode  dlMode
	seq   uint64 // Once attempt, flight, WaitGroup epoch, Cond ticket
	depth int64
	stack parse.StackID
}

// dlHold is something a goroutine holds: a lock, weight, a running f, a
// flight, a place in an errgroup.
type dlHold struct {
	g     parse.GoID
	stack parse.StackID // where it took it
	n     int64         // read locks or weight (shares)
	key   string        // singleflight key
}

// dlObject is one annotated object's state.
type dlObject struct {
	id   wire.ObjectID
	kind wire.Kind
	name string

	// slots are the things owned one at a time, by number: write locks by
	// acquisition number, Once runs by attempt, flights by flight number,
	// errgroup goroutines by number.
	slots map[uint64]*dlHold
	// early holds unlocks seen before their lock (a lock taken before the
	// trace began, or events of two goroutines out of order), by
	// acquisition number, with the unlocking goroutine.
	early map[uint64]parse.GoID
	// shares are RWMutex read locks and semaphore weight, by holder.
	shares map[parse.GoID]*dlHold
	// handoff: released by a goroutine that did not take it, so holding
	// no longer says who can release it.
	handoff bool
	// users are the goroutines that used the object, with the stack of
	// their last annotation on it.
	users map[parse.GoID]parse.StackID
	// minSeq is the lowest first-use number seen (acquisition, ticket,
	// message id; 0: none): above 1, the object was used before the trace.
	minSeq uint64

	// WaitGroup: the current epoch and counter; whether that epoch's
	// start (the counter leaving zero) was seen, and epoch 0's.
	epoch     uint64
	counter   int64
	epochSeen bool
	firstSeen bool
	// Cond: tickets up to notified have been signalled; locks are the
	// Locker(s) its waiters unlock.
	notified uint64
	locks    []*dlObject
	// errgroup: how many goroutine numbers were seen, and the largest.
	goCount, goMax uint64

	// condRefs counts the Conds whose Locker it is (see deadlock.sweep).
	condRefs int
	// partial: forgotten, and not seen from its first use then, so not
	// judged by its users now; regroup: a forgotten errgroup whose Go
	// numbering resumes at its next Go.
	partial, regroup bool
	// gone counts the users forgotten because they exited, leaving no
	// goroutine they started behind (see deadlock.pruneUsers); goneFirst
	// holds the lowest-numbered of them, at most dlGoneShown, with their
	// stacks. pruneAt is the number of users that prunes them again.
	gone      int
	goneFirst []dlUser
	pruneAt   int
}

// dlUser is a goroutine that used an object, with the stack of its last
// annotation on it, and, once forgotten, the count of it and the
// goroutines it started (see parse.Trace.Subtree).
type dlUser struct {
	g     parse.GoID
	stack parse.StackID
	below *parse.Dropped
}

// dlGoneShown is how many forgotten users an object keeps to name in
// findings.
const dlGoneShown = 8

func (o *dlObject) note(seq uint64) {
	if seq > 0 && (o.minSeq == 0 || seq < o.minSeq) {
		o.minSeq = seq
	}
}

// complete reports whether the trace saw the object from its first use, so
// that its users are known.
func (o *dlObject) complete() bool {
	if o.partial {
		return false
	}
	if o.kind == wire.KindWaitGroup {
		return o.firstSeen
	}
	return o.minSeq <= 1
}

// String names the object in messages: `Mutex#3 "accounts"` (see
// parse.ObjectRef).
func (o *dlObject) String() string {
	return parse.ObjectRef(o.kind, o.id, o.name)
}

func dlIsLock(k wire.Kind) bool {
	return k == wire.KindMutex || k == wire.KindRWMutex || k == wire.KindReentrant
}

type dlPendingGo struct {
	obj   *dlObject
	seq   uint64
	stack parse.StackID
}

type deadlock struct {
	objs map[wire.ObjectID]*dlObject
	// forgotten are the objects sweep forgot (and not seen since), as
	// ranges of ids, sorted; names keeps the names of those that had one.
	forgotten []dlForgotten
	names     map[wire.ObjectID]string
	// sweepAt is the number of objects at which the next sweep runs.
	sweepAt int
	// goneHook, in unit tests without a trace, says which goroutines
	// are gone for good (see goneForever).
	goneHook func(parse.GoID) bool
	// watching counts, by goroutine, the tracked objects it is a user of
	// (see watch).
	watching map[parse.GoID]int
	// open are each goroutine's open waits, innermost last (a Cond waiter
	// relocking its Locker has two).
	open map[parse.GoID][]dlWait
	// condLink: a Cond the goroutine just began waiting on; its next
	// annotation, the Unlock of the Cond's Locker, names that lock.
	condLink map[parse.GoID]*dlObject
	// goPending: an errgroup Go whose go statement comes next.
	goPending map[parse.GoID]dlPendingGo
	findings  []Finding
}

func newDeadlock() *deadlock {
	return &deadlock{
		objs:      make(map[wire.ObjectID]*dlObject),
		open:      make(map[parse.GoID][]dlWait),
		condLink:  make(map[parse.GoID]*dlObject),
		goPending: make(map[parse.GoID]dlPendingGo),
		sweepAt:   dlForgetObjects,
	}
}

func (d *deadlock) object(t *parse.Trace, kind wire.Kind, id wire.ObjectID) *dlObject {
	o := d.objs[id]
	if o == nil {
		if len(d.objs) >= d.sweepAt {
			d.sweep(t)
		}
		o = &dlObject{id: id, kind: kind}
		d.remember(o)
		d.objs[id] = o
	}
	return o
}

// Kinds are the events deadlock takes (see parse.Selective).
func (*deadlock) Kinds() parse.Kinds {
	return parse.KindsOf(parse.EvCreate, parse.EvExit, parse.EvAnnotation)
}

// hold records slot k of o as held.
func (o *dlObject) hold(k uint64, h *dlHold) {
	if o.slots == nil {
		o.slots = make(map[uint64]*dlHold)
	}
	o.slots[k] = h
}

// Event tracks holdings and open waits from the annotations, and which
// goroutine each errgroup Go started.
func (d *deadlock) Event(t *parse.Trace, ev *parse.Event) {
	switch ev.Kind {
	case parse.EvCreate:
		if p, ok := d.goPending[ev.Peer]; ok {
			delete(d.goPending, ev.Peer)
			p.obj.hold(p.seq, &dlHold{g: ev.G, stack: p.stack})
		}
	case parse.EvExit:
		delete(d.open, ev.G)
		delete(d.condLink, ev.G)
		delete(d.goPending, ev.G)
	case parse.EvAnnotation:
		d.annotation(t, ev.G, ev.Stack, &ev.Annotation)
	}
}

// dlCloses reports whether an op ends its goroutine's open wait on the
// object: an acquire-like op or a cancel, an errgroup go (ending a Go
// blocked on the limit) and a chan send.
func dlCloses(op wire.Op) bool {
	c := op.Class()
	return c == wire.ClassAcquire || c == wire.ClassCancel || op == wire.OpGo || op == wire.OpSend
}

func (d *deadlock) annotation(t *parse.Trace, g parse.GoID, stack parse.StackID, a *wire.Event) {
	o := d.object(t, a.Kind, a.Object)
	if a.Op == wire.OpName {
		o.name = a.Key
		return
	}
	d.use(t, o, g, stack)
	if c := d.condLink[g]; c != nil {
		delete(d.condLink, g)
		if (a.Op == wire.OpUnlock || a.Op == wire.OpRUnlock) && dlIsLock(a.Kind) && !slices.Contains(c.locks, o) {
			c.locks = append(c.locks, o)
			o.condRefs++
		}
	}
	if dlCloses(a.Op) {
		d.closeWait(g, o)
	}
	switch a.Op {
	case wire.OpWait, wire.OpFollow:
		w := dlWait{obj: o, seq: a.Seq, depth: a.Depth, stack: stack}
		switch a.Kind {
		case wire.KindMutex, wire.KindReentrant:
			w.mode = dlLock
		case wire.KindRWMutex:
			w.mode = dlLock
			if a.N == 1 {
				w.mode = dlRLock
			}
		case wire.KindSemaphore:
			w.mode = dlAcquire
		case wire.KindOnce, wire.KindOnceErr:
			w.mode = dlOnce
		case wire.KindSingleflight:
			w.mode = dlFollow
		case wire.KindErrgroup:
			w.mode = dlGroupWait
			if a.N == 1 {
				w.mode = dlGroupGo
			}
		case wire.KindWaitGroup:
			w.mode = dlWaitGroup
		case wire.KindCond:
			w.mode = dlCond
			o.note(a.Seq)
			d.condLink[g] = o
		case wire.KindChan:
			w.mode = dlRecv
			if a.N == 1 {
				w.mode = dlSend
				o.note(a.Seq)
			}
		default:
			return
		}
		d.closeWait(g, o)
		d.open[g] = append(d.open[g], w)

	case wire.OpLock:
		if a.Kind == wire.KindReentrant && a.N > 1 {
			return // a re-entry: already held
		}
		o.note(a.Seq)
		if u, ok := o.early[a.Seq]; ok {
			delete(o.early, a.Seq)
			if u != g {
				o.handoff = true
			}
			return
		}
		o.hold(a.Seq, &dlHold{g: g, stack: stack})
	case wire.OpUnlock:
		if a.Kind == wire.KindReentrant && a.N > 0 {
			return // still held
		}
		if h, ok := o.slots[a.Seq]; ok {
			delete(o.slots, a.Seq)
			if h.g != g {
				o.handoff = true
			}
			return
		}
		if o.early == nil {
			o.early = make(map[uint64]parse.GoID)
		}
		o.early[a.Seq] = g
	case wire.OpRLock:
		o.take(g, stack, 1)
	case wire.OpRUnlock:
		o.give(g, 1)
	case wire.OpAcquire:
		o.note(a.Seq)
		o.take(g, stack, a.N)
	case wire.OpRelease:
		o.note(a.Seq)
		o.give(g, a.N)

	case wire.OpRun:
		o.hold(a.Seq, &dlHold{g: g, stack: stack})
	case wire.OpRunDone, wire.OpReturn, wire.OpGoDone:
		delete(o.slots, a.Seq)
	case wire.OpLead:
		o.hold(a.Seq, &dlHold{g: g, stack: stack, key: a.Key})
	case wire.OpGo:
		if o.regroup { // forgotten complete: its numbering resumes here
			o.regroup = false
			o.goCount, o.goMax = a.Seq-1, a.Seq-1
		}
		o.goCount++
		o.goMax = max(o.goMax, a.Seq)
		d.goPending[g] = dlPendingGo{obj: o, seq: a.Seq, stack: stack}

	case wire.OpAdd:
		if a.Depth-a.N == 0 { // the counter left zero: an epoch starts
			o.epoch, o.epochSeen = a.Seq, true
			if a.Seq == 0 {
				o.firstSeen = true
			}
		} else if a.Seq != o.epoch {
			o.epoch, o.epochSeen = a.Seq, false
		}
		o.counter = a.Depth

	case wire.OpSignal:
		o.note(a.Seq)
		o.notified = max(o.notified, a.Seq)
	case wire.OpBroadcast:
		if a.N > 0 {
			o.note(a.Seq)
			o.notified = max(o.notified, a.Seq+uint64(a.N)-1)
		}

	case wire.OpSend, wire.OpCancel, wire.OpRecv:
		if a.Kind == wire.KindChan && (a.Op != wire.OpCancel || a.N == 1) {
			o.note(a.Seq)
			o.note(a.Ref)
		}
	}
}

// take records n read locks or weight taken by g.
func (o *dlObject) take(g parse.GoID, stack parse.StackID, n int64) {
	if h := o.shares[g]; h != nil {
		h.n += n
		return
	}
	if o.shares == nil {
		o.shares = make(map[parse.GoID]*dlHold)
	}
	o.shares[g] = &dlHold{g: g, stack: stack, n: n}
}

// give records n read locks or weight released by g; more than g holds
// is a hand-off.
func (o *dlObject) give(g parse.GoID, n int64) {
	h := o.shares[g]
	if h == nil || h.n < n {
		o.handoff = true
	}
	if h != nil {
		if h.n -= n; h.n <= 0 {
			delete(o.shares, g)
		}
	}
}

// closeWait ends g's innermost open wait on o, if any.
func (d *deadlock) closeWait(g parse.GoID, o *dlObject) {
	ws := d.open[g]
	for i := len(ws) - 1; i >= 0; i-- {
		if ws[i].obj == o {
			ws = slices.Delete(ws, i, i+1)
			break
		}
	}
	if len(ws) == 0 {
		delete(d.open, g)
	} else {
		d.open[g] = ws
	}
}

// dlGo is what the analysis needs to know of a goroutine at trace end.
type dlGo struct {
	ID      parse.GoID
	State   parse.State
	Reason  string
	Stack   parse.StackID
	Since   parse.Time
	Creator parse.GoID
}

// Finalize finds the goroutines that can never be woken.
func (d *deadlock) Finalize(t *parse.Trace) {
	var view []dlGo
	for g := range t.All() {
		view = append(view, dlGo{ID: g.ID, State: g.State, Reason: g.Reason, Stack: g.Stack, Since: g.Since, Creator: g.Creator})
	}
	d.findings = d.solve(t.Stacks, t, view, parse.Time(t.End-t.Start))
}

func (d *deadlock) Findings() []Finding { return d.findings }

// dlNeed is what would wake a blocked goroutine.
type dlNeed struct {
	ok     bool         // the wakers are known
	all    bool         // stuck only if every waker is dead (else: if any is)
	users  bool         // the wakers are the object's users, not its holders
	wakers []parse.GoID // sorted
	// dropped counts the goroutines the users started whose records the
	// trace dropped (exited: not among wakers); droppedLow names the
	// lowest-numbered of them.
	dropped    int
	droppedLow []parse.GoID
}

func (n *dlNeed) stuck(dead func(parse.GoID) bool) bool {
	if !n.ok {
		return false
	}
	if n.all {
		for _, w := range n.wakers {
			if !dead(w) {
				return false
			}
		}
		return true
	}
	return slices.ContainsFunc(n.wakers, dead)
}

// dlCand is a goroutine blocked at trace end on an annotated wait.
type dlCand struct {
	g    *dlGo
	wait dlWait
	need dlNeed
	out  []parse.GoID // wait-for edges to stuck goroutines
}

// dlSolver holds one Finalize's working state.
type dlSolver struct {
	d        *deadlock
	stacks   *parse.Stacks
	trace    *parse.Trace // nil in unit tests
	end      parse.Time
	gos      map[parse.GoID]*dlGo
	children map[parse.GoID][]parse.GoID
	cands    map[parse.GoID]*dlCand
	stuck    map[parse.GoID]bool
}

func (d *deadlock) solve(stacks *parse.Stacks, t *parse.Trace, view []dlGo, end parse.Time) []Finding {
	s := &dlSolver{
		d: d, stacks: stacks, trace: t, end: end,
		gos:   make(map[parse.GoID]*dlGo, len(view)),
		cands: make(map[parse.GoID]*dlCand),
		stuck: make(map[parse.GoID]bool),
	}
	for i := range view {
		s.gos[view[i].ID] = &view[i]
	}
	for _, id := range slices.Sorted(maps.Keys(d.open)) {
		ws := d.open[id]
		g := s.gos[id]
		if len(ws) == 0 || g == nil || g.State != parse.StateWaiting {
			continue
		}
		w := ws[len(ws)-1]
		if !s.blockedIn(g, w) {
			continue
		}
		s.cands[id] = &dlCand{g: g, wait: w}
	}
	if len(s.cands) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(s.cands))
	for _, id := range ids {
		c := s.cands[id]
		c.need = s.need(c)
		s.stuck[id] = c.need.ok
	}
	// The greatest fixpoint: a candidate stays stuck while its wakers are
	// dead, stuck candidates counting as dead.
	for changed := true; changed; {
		changed = false
		for _, id := range ids {
			if s.stuck[id] && !s.cands[id].need.stuck(s.dead) {
				s.stuck[id] = false
				changed = true
			}
		}
	}
	var stuck []parse.GoID
	for _, id := range ids {
		if !s.stuck[id] {
			continue
		}
		stuck = append(stuck, id)
		c := s.cands[id]
		for _, w := range c.need.wakers {
			if s.stuck[w] && !(c.need.users && w == id) {
				c.out = append(c.out, w)
			}
		}
	}
	var fs []Finding
	inCycle := make(map[parse.GoID]bool)
	for _, scc := range dlComponents(stuck, func(id parse.GoID) []parse.GoID { return s.cands[id].out }) {
		if len(scc) == 1 && !slices.Contains(s.cands[scc[0]].out, scc[0]) {
			continue
		}
		for _, id := range scc {
			inCycle[id] = true
		}
		fs = append(fs, s.cycleFinding(scc))
	}
	// The rest wait behind a cycle or on a holder that is gone: one
	// finding per object, wait and blocked line.
	type groupKey struct {
		obj  wire.ObjectID
		mode dlMode
		loc  parse.Frame
	}
	groups := make(map[groupKey][]parse.GoID)
	var order []groupKey
	for _, id := range stuck {
		if inCycle[id] {
			continue
		}
		c := s.cands[id]
		loc, _ := s.stacks.Location(c.g.Stack)
		k := groupKey{c.wait.obj.id, c.wait.mode, loc}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], id)
	}
	for _, k := range order {
		fs = append(fs, s.waitFinding(groups[k]))
	}
	return fs
}

// blockedIn reports whether a waiting goroutine is blocked in its open
// wait w: in the same call of the user's, where both stacks show one (a
// stale wait, one the goroutine went on from without an annotation, is
// elsewhere), and for a Chan, in the channel operation itself rather than
// a select.
func (s *dlSolver) blockedIn(g *dlGo, w dlWait) bool {
	switch w.mode {
	case dlSend:
		if g.Reason != parse.ReasonChanSend {
			return false
		}
	case dlRecv:
		if g.Reason != parse.ReasonChanReceive {
			return false
		}
	}
	at, ok1 := s.stacks.UserFrame(w.stack)
	now, ok2 := s.stacks.UserFrame(g.Stack)
	return !ok1 || !ok2 || at == now
}

// dead reports whether a goroutine will never run again: it exited, waits
// on a nil channel or an empty select, or is (still assumed) stuck.
func (s *dlSolver) dead(id parse.GoID) bool {
	if s.stuck[id] {
		return true
	}
	g := s.gos[id]
	if g == nil {
		return s.gone(id)
	}
	return g.State == parse.StateExited || g.State == parse.StateWaiting && g.Reason == parse.ReasonForever
}

// gone reports whether a goroutine the view lacks exited: the trace keeps
// no record of most exited goroutines (parse.Options.DropExited).
func (s *dlSolver) gone(id parse.GoID) bool {
	return s.trace != nil && s.trace.Exited(id)
}

// need says who could end a candidate's wait.
func (s *dlSolver) need(c *dlCand) dlNeed {
	o, w := c.wait.obj, c.wait
	owners := func(all bool, gs ...parse.GoID) dlNeed {
		slices.Sort(gs)
		gs = slices.Compact(gs)
		return dlNeed{ok: len(gs) > 0, all: all, wakers: gs}
	}
	switch w.mode {
	case dlLock:
		if o.handoff {
			return s.usersNeed(o)
		}
		var hs []parse.GoID
		for _, h := range o.slots {
			hs = append(hs, h.g)
		}
		if o.kind == wire.KindRWMutex {
			// A writer waits for every reader to leave.
			for g := range o.shares {
				hs = append(hs, g)
			}
			return owners(false, hs...)
		}
		return owners(true, hs...)
	case dlRLock:
		if o.handoff {
			return s.usersNeed(o)
		}
		var hs []parse.GoID
		for _, h := range o.slots {
			hs = append(hs, h.g)
		}
		if len(hs) == 0 {
			// No writer holds it: the reader waits behind a queued one.
			hs = s.writersQueued(o, c.g.ID)
		}
		return owners(true, hs...)
	case dlAcquire:
		if w.depth == 0 {
			return dlNeed{} // more than the size: only its context ends it
		}
		if o.handoff {
			return s.usersNeed(o)
		}
		if !o.complete() {
			return dlNeed{} // weight taken before the trace: holders unknown
		}
		var hs []parse.GoID
		for g := range o.shares {
			hs = append(hs, g)
		}
		return owners(true, hs...)
	case dlOnce, dlFollow:
		if h := o.slots[w.seq]; h != nil {
			return owners(true, h.g)
		}
		return dlNeed{} // f returned, or started before the trace
	case dlGroupWait, dlGroupGo:
		if o.partial || o.goCount != o.goMax {
			return dlNeed{} // goroutines started before the trace
		}
		var hs []parse.GoID
		for _, h := range o.slots {
			hs = append(hs, h.g)
		}
		return owners(w.mode == dlGroupGo, hs...)
	case dlWaitGroup:
		if !o.epochSeen || w.seq != o.epoch || o.counter <= 0 {
			return dlNeed{}
		}
		return s.usersNeed(o)
	case dlCond:
		if w.seq <= o.notified {
			return dlNeed{} // signalled; relocking
		}
		return s.usersNeed(s.wakerObjects(c)...)
	case dlSend, dlRecv:
		return s.usersNeed(o)
	}
	return dlNeed{}
}

// wakerObjects are the objects whose users could end c's wait, when its
// wakers are users: its object's, and for a Cond its Lockers'.
func (s *dlSolver) wakerObjects(c *dlCand) []*dlObject {
	if c.wait.mode == dlCond {
		return append([]*dlObject{c.wait.obj}, c.wait.obj.locks...)
	}
	return []*dlObject{c.wait.obj}
}

// writersQueued lists the goroutines with an open write-lock wait on o.
func (s *dlSolver) writersQueued(o *dlObject, except parse.GoID) []parse.GoID {
	var out []parse.GoID
	for g, ws := range s.d.open {
		if g == except {
			continue
		}
		for _, w := range ws {
			if w.obj == o && w.mode == dlLock {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// usersNeed: the wakers are the objects' users and every goroutine they
// started, directly or not.
func (s *dlSolver) usersNeed(objs ...*dlObject) dlNeed {
	seen := make(map[parse.GoID]bool)
	var queue []parse.GoID
	for _, o := range objs {
		if !o.complete() {
			return dlNeed{}
		}
		for g := range o.users {
			if !seen[g] {
				seen[g] = true
				queue = append(queue, g)
			}
		}
	}
	if s.children == nil {
		// The view's forest: the trace's kept records.
		s.children = make(map[parse.GoID][]parse.GoID)
		for _, g := range s.gos {
			if g.Creator != parse.NoGoroutine {
				s.children[g.Creator] = append(s.children[g.Creator], g.ID)
			}
		}
	}
	for i := 0; i < len(queue); i++ {
		for _, ch := range s.children[queue[i]] {
			if !seen[ch] {
				seen[ch] = true
				queue = append(queue, ch)
			}
		}
	}
	slices.Sort(queue)
	n := dlNeed{ok: len(queue) > 0, all: true, users: true, wakers: queue}
	var forgotten []*parse.Dropped
	for _, o := range objs {
		for _, u := range o.goneFirst {
			if u.below != nil {
				forgotten = append(forgotten, u.below)
			}
		}
	}
	n.dropped, n.droppedLow = s.droppedBelow(queue, forgotten)
	return n
}

// droppedBelow counts the goroutines whose records the trace dropped
// among those the goroutines of closure started, directly or not (closure
// holds every kept goroutine they started): those counted under each kept
// one, and under each dropped one (a user, watched) or forgotten user not
// already counted. It returns how many, and the lowest-numbered of them.
func (s *dlSolver) droppedBelow(closure []parse.GoID, forgotten []*parse.Dropped) (int, []parse.GoID) {
	if s.trace == nil {
		return 0, nil
	}
	counted := make(map[*parse.Dropped]bool)
	roots := make(map[*parse.Dropped]bool)
	for _, d := range forgotten {
		roots[d] = true
	}
	for _, id := range closure {
		if d := s.trace.DroppedUnder(id); d != nil {
			counted[d] = true
		} else if d := s.trace.Subtree(id); d != nil {
			roots[d] = true
		}
	}
	for d := range roots {
		covered := false
		for u := d.Up(); u != nil && !covered; u = u.Up() {
			covered = counted[u] || roots[u]
		}
		if !covered {
			counted[d] = true
		}
	}
	n := 0
	var low []parse.GoID
	for d := range counted {
		n += d.N
		low = append(low, d.Low...)
	}
	slices.Sort(low)
	return n, low[:min(len(low), parse.DroppedShown)]
}

// dlComponents returns the strongly connected components of the graph on
// nodes (sorted), each sorted, in order of their smallest node (Tarjan).
func dlComponents(nodes []parse.GoID, out func(parse.GoID) []parse.GoID) [][]parse.GoID {
	index := make(map[parse.GoID]int)
	low := make(map[parse.GoID]int)
	on := make(map[parse.GoID]bool)
	var stack []parse.GoID
	var comps [][]parse.GoID
	var visit func(v parse.GoID)
	visit = func(v parse.GoID) {
		index[v] = len(index)
		low[v] = index[v]
		stack = append(stack, v)
		on[v] = true
		for _, w := range out(v) {
			if _, ok := index[w]; !ok {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []parse.GoID
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			slices.Sort(comp)
			comps = append(comps, comp)
		}
	}
	for _, v := range nodes {
		if _, ok := index[v]; !ok {
			visit(v)
		}
	}
	slices.SortFunc(comps, func(a, b []parse.GoID) int { return cmp.Compare(a[0], b[0]) })
	return comps
}

// cycleOf returns a shortest cycle through the component's smallest
// goroutine, starting there.
func (s *dlSolver) cycleOf(scc []parse.GoID) []parse.GoID {
	start := scc[0]
	in := make(map[parse.GoID]bool, len(scc))
	for _, id := range scc {
		in[id] = true
	}
	prev := map[parse.GoID]parse.GoID{}
	queue := []parse.GoID{start}
	for i := 0; i < len(queue); i++ {
		v := queue[i]
		for _, w := range s.cands[v].out {
			if w == start {
				var path []parse.GoID
				for x := v; x != start; x = prev[x] {
					path = append(path, x)
				}
				path = append(path, start)
				slices.Reverse(path)
				return path
			}
			if _, ok := prev[w]; !ok && in[w] {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []parse.GoID{start} // unreachable for a cyclic component
}

func dlWhere(f parse.Frame) string {
	if f.File == "" {
		return "?"
	}
	return fmt.Sprintf("%s:%d", baseFile(f.File), f.Line)
}

func (s *dlSolver) at(stack parse.StackID) string {
	f, _ := s.stacks.Location(stack)
	return dlWhere(f)
}

func (s *dlSolver) site(g parse.GoID, stack parse.StackID) Site {
	loc, _ := s.stacks.Location(stack)
	return Site{Goroutine: g, Location: loc, Stack: s.stacks.Frames(stack)}
}

// holding describes what h holds that c waits for, and where it took it.
func (s *dlSolver) holding(c *dlCand, h parse.GoID) (what string, stack parse.StackID, ok bool) {
	o := c.wait.obj
	if c.need.users {
		st, ok := o.users[h]
		for _, l := range o.locks {
			if !ok {
				st, ok = l.users[h]
			}
		}
		return "used it", st, ok
	}
	for _, k := range slices.Sorted(maps.Keys(o.slots)) {
		sl := o.slots[k]
		if sl.g != h {
			continue
		}
		switch c.wait.mode {
		case dlLock, dlRLock:
			if o.kind == wire.KindRWMutex {
				return "write-locked it", sl.stack, true
			}
			return "locked it", sl.stack, true
		case dlOnce:
			return "runs its f", sl.stack, true
		case dlFollow:
			return fmt.Sprintf("leads its flight for key %q", sl.key), sl.stack, true
		case dlGroupWait, dlGroupGo:
			return "was started by its Go", sl.stack, true
		}
	}
	if sh := o.shares[h]; sh != nil {
		if o.kind == wire.KindRWMutex {
			return "read-locked it", sh.stack, true
		}
		return fmt.Sprintf("holds %d of its weight", sh.n), sh.stack, true
	}
	if c.wait.mode == dlRLock {
		for _, w := range s.d.open[h] {
			if w.obj == o && w.mode == dlLock {
				return "is queued to write-lock it", w.stack, true
			}
		}
	}
	return "", parse.NoStack, false
}

// edge describes, in a cycle, how c waits for goroutine h.
func (s *dlSolver) edge(c *dlCand, h parse.GoID) string {
	g := c.g.ID
	o := c.wait.obj
	verb := dlVerbs[c.wait.mode]
	what, stack, _ := s.holding(c, h)
	if h == g {
		switch c.wait.mode {
		case dlOnce:
			return fmt.Sprintf("goroutine %d calls Do on %v from inside that Once's own f (%s), and Do waits for f to return", g, o, s.reentry("f started at", c.g.Stack, stack))
		case dlFollow:
			return fmt.Sprintf("goroutine %d calls Do on %v inside the function of the flight it leads itself (%s)", g, o, s.reentry("Do at", c.g.Stack, stack))
		case dlGroupWait, dlGroupGo:
			return fmt.Sprintf("goroutine %d waits in %s on %v, though it is one of that group's own goroutines (started at %s)", g, verb, o, s.at(stack))
		case dlAcquire:
			return fmt.Sprintf("goroutine %d waits in Acquire on %v while it %s itself (Acquire at %s)", g, o, what, s.at(stack))
		}
		return fmt.Sprintf("goroutine %d waits in %s on %v, which it already %s (%s)", g, verb, o, strings.TrimSuffix(what, " it"), s.reentry("at", c.g.Stack, stack))
	}
	var rel string
	switch {
	case c.need.users:
		rel = fmt.Sprintf("which goroutine %d, stuck too, could otherwise wake", h)
	case c.wait.mode == dlLock && o.kind != wire.KindRWMutex:
		rel = fmt.Sprintf("at %s, held by goroutine %d (locked at %s)", s.at(c.g.Stack), h, s.at(stack))
	case c.wait.mode == dlLock || c.wait.mode == dlRLock:
		if what == "is queued to write-lock it" {
			rel = fmt.Sprintf("at %s, behind the pending Lock of goroutine %d (at %s)", s.at(c.g.Stack), h, s.at(stack))
		} else {
			rel = fmt.Sprintf("at %s, %s by goroutine %d (at %s)", s.at(c.g.Stack), strings.TrimSuffix(what, " it"), h, s.at(stack))
		}
	case c.wait.mode == dlAcquire:
		rel = fmt.Sprintf("whose weight goroutine %d holds", h)
	case c.wait.mode == dlOnce:
		rel = fmt.Sprintf("whose f goroutine %d is running", h)
	case c.wait.mode == dlFollow:
		rel = fmt.Sprintf("whose flight goroutine %d leads", h)
	default:
		rel = fmt.Sprintf("whose goroutine %d has not returned", h)
	}
	return fmt.Sprintf("goroutine %d waits in %s on %v %s", g, verb, o, rel)
}

// reentry shows how a goroutine came back to an object it holds: the
// user's frames from where it took it (held) to where it is blocked,
// outermost first: "f started at a.go:3 → load at a.go:9 → logf at
// a.go:14 → config at a.go:3". Without such a path, "f started at a.go:3".
func (s *dlSolver) reentry(took string, blocked, held parse.StackID) string {
	b, h := s.stacks.Frames(blocked), s.stacks.Frames(held)
	common := 0
	for common < len(b) && common < len(h) && b[len(b)-1-common] == h[len(h)-1-common] {
		common++
	}
	var path []string
	for _, f := range slices.Backward(b[:len(b)-common]) {
		if f.IsUser() {
			path = append(path, fmt.Sprintf("%s at %s", shortFunc(f.Func), dlWhere(f)))
		}
	}
	// Stacks that share no frame may still branch in one function: the
	// goroutine's own, at two lines.
	branch := common < len(b) && common < len(h) && b[len(b)-1-common].Func == h[len(h)-1-common].Func
	if common == 0 && !branch || len(path) < 2 {
		return took + " " + s.at(held)
	}
	return took + " " + s.at(held) + " → " + strings.Join(path, " → ")
}

func dlList(ids []parse.GoID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// base fills what every deadlock finding shares, from its goroutines (the
// first one's blocked line is the location).
func (s *dlSolver) base(ids []parse.GoID) Finding {
	first := s.cands[ids[0]].g
	loc, _ := s.stacks.Location(first.Stack)
	f := Finding{
		Kind:       "deadlock",
		Severity:   SeverityError,
		Confidence: ConfidenceProven,
		Goroutines: ids,
		Location:   loc,
		Stack:      s.stacks.Frames(first.Stack),
		Evidence:   EvidenceAnnotations,
		Reason:     first.Reason,
	}
	for _, id := range ids {
		d := time.Duration(s.end - s.cands[id].g.Since)
		f.Total += d
		f.Duration = max(f.Duration, d)
	}
	if s.trace != nil {
		if g := s.trace.Goroutine(first.ID); g != nil {
			f.Test = testOf(s.trace, g)
		}
	}
	return f
}

func (s *dlSolver) cycleFinding(scc []parse.GoID) Finding {
	cycle := s.cycleOf(scc)
	ids := slices.Clone(cycle)
	for _, id := range scc {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	f := s.base(ids)
	var steps []string
	var objs []string
	locks, heuristic := true, false
	for i, id := range cycle {
		c := s.cands[id]
		next := cycle[(i+1)%len(cycle)]
		steps = append(steps, s.edge(c, next))
		if o := c.wait.obj.String(); !slices.Contains(objs, o) {
			objs = append(objs, o)
		}
		locks = locks && (c.wait.mode == dlLock || c.wait.mode == dlRLock)
		heuristic = heuristic || c.need.users
		f.Related = append(f.Related, Related{Role: "blocked", Site: s.site(id, c.g.Stack)})
		if what, st, ok := s.holding(c, next); ok {
			role := "holder"
			switch {
			case c.need.users:
				role = "user"
			case what == "is queued to write-lock it":
				role = "queued-writer" // it holds nothing: the RLock waits behind it
			}
			f.Related = append(f.Related, Related{Role: role, Site: s.site(next, st)})
		}
	}
	for _, id := range ids[len(cycle):] {
		f.Related = append(f.Related, Related{Role: "blocked", Site: s.site(id, s.cands[id].g.Stack)})
	}
	if heuristic {
		f.Confidence = ConfidenceNoUserAlive
	}
	f.Object = strings.Join(objs, ", ")
	if len(cycle) == 1 {
		f.Message = fmt.Sprintf("goroutine %d is deadlocked: it %s", cycle[0], strings.TrimPrefix(steps[0], fmt.Sprintf("goroutine %d ", cycle[0])))
	} else {
		f.Message = fmt.Sprintf("goroutines %s are deadlocked: %s", dlList(cycle), strings.Join(steps, "; "))
	}
	first := s.cands[cycle[0]].wait.mode
	switch {
	case len(cycle) == 1 && first == dlOnce:
		f.Cause = CauseOnceReentry
		f.Hint = "f must not call Do on its own Once, directly or through a callee: split the initialization so that f does not need what it initializes"
	case len(cycle) == 1 && (locks || first == dlAcquire):
		f.Cause = CauseSelfLock
		f.Hint = "Go's locks are not reentrant: a goroutine that holds a lock must not lock it again (RLock while holding Lock, or Lock while holding RLock, never returns); release it first, or split the function into a locked and an unlocked variant"
		if first == dlAcquire {
			f.Hint = "a goroutine holding weight waits for weight only its own Release would free: acquire all it needs in one Acquire, or release before acquiring again"
		}
	case locks:
		if r, ok := s.recursiveRLock(cycle); ok {
			f.Cause = CauseRecursiveRLock
			f.Message = r
			f.Hint = "a read lock is not reentrant once a writer queues: the writer waits for every reader, and a new RLock waits behind the writer, so a goroutine that holds RLock and calls RLock again (often through a callee) hangs with it; take the read lock once, at the outermost call, and give callees an unlocked variant"
			break
		}
		f.Cause = CauseLockCycle
		f.Hint = "the goroutines take the same locks in different orders: take them in one global order everywhere (say, by id), or under one lock, and do not call code that may lock while holding a lock"
	default:
		f.Cause = CauseWaitCycle
		f.Hint = "each goroutine waits for the next one in the cycle, and only they could wake each other: make one of them release what it holds, send or call Done before it waits, or stop waiting (select on a done channel)"
	}
	if extra := ids[len(cycle):]; len(extra) > 0 {
		f.Message += fmt.Sprintf("; %s %s stuck in the same knot", plural(len(extra), "more goroutine"), dlList(extra))
	}
	return f
}

// recursiveRLock describes a lock cycle in which a goroutine that holds a
// read lock waits in RLock on the same RWMutex behind a queued writer,
// which waits for that reader: the cycle's cause whatever the rest of it.
func (s *dlSolver) recursiveRLock(cycle []parse.GoID) (string, bool) {
	for i, id := range cycle {
		c := s.cands[id]
		o := c.wait.obj
		held := o.shares[id]
		if c.wait.mode != dlRLock || held == nil {
			continue
		}
		w := cycle[(i+1)%len(cycle)]
		wc := s.cands[w]
		if wc.wait.obj != o || wc.wait.mode != dlLock {
			continue
		}
		msg := fmt.Sprintf("goroutine %d read-locked %v at %s and read-locks it again at %s, while goroutine %d waits to write-lock it at %s: the writer waits for goroutine %d's read lock, and the second RLock waits behind the writer",
			id, o, s.at(held.stack), s.at(c.g.Stack), w, s.at(wc.g.Stack), id)
		if len(cycle) > 2 {
			var steps []string
			for j, x := range cycle {
				if x != id && x != w {
					steps = append(steps, s.edge(s.cands[x], cycle[(j+1)%len(cycle)]))
				}
			}
			msg += "; " + strings.Join(steps, "; ")
		}
		return fmt.Sprintf("goroutines %s are deadlocked: %s", dlList(cycle), msg), true
	}
	return "", false
}

// status says why goroutine h will never run again.
func (s *dlSolver) status(h parse.GoID) string {
	switch {
	case s.stuck[h]:
		c := s.cands[h]
		return fmt.Sprintf("is itself deadlocked, waiting in %s on %v at %s", dlVerbs[c.wait.mode], c.wait.obj, s.at(c.g.Stack))
	case s.gos[h] != nil && s.gos[h].State == parse.StateExited, s.gos[h] == nil && s.gone(h):
		return "exited"
	}
	return "is blocked forever"
}

// waitFinding reports goroutines waiting on one object at one line whose
// wakers are all gone or stuck, outside any cycle.
func (s *dlSolver) waitFinding(ids []parse.GoID) Finding {
	f := s.base(ids)
	f.Cause = CauseNoWaker
	c := s.cands[ids[0]]
	o := c.wait.obj
	f.Object = o.String()
	for _, id := range ids {
		f.Related = append(f.Related, Related{Role: "blocked", Site: s.site(id, s.cands[id].g.Stack)})
	}
	who := "goroutine " + dlList(ids) + " waits"
	if len(ids) > 1 {
		who = "goroutines " + dlList(ids) + " wait"
	}
	head := fmt.Sprintf("%s in %s on %v", who, dlVerbs[c.wait.mode], o)

	// The wakers that are gone, and whether one of them is stuck.
	var gone []parse.GoID
	behind := false
	for _, h := range c.need.wakers {
		if s.dead(h) && !slices.Contains(ids, h) {
			gone = append(gone, h)
			behind = behind || s.stuck[h]
		}
	}
	if c.need.users {
		f.Confidence = ConfidenceNoUserAlive
		// The goroutines the trace dropped (need.dropped) and the users
		// forgotten (see pruneUsers) exited too: name the first, count
		// the rest. Without a trace, count the forgotten users alone.
		total := c.need.dropped
		forgotten := make(map[parse.GoID]bool)
		for _, obj := range s.wakerObjects(c) {
			for _, u := range obj.goneFirst {
				forgotten[u.g] = true
				gone = append(gone, u.g)
			}
			if s.trace == nil {
				total += obj.gone
			}
		}
		gone = append(gone, c.need.droppedLow...)
		slices.Sort(gone)
		gone = slices.Compact(gone)
		hidden := total // counted, less those named
		for _, h := range gone {
			if s.trace == nil && forgotten[h] || s.trace != nil && s.trace.Goroutine(h) == nil {
				hidden--
			}
		}
		hidden = max(hidden, 0) // a forgotten user whose count was lost is named, not counted
		const mostUsers = 8
		for _, h := range gone {
			if st, ok := o.userStack(h); ok && len(f.Related) < len(ids)+mostUsers {
				f.Related = append(f.Related, Related{Role: "user", Site: s.site(h, st)})
			}
		}
		var states []string
		var exited []parse.GoID
		for _, h := range gone {
			if s.stuck[h] {
				states = append(states, fmt.Sprintf("goroutine %d %s", h, s.status(h)))
			} else {
				exited = append(exited, h)
			}
		}
		if len(exited) > 0 {
			states = append([]string{fmt.Sprintf("%s exited", dlGoroutines(exited, hidden))}, states...)
		}
		detail := ""
		if len(states) > 0 {
			detail = " (" + strings.Join(states, "; ") + ")"
		}
		switch c.wait.mode {
		case dlWaitGroup:
			f.Message = fmt.Sprintf("%s, whose counter is stuck at %d: no goroutine that used it, or was started by one, is left to call Done%s", head, o.counter, detail)
			f.Hint = "every Add needs a Done on every path: defer wg.Done() first thing in the goroutine, or start it with wg.Go"
		case dlCond:
			f.Message = fmt.Sprintf("%s, which no goroutine left can signal: every goroutine that used it or its lock, or was started by one, is gone%s", head, detail)
			f.Hint = "Signal or Broadcast after every change of the condition, including on error and shutdown paths, and Wait in a loop"
		case dlSend:
			f.Message = fmt.Sprintf("%s, which no goroutine left will receive from: every goroutine that used it, or was started by one, is gone%s", head, detail)
			f.Hint = "nobody will receive: give the channel room for the values, or select on a done channel in the sender"
		case dlRecv:
			f.Message = fmt.Sprintf("%s, which no goroutine left will send on or close: every goroutine that used it, or was started by one, is gone%s", head, detail)
			f.Hint = "close the channel when the producer is done, on every path"
		case dlAcquire:
			f.Message = fmt.Sprintf("%s, whose weight is released by goroutines other than those that acquire it, and no goroutine that used it, or was started by one, is left to release it%s", head, detail)
			f.Hint = "weight was acquired and never released: make every goroutine that is handed the weight release it on every path (defer sem.Release(n))"
		default:
			f.Message = fmt.Sprintf("%s, which was unlocked by a goroutine that had not locked it, and no goroutine that used it, or was started by one, is left to unlock it%s", head, detail)
			f.Hint = "a lock handed between goroutines was never unlocked: unlock it on every path"
		}
		return f
	}
	var causes []string
	for _, h := range gone {
		what, st, ok := s.holding(c, h)
		if !ok {
			continue
		}
		f.Related = append(f.Related, Related{Role: "holder", Site: s.site(h, st)})
		switch c.wait.mode {
		case dlOnce:
			causes = append(causes, fmt.Sprintf("its f runs in goroutine %d (started at %s), which %s", h, s.at(st), s.status(h)))
		case dlFollow:
			causes = append(causes, fmt.Sprintf("its flight is led by goroutine %d (Do at %s), which %s", h, s.at(st), s.status(h)))
		case dlGroupWait, dlGroupGo:
			causes = append(causes, fmt.Sprintf("its goroutine %d (started at %s) %s", h, s.at(st), s.status(h)))
		case dlAcquire:
			causes = append(causes, fmt.Sprintf("goroutine %d %s (Acquire at %s) and %s", h, what, s.at(st), s.status(h)))
		default:
			if what == "is queued to write-lock it" {
				causes = append(causes, fmt.Sprintf("it waits behind the pending Lock of goroutine %d, which %s", h, s.status(h)))
			} else {
				causes = append(causes, fmt.Sprintf("goroutine %d %s at %s and %s", h, what, s.at(st), s.status(h)))
			}
		}
	}
	f.Message = head + ": " + strings.Join(causes, "; ")
	switch {
	case behind:
		f.Hint = "it waits on a goroutine that is itself deadlocked: fix that deadlock first"
	case c.wait.mode == dlAcquire:
		f.Hint = "weight was acquired and never released: defer sem.Release(n) right after a successful Acquire"
	default:
		f.Hint = "a goroutine exited holding the lock: defer the Unlock right after Lock, so that every return path releases it"
	}
	return f
}

// dlGoroutines names goroutines, the first few of them, and counts the
// rest and hidden more.
func dlGoroutines(ids []parse.GoID, hidden int) string {
	if len(ids) == 1 && hidden == 0 {
		return fmt.Sprintf("goroutine %d", ids[0])
	}
	const most = 8
	if more := len(ids) - min(len(ids), most) + hidden; more > 0 {
		return fmt.Sprintf("goroutines %s and %d more", strings.Trim(fmt.Sprint(ids[:min(len(ids), most)]), "[]"), more)
	}
	return "goroutines " + dlList(ids)
}

// dropExplained leaves out findings whose stuck goroutines other findings
// explain already (one bug, one finding): a singleflight flight stalled
// at the end whose waiting followers are all reported by deadlock or leak
// findings, a deadlock holding at least one (a DoChan caller blocked
// reading its result is a leak at its own line; the leader, blocked
// elsewhere, has a finding of its own).
func dropExplained(fs []Finding) []Finding {
	stuck := make(map[parse.GoID]bool)    // in a deadlock finding
	reported := make(map[parse.GoID]bool) // in a deadlock or leak finding
	for _, f := range fs {
		if f.Kind != Deadlock.Name && f.Kind != Leak.Name {
			continue
		}
		for _, id := range f.Goroutines {
			reported[id] = true
			if f.Kind == Deadlock.Name {
				stuck[id] = true
			}
		}
	}
	if len(stuck) == 0 {
		return fs
	}
	return slices.DeleteFunc(fs, func(f Finding) bool {
		waiting := f.Stats["followers_waiting"]
		if f.Kind != SingleflightFanIn.Name || waiting == 0 {
			return false
		}
		// The finding's goroutines are its leader, when known, then its
		// waiting followers.
		followers := f.Goroutines[max(0, len(f.Goroutines)-int(waiting)):]
		deadlocked := false
		for _, id := range followers {
			if !reported[id] {
				return false
			}
			deadlocked = deadlocked || stuck[id]
		}
		return deadlocked
	})
}
