package detect

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/internal/idmap"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// MutexWait reports waits for a mutex longer than a threshold (default
// 1 ms, the wait after which sync.Mutex switches to starvation mode), one
// finding per lock (per Lock call site for plain sync), pointing at the
// waiters' Lock line, with the goroutine that held the lock meanwhile.
//
// With blockscope's primitives (primitives/sync Mutex, RWMutex and
// ReentrantMutex; evidence "annotations", confidence "exact"), a wait runs
// from the waiter's wait annotation to its lock or rlock, so waits that
// only spin count too, and waits are grouped per lock object. The holder
// blamed for a wait is the hold that overlapped it most (for a Mutex, the
// goroutine whose Lock preceded the waiter's), with the stacks of its Lock
// and its Unlock; the finding also says how often the lock entered
// starvation mode and how long it stayed there.
//
// With plain sync.Mutex and sync.RWMutex (evidence "runtime", confidence
// "per-call-site"), a wait is a park: a block with reason "sync" under
// sync.(*Mutex).Lock, (*RWMutex).Lock or (*RWMutex).RLock (WaitGroup and
// other sync waits have other frames). The trace does not say which mutex
// a park is on, so waits are grouped per Lock call site. The holder blamed
// is the goroutine that woke the waiter, at its Unlock: the last holder,
// not necessarily the one that held the lock longest. Its Lock site is
// given when its own last contended Lock was at a site of the same virtual
// mutex (Lock and Unlock sites joined by the wakes between them); its
// uncontended Locks leave no event, so this is an inference. Also
// invisible: waits that only spin, uncontended Locks and starvation mode;
// and a Lock that is woken but loses the mutex to a newcomer parks again,
// each park measured on its own. A park under way when the trace began
// is measured from the trace's first event about it (a lower bound).
//
// A wait seen both ways (a park inside a primitive, or while its goroutine
// has an annotated wait open) is counted once, from the annotations. A
// wait still open when the trace ends belongs to the leak and deadlock
// detectors: it counts in a finding's still_waiting stat but is never
// reported on its own.
//
// What the holder was doing: every long wait is split by the state of
// the goroutines that held the lock meanwhile (see mutexwait_holder.go).
// Its root holder is the one that held the lock when the wait began (for
// plain sync, found by following the wake chain back through holders that
// had themselves queued for the lock: the "last holder" that woke a
// waiter is often just the previous one in the queue); the holders after
// it were queued ahead of the waiter. While they held the lock a holder
// was running (a long critical section), blocked (sleep, I/O, a channel,
// another lock, under this lock: the site is named) or runnable (it had
// the lock but no processor); time the lock spent going round the queue
// (holders handed the lock waiting to run, short holds, a plain Mutex
// taken without a park by running goroutines) is queued: a convoy, whose
// depth is how many holders took the lock before the waiter. The shares
// are the finding's holder_states, its cause is the dominant state
// (holder-running, holder-blocked, holder-runnable, convoy) and so is its
// hint; runnable makes it info (the machine, not the code), unless a wait
// would have been long (2× the threshold) without the runnable time: then
// the dominant of the other states is the cause. The others keep the
// severity of their waits' length (below). Holder sites
// (Lock → Unlock lines) are ranked by the waited time charged to them,
// with their holds' p50 and max. Plain sync shows a hold only when its
// Lock was contended (parked), so a hold's start is otherwise inferred:
// after the lock's last hand-off, and no longer than 8 times the median
// hold its Unlock site is seen to make. Waits on hot locks inside the
// standard library (context's cancel tree, sync.Pool, log) get the fix at
// the user's level.
//
// An annotated wait leaves out the time its goroutine was runnable
// (woken or preempted, waiting for a processor): that is the machine's
// load, not the lock. Waits on the internal locks of x/sync's semaphore
// and singleflight are left to their own detectors.
//
// Severity, unless the holder states say otherwise, is warning when the
// longest wait is at least twice the threshold, info when every wait is
// only just over it, and info when the
// lock was held by others less than a quarter of the time its waiters
// waited (annotated): then the critical section is not what they waited
// for. Stats (durations
// in ns): waits (all waits seen, short ones included), long_waits,
// total_ns, p50_ns, p99_ns and max_ns (over the long waits),
// still_waiting, blamed_ns (long-wait time the blamed holder's site
// covers), starvation_entries and starvation_ns (annotated Mutex only).
//
// Options (MutexWaitOptions): Threshold (--mutex-wait, default 1ms; zero
// means the default; 1ns reports every wait).
//
// Known false positives: a holder that the operating system descheduled
// inside a short critical section on an overloaded machine, and a lock
// held on purpose across a slow operation that others may well wait for
// (a periodic flush): raise --mutex-wait for those.
//
// Wrong:
//
//	mu.Lock()
//	resp, err := http.Get(url) // everyone else waits for the network
//	cache[url] = resp
//	mu.Unlock()
//
// Right: do the slow work outside the lock and hold it only to touch the
// shared state:
//
//	resp, err := http.Get(url)
//	mu.Lock()
//	cache[url] = resp
//	mu.Unlock()
var MutexWait = register(&Detector{
	Name: "mutex-wait",
	Doc:  "waits for a mutex longer than --mutex-wait (1ms), per lock or Lock call site, with the holder to blame",
	New:  func(cfg *Config) Analyzer { return newMutexWait(cfg.MutexWait) },
})

// DefaultMutexWaitThreshold is sync.Mutex's starvation threshold.
const DefaultMutexWaitThreshold = time.Millisecond

// MutexWaitOptions configure the mutex-wait detector.
type MutexWaitOptions struct {
	// Threshold: waits longer than this are reported. Zero means
	// DefaultMutexWaitThreshold.
	Threshold time.Duration
}

// DefaultMutexWaitOptions returns the documented defaults.
func DefaultMutexWaitOptions() MutexWaitOptions {
	return MutexWaitOptions{Threshold: DefaultMutexWaitThreshold}
}

// isLockKind reports whether annotations of kind k are about a lock.
func isLockKind(k wire.Kind) bool {
	return k == wire.KindMutex || k == wire.KindRWMutex || k == wire.KindReentrant
}

// lockObjectName names an annotated lock in messages: `Mutex#7 "cache"`
// (see parse.ObjectRef).
func lockObjectName(kind wire.Kind, id wire.ObjectID, name string) string {
	return parse.ObjectRef(kind, id, name)
}

// where formats a frame as "file.go:12" for messages.
func where(f parse.Frame) string {
	return fmt.Sprintf("%s:%d", baseFile(f.File), f.Line)
}

// mwHold is one hold of an annotated lock: a write lock, or one reader's
// read lock.
type mwHold struct {
	g     parse.GoID // the locker; NoGoroutine if its lock was not seen
	seq   uint64
	read  bool
	at    parse.Time // when it was locked; -1 if unknown
	stack parse.StackID

	released    bool
	releasedAt  parse.Time
	unlockG     parse.GoID
	unlockStack parse.StackID
}

// mwWait is one goroutine's open wait for an annotated lock.
type mwWait struct {
	g         parse.GoID
	start     parse.Time
	stack     parse.StackID
	readyBase time.Duration // the goroutine's ready time at the start
	held      time.Duration // how long others held the lock during the wait
	// best is the hold that overlapped the wait most so far.
	best        *mwHold
	bestOverlap time.Duration
	// root is the hold the lock was in when the wait began; nholds
	// counts the holds that overlapped the wait.
	root   *mwHold
	nholds int
	split  mwSplit // the holds' time by holder state
}

// mwLong is one wait longer than the threshold.
type mwLong struct {
	dur   time.Duration
	g     parse.GoID
	stack parse.StackID
	// Annotated blame: the hold that overlapped the wait most.
	hold    *mwHold
	overlap time.Duration
	held    time.Duration // the lock held by others, all holds together
	// Plain blame: the goroutine that woke the waiter, its stack at the
	// wake, and its last contended Lock.
	waker      parse.GoID
	wakerStack parse.StackID
	holderLock parse.StackID
	// split is the wait by its root holder's state.
	split mwSplit
}

// mwObject is one annotated lock.
type mwObject struct {
	id   wire.ObjectID
	kind wire.Kind
	name string

	w     *mwHold   // the write holder
	r     []*mwHold // the read holders
	waits []*mwWait // open waits
	// pending are write holds ended by a later Lock before their Unlock
	// was read (clock skew between processors); early are Unlocks read
	// before their Lock; earlyR counts RUnlocks read before their RLock,
	// by SEQ.
	pending map[uint64]*mwHold
	early   map[uint64]*mwHold
	earlyR  map[uint64]int

	starving      bool
	starveSince   parse.Time
	starveEntries int
	starveTotal   time.Duration

	nwaits int
	long   []mwLong
	still  int
	holds  map[mwHoldKey]*mwHoldStat
}

// The plain lock calls a park can be under.
const (
	mwPlainNone = iota
	mwPlainMutex
	mwPlainRWLock
	mwPlainRLock
)

var mwPlainNames = [...]string{
	mwPlainMutex:  "sync.Mutex",
	mwPlainRWLock: "sync.RWMutex (write lock)",
	mwPlainRLock:  "sync.RWMutex (read lock)",
}

// mwCall is what a parked stack says about the plain lock call.
type mwCall struct {
	kind int    // mwPlain...
	via  string // the non-user function that called Lock, if any
	loc  parse.Frame
}

type mwSiteKey struct {
	loc  parse.Frame
	kind int
}

// mwSite is one plain Lock call site.
type mwSite struct {
	key    mwSiteKey
	via    string
	nwaits int
	long   []mwLong
	still  int
}

// mwPark is a goroutine's open park under a plain Lock.
type mwPark struct {
	start parse.Time
	stack parse.StackID
	call  mwCall
}

// mwNode is a Lock or an Unlock site of a virtual mutex.
type mwNode struct {
	loc    parse.Frame
	unlock bool
}

type mwGoObj struct {
	g   parse.GoID
	obj wire.ObjectID
}

type mutexWait struct {
	threshold time.Duration
	stacks    stackTable

	objects map[wire.ObjectID]*mwObject
	gwaits  map[mwGoObj]*mwWait        // open annotated lock waits
	annByG  idmap.Map[parse.GoID, int] // open annotated lock waits per goroutine
	// ready sums the time goroutines with open annotated waits spent
	// runnable (woken or preempted, waiting for a processor): scheduling
	// delay, not lock wait. readyAt is when the current such spell began.
	ready   idmap.Map[parse.GoID, time.Duration]
	readyAt idmap.Map[parse.GoID, parse.Time]

	calls    map[parse.StackID]mwCall
	parks    idmap.Map[parse.GoID, mwPark]
	lastLock idmap.Map[parse.GoID, parse.StackID] // last contended plain Lock
	sites    map[mwSiteKey]*mwSite
	parent   map[mwNode]mwNode // union-find of virtual mutexes

	// Holder states (see mutexwait_holder.go): every goroutine's state
	// history while a wait is open, exited goroutines to forget once none
	// is, contended plain Locks, and plain holder sites' holds.
	spans      idmap.Map[parse.GoID, []mwSpan]
	reasons    []string   // the wait reasons spans name, by index; reasons[0] is ""
	spare      [][]mwSpan // emptied histories, for reuse
	gone       []mwGone
	sweepAt    int // len(gone) that triggers a sweep
	acqs       idmap.Map[parse.GoID, []mwAcq]
	plainHolds map[mwHoldKey]*mwHoldStat
	// unlockHolds: contended plain holds by Unlock site, to estimate the
	// holds whose Lock was not contended.
	unlockHolds map[parse.Frame]*mwUnlockHolds
	handoffs    map[mwNode][]parse.Time // wakes of plain Lock parks, by site

	findings []Finding
}

func newMutexWait(opts MutexWaitOptions) *mutexWait {
	if opts.Threshold <= 0 {
		opts.Threshold = DefaultMutexWaitThreshold
	}
	return &mutexWait{
		threshold:   opts.Threshold,
		reasons:     []string{""},
		sweepAt:     mwSweepMin,
		objects:     make(map[wire.ObjectID]*mwObject),
		gwaits:      make(map[mwGoObj]*mwWait),
		calls:       make(map[parse.StackID]mwCall),
		sites:       make(map[mwSiteKey]*mwSite),
		parent:      make(map[mwNode]mwNode),
		plainHolds:  make(map[mwHoldKey]*mwHoldStat),
		unlockHolds: make(map[parse.Frame]*mwUnlockHolds),
		handoffs:    make(map[mwNode][]parse.Time),
	}
}

// Event follows annotated locks and plain Lock parks.
func (m *mutexWait) Event(t *parse.Trace, ev *parse.Event) {
	if m.stacks == nil {
		m.stacks = t.Stacks
	}
	m.span(t, ev)
	switch ev.Kind {
	case parse.EvAnnotation:
		m.annotation(ev)
	case parse.EvBlock:
		if ev.Reason == parse.ReasonSync {
			m.park(ev)
		}
	// Runs, stops and wakes are most events: the ready-time books are
	// looked at only while some annotated wait is open.
	case parse.EvRun:
		if m.readyAt.Len() == 0 {
			break
		}
		if t0, ok := m.readyAt.Get(ev.G); ok {
			m.readyAt.Delete(ev.G)
			*m.ready.Ref(ev.G) += time.Duration(ev.Time - t0)
		}
	case parse.EvStop:
		if m.annByG.Len() > 0 && m.annByG.At(ev.G) > 0 {
			if g := t.Goroutine(ev.G); g != nil && g.State == parse.StateRunnable {
				m.readyAt.Set(ev.G, ev.Time) // preempted
			}
		}
	case parse.EvWake:
		if m.annByG.Len() > 0 && m.annByG.At(ev.G) > 0 {
			m.readyAt.Set(ev.G, ev.Time)
		}
		if p, ok := m.parks.Get(ev.G); ok {
			m.parks.Delete(ev.G)
			m.unpark(ev, p)
		} else if ev.Reason == parse.ReasonSync {
			// Parked since before the trace began: measured from the
			// trace's first word on the goroutine, a lower bound.
			if c := m.plainCall(ev.Stack); c.kind != mwPlainNone && m.annByG.At(ev.G) == 0 {
				m.unpark(ev, mwPark{start: ev.Start, stack: ev.Stack, call: c})
			}
		}
	case parse.EvExit:
		m.parks.Delete(ev.G)
		m.lastLock.Delete(ev.G)
	}
}

// annotation tracks the holds and waits of annotated locks.
func (m *mutexWait) annotation(ev *parse.Event) {
	a := &ev.Annotation
	if !isLockKind(a.Kind) {
		return
	}
	k := mwGoObj{ev.G, a.Object}
	o := m.objects[a.Object]
	if o == nil {
		o = &mwObject{id: a.Object, kind: a.Kind, holds: make(map[mwHoldKey]*mwHoldStat)}
		m.objects[a.Object] = o
	}
	now := ev.Time
	switch a.Op {
	case wire.OpName:
		o.name = a.Key
	case wire.OpWait:
		if m.gwaits[k] == nil {
			w := &mwWait{g: ev.G, start: now, stack: ev.Stack, readyBase: m.ready.At(ev.G), root: o.w}
			if w.root == nil && len(o.r) > 0 {
				w.root = o.r[0]
			}
			m.gwaits[k] = w
			*m.annByG.Ref(ev.G)++
			o.waits = append(o.waits, w)
		}
	case wire.OpLock:
		if a.Kind == wire.KindReentrant && a.N > 1 {
			return // a re-entry: no wait, no new hold
		}
		if h := o.early[a.Seq]; h != nil {
			// Its Unlock was read first: the hold is over already.
			delete(o.early, a.Seq)
			h.g, h.stack = ev.G, ev.Stack
			m.endWait(o, k, now)
			return
		}
		// Holds whose release is not read yet ended before this Lock.
		if o.w != nil {
			m.release(o, o.w, now, parse.NoGoroutine, parse.NoStack)
			mapSet(&o.pending, o.w.seq, o.w)
		}
		for _, r := range o.r {
			m.release(o, r, now, parse.NoGoroutine, parse.NoStack)
		}
		o.r = o.r[:0]
		m.endWait(o, k, now)
		o.w = &mwHold{g: ev.G, seq: a.Seq, at: now, stack: ev.Stack}
	case wire.OpUnlock:
		if a.Kind == wire.KindReentrant && a.N > 0 {
			return // still held
		}
		switch {
		case o.w != nil && o.w.seq == a.Seq:
			m.release(o, o.w, now, ev.G, ev.Stack)
			o.w = nil
		case o.pending[a.Seq] != nil:
			h := o.pending[a.Seq]
			delete(o.pending, a.Seq)
			h.unlockG, h.unlockStack = ev.G, ev.Stack
		default:
			h := &mwHold{g: parse.NoGoroutine, seq: a.Seq, at: -1}
			m.release(o, h, now, ev.G, ev.Stack)
			mapSet(&o.early, a.Seq, h)
		}
	case wire.OpRLock:
		if o.w != nil {
			m.release(o, o.w, now, parse.NoGoroutine, parse.NoStack)
			mapSet(&o.pending, o.w.seq, o.w)
			o.w = nil
		}
		m.endWait(o, k, now)
		if o.earlyR[a.Seq] > 0 {
			o.earlyR[a.Seq]--
			return
		}
		o.r = append(o.r, &mwHold{g: ev.G, seq: a.Seq, read: true, at: now, stack: ev.Stack})
	case wire.OpRUnlock:
		i := slices.IndexFunc(o.r, func(h *mwHold) bool { return h.g == ev.G && h.seq == a.Seq })
		if i < 0 {
			i = slices.IndexFunc(o.r, func(h *mwHold) bool { return h.seq == a.Seq })
		}
		if i < 0 {
			h := &mwHold{g: parse.NoGoroutine, seq: a.Seq, read: true, at: -1}
			m.release(o, h, now, ev.G, ev.Stack)
			if o.earlyR == nil {
				o.earlyR = make(map[uint64]int)
			}
			o.earlyR[a.Seq]++
			return
		}
		m.release(o, o.r[i], now, ev.G, ev.Stack)
		o.r = slices.Delete(o.r, i, i+1)
	case wire.OpStarve:
		if !o.starving {
			o.starving, o.starveSince = true, now
			o.starveEntries++
		}
	case wire.OpNormal:
		if o.starving {
			o.starving = false
			o.starveTotal += time.Duration(now - o.starveSince)
		}
	}
}

func mapSet(m *map[uint64]*mwHold, k uint64, h *mwHold) {
	if *m == nil {
		*m = make(map[uint64]*mwHold)
	}
	(*m)[k] = h
}

// release ends hold h of o at now, crediting the waits it overlapped.
func (m *mutexWait) release(o *mwObject, h *mwHold, now parse.Time, g parse.GoID, stack parse.StackID) {
	h.released, h.releasedAt = true, now
	if g != parse.NoGoroutine {
		h.unlockG, h.unlockStack = g, stack
	}
	if h.at >= 0 && h.g != parse.NoGoroutine {
		holdAt(o.holds, m.holdKey(h.stack, h.unlockStack), time.Duration(now-h.at))
	}
	for _, w := range o.waits {
		if credit(w, h, now) {
			m.creditSplit(w, h, now)
		}
	}
}

// credit counts hold h, held until now, against wait w, unless it is w's
// own goroutine's.
func credit(w *mwWait, h *mwHold, now parse.Time) bool {
	if h.g == w.g && h.g != parse.NoGoroutine {
		return false
	}
	from := max(h.at, w.start)
	ov := time.Duration(now - from)
	w.held += ov
	w.nholds++
	if ov > w.bestOverlap {
		w.best, w.bestOverlap = h, ov
	}
	return true
}

// endWait closes goroutine k.g's open wait on o, if any.
func (m *mutexWait) endWait(o *mwObject, k mwGoObj, now parse.Time) {
	w := m.gwaits[k]
	if w == nil {
		return
	}
	delete(m.gwaits, k)
	// The time it was runnable, waiting for a processor rather than for
	// the lock, does not count (an overloaded machine is no lock's fault).
	ready := m.ready.At(k.g) - w.readyBase
	if t0, ok := m.readyAt.Get(k.g); ok {
		ready += time.Duration(now - t0)
	}
	n := m.annByG.Ref(k.g)
	if *n--; *n <= 0 {
		m.annByG.Delete(k.g)
		m.ready.Delete(k.g)
		m.readyAt.Delete(k.g)
	}
	o.waits = slices.DeleteFunc(o.waits, func(x *mwWait) bool { return x == w })
	o.nwaits++
	if d := time.Duration(now-w.start) - ready; d > m.threshold {
		o.long = append(o.long, mwLong{dur: d, g: w.g, stack: w.stack, hold: w.best, overlap: w.bestOverlap, held: w.held,
			split: m.annotatedSplit(w)})
	}
}

// plainCall classifies a parked stack: under which plain Lock call, if
// any, and where the user called it.
func (m *mutexWait) plainCall(stack parse.StackID) mwCall {
	if c, ok := m.calls[stack]; ok {
		return c
	}
	var c mwCall
	st := m.stacks
	n := st.Depth(stack)
	i := 0
	for ; i < n; i++ {
		f := st.Frame(stack, i)
		if f.IsRuntime() {
			continue
		}
		pkg := f.Package()
		if pkg != "sync" && pkg != "internal/sync" {
			break
		}
		switch f.Func {
		case "sync.(*Mutex).Lock", "internal/sync.(*Mutex).Lock":
			if c.kind == mwPlainNone {
				c.kind = mwPlainMutex
			}
		case "sync.(*RWMutex).Lock":
			c.kind = mwPlainRWLock
		case "sync.(*RWMutex).RLock":
			c.kind = mwPlainRLock
		default:
			if strings.HasPrefix(f.Func, "sync.(*Pool).") {
				c.via = f.Func // sync.Pool's own lock
			}
		}
	}
	if i < n && c.kind != mwPlainNone {
		if f := st.Frame(stack, i); !f.IsUser() {
			c.via = f.Func
			if p := f.Package(); p == "golang.org/x/sync/semaphore" || p == "golang.org/x/sync/singleflight" {
				// Their internal locks guard a few instructions; waits
				// there are semaphore-queue's and singleflight-fanin's.
				c.kind = mwPlainNone
			}
			if f.IsTestFramework() || f.Package() == "runtime/trace" {
				// The testing framework's own locks (t.Helper's, taken
				// inside assertion libraries; t.Log's) and the tracer's
				// are never the user's contention.
				c.kind = mwPlainNone
			}
		}
	}
	for j := 0; j < n; j++ {
		if strings.HasPrefix(st.Frame(stack, j).Func, parse.PrimitivesPath) {
			c.kind = mwPlainNone // inside a primitive: its annotations tell
		}
	}
	c.loc, _ = st.Location(stack)
	m.calls[stack] = c
	return c
}

// park opens a plain Lock wait, unless annotations cover it.
func (m *mutexWait) park(ev *parse.Event) {
	c := m.plainCall(ev.Stack)
	if c.kind == mwPlainNone || m.annByG.At(ev.G) > 0 {
		return
	}
	m.parks.Set(ev.G, mwPark{start: ev.Time, stack: ev.Stack, call: c})
}

// unpark closes a plain Lock wait at its wake.
func (m *mutexWait) unpark(ev *parse.Event, p mwPark) {
	s := m.site(p.call)
	s.nwaits++
	if ev.Peer != parse.NoGoroutine && ev.PeerStack != parse.NoStack {
		if u, ok := m.stacks.Location(ev.PeerStack); ok {
			m.union(mwNode{loc: p.call.loc}, mwNode{loc: u, unlock: true})
		}
	}
	node := mwNode{loc: p.call.loc}
	if ev.Peer != parse.NoGoroutine {
		// The waker's hold, if its Lock was contended too.
		if a, ok := m.acqBefore(ev.Peer, ev.Time, m.find(node)); ok {
			k := m.holdKey(a.stack, ev.PeerStack)
			d := time.Duration(ev.Time - a.at)
			holdAt(m.plainHolds, k, d)
			u := m.unlockHolds[k.unlock]
			if u == nil {
				u = &mwUnlockHolds{}
				m.unlockHolds[k.unlock] = u
			}
			u.add(d)
		}
	}
	if d := time.Duration(ev.Time - p.start); d > m.threshold {
		hl, ok := m.lastLock.Get(ev.Peer)
		if !ok {
			hl = parse.NoStack
		}
		l := mwLong{dur: d, g: ev.G, stack: p.stack, waker: ev.Peer, wakerStack: ev.PeerStack, holderLock: hl}
		if ev.Peer != parse.NoGoroutine {
			l.split = m.plainSplit(node, p.start, ev.Time, ev.Peer, ev.PeerStack)
		}
		s.long = append(s.long, l)
	}
	m.acquired(ev.G, mwAcq{at: ev.Time, waker: ev.Peer, wakerStack: ev.PeerStack, stack: p.stack, node: node})
	if ev.Peer != parse.NoGoroutine {
		m.handoff(node, ev.Time)
	}
	m.lastLock.Set(ev.G, p.stack)
}

func (m *mutexWait) site(c mwCall) *mwSite {
	k := mwSiteKey{c.loc, c.kind}
	s := m.sites[k]
	if s == nil {
		s = &mwSite{key: k, via: c.via}
		m.sites[k] = s
	}
	return s
}

// find returns the representative of n's virtual mutex.
func (m *mutexWait) find(n mwNode) mwNode {
	for {
		p, ok := m.parent[n]
		if !ok || p == n {
			return n
		}
		gp := m.parent[p]
		m.parent[n] = gp // path halving
		n = gp
	}
}

// union joins the virtual mutexes of a and b.
func (m *mutexWait) union(a, b mwNode) {
	for _, n := range [...]mwNode{a, b} {
		if _, ok := m.parent[n]; !ok {
			m.parent[n] = n
		}
	}
	if ra, rb := m.find(a), m.find(b); ra != rb {
		m.parent[ra] = rb
	}
}

// Finalize counts the waits still open and builds the findings.
func (m *mutexWait) Finalize(t *parse.Trace) {
	if m.stacks == nil {
		return // no event
	}
	end := parse.Time(t.End - t.Start)
	for _, id := range sortedKeys(m.objects) {
		o := m.objects[id]
		for _, w := range o.waits {
			if time.Duration(end-w.start) > m.threshold {
				o.still++
			}
		}
		if o.starving {
			o.starveTotal += time.Duration(end - o.starveSince)
		}
		if len(o.long) > 0 {
			m.findings = append(m.findings, m.objectFinding(o))
		}
	}
	for _, p := range m.parks.All() {
		if time.Duration(end-p.start) > m.threshold {
			m.site(p.call).still++
		}
	}
	keys := make([]mwSiteKey, 0, len(m.sites))
	for k, s := range m.sites {
		if len(s.long) > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b mwSiteKey) int {
		return cmp.Or(cmp.Compare(a.loc.File, b.loc.File), cmp.Compare(a.loc.Line, b.loc.Line), cmp.Compare(a.kind, b.kind))
	})
	for _, k := range keys {
		m.findings = append(m.findings, m.siteFinding(m.sites[k]))
	}
}

func sortedKeys[V any](mp map[wire.ObjectID]V) []wire.ObjectID {
	ks := make([]wire.ObjectID, 0, len(mp))
	for k := range mp {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// mwStats summarizes long waits: count, total, p50, p99, max.
func mwStats(long []mwLong) (n int, total, p50, p99, longest time.Duration) {
	ds := make([]time.Duration, len(long))
	for i, l := range long {
		ds[i] = l.dur
		total += l.dur
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return len(ds), total, rank(0.50), rank(0.99), ds[len(ds)-1]
}

// mwBase fills what object and site findings share.
func (m *mutexWait) mwBase(long []mwLong, nwaits, still int) (Finding, string) {
	n, total, p50, p99, longest := mwStats(long)
	f := Finding{
		Kind:     "mutex-wait",
		Severity: SeverityInfo,
		Duration: longest,
		Total:    total,
		Stats: map[string]int64{
			"waits":         int64(nwaits),
			"long_waits":    int64(n),
			"total_ns":      int64(total),
			"p50_ns":        int64(p50),
			"p99_ns":        int64(p99),
			"max_ns":        int64(longest),
			"still_waiting": int64(still),
			"threshold_ns":  int64(m.threshold),
		},
		Hint: "shorten the critical section: move slow work (I/O, sleeps, channel operations, calls out) outside the lock; split the lock or shard the data if many goroutines need it; an RWMutex helps read-mostly data",
	}
	if longest >= 2*m.threshold {
		f.Severity = SeverityWarning
	}
	var gs []parse.GoID
	for _, l := range long {
		gs = append(gs, l.g)
	}
	slices.Sort(gs)
	f.Goroutines = slices.Compact(gs)
	stats := fmt.Sprintf("longest %v, total %v, p50 %v, p99 %v", roundDuration(longest), roundDuration(total), roundDuration(p50), roundDuration(p99))
	if still > 0 {
		stats += fmt.Sprintf(", %d still waiting at trace end", still)
	}
	return f, stats
}

// mwLocation picks the site a group of waits points at: the Lock line
// with the most long waits, then the longest; and its longest wait.
func (m *mutexWait) mwLocation(long []mwLong) (parse.Frame, mwLong) {
	type acc struct {
		n    int
		best mwLong
	}
	by := make(map[parse.Frame]*acc)
	var locs []parse.Frame
	for _, l := range long {
		loc, _ := m.stacks.Location(l.stack)
		a := by[loc]
		if a == nil {
			a = &acc{}
			by[loc] = a
			locs = append(locs, loc)
		}
		a.n++
		if l.dur > a.best.dur {
			a.best = l
		}
	}
	slices.SortFunc(locs, func(x, y parse.Frame) int {
		return cmp.Or(-cmp.Compare(by[x].n, by[y].n), -cmp.Compare(by[x].best.dur, by[y].best.dur),
			cmp.Compare(x.File, y.File), cmp.Compare(x.Line, y.Line))
	})
	return locs[0], by[locs[0]].best
}

func (m *mutexWait) objectFinding(o *mwObject) Finding {
	f, stats := m.mwBase(o.long, o.nwaits, o.still)
	f.Confidence = ConfidenceExact
	f.Evidence = EvidenceAnnotations
	f.Object = lockObjectName(o.kind, o.id, o.name)
	loc, rep := m.mwLocation(o.long)
	f.Location, f.Stack = loc, m.stacks.Frames(rep.stack)
	f.Message = fmt.Sprintf("%s over %v for %s at %s (%s)",
		plural(len(o.long), "wait"), m.threshold, f.Object, where(loc), stats)

	// Blame: the holder site (Lock and Unlock lines) whose holds
	// overlapped the long waits most.
	type blame struct {
		sum  time.Duration
		best *mwHold
		ov   time.Duration
	}
	type key struct{ lock, unlock parse.Frame }
	by := make(map[key]*blame)
	var keys []key
	for _, l := range o.long {
		if l.hold == nil {
			continue
		}
		var k key
		if l.hold.stack != parse.NoStack {
			k.lock, _ = m.stacks.Location(l.hold.stack)
		}
		if l.hold.unlockStack != parse.NoStack {
			k.unlock, _ = m.stacks.Location(l.hold.unlockStack)
		}
		b := by[k]
		if b == nil {
			b = &blame{}
			by[k] = b
			keys = append(keys, k)
		}
		b.sum += l.overlap
		if l.overlap > b.ov {
			b.best, b.ov = l.hold, l.overlap
		}
	}
	if len(keys) > 0 {
		slices.SortFunc(keys, func(x, y key) int {
			return cmp.Or(-cmp.Compare(by[x].sum, by[y].sum),
				cmp.Compare(x.lock.File, y.lock.File), cmp.Compare(x.lock.Line, y.lock.Line),
				cmp.Compare(x.unlock.File, y.unlock.File), cmp.Compare(x.unlock.Line, y.unlock.Line))
		})
		b := by[keys[0]]
		h := b.best
		f.Stats["blamed_ns"] = int64(b.sum)
		var parts []string
		mode := ""
		if h.read {
			mode = "read-"
		}
		if h.g != parse.NoGoroutine {
			parts = append(parts, fmt.Sprintf("%sheld by goroutine %d", mode, h.g))
		} else {
			parts = append(parts, mode+"held by a goroutine whose Lock the trace does not show")
		}
		if h.stack != parse.NoStack {
			f.Related = append(f.Related, Related{Role: "holder", Site: siteOf(m.stacks, h.g, h.stack)})
			parts = append(parts, "locked at "+where(keys[0].lock))
		}
		if h.unlockStack != parse.NoStack {
			f.Related = append(f.Related, Related{Role: "holder-unlock", Site: siteOf(m.stacks, h.unlockG, h.unlockStack)})
			parts = append(parts, "unlocked at "+where(keys[0].unlock))
		}
		f.Message += "; " + strings.Join(parts, ", ")
		if b.sum < f.Total {
			f.Message += fmt.Sprintf(" (%v of the %v waited)", roundDuration(b.sum), roundDuration(f.Total))
		}
	}
	m.holderStates(&f, o.long, o.holds)
	var held time.Duration
	for _, l := range o.long {
		held += min(l.held, l.dur)
	}
	f.Stats["held_ns"] = int64(held)
	if held*4 < f.Total {
		// Free most of the time they waited: not the critical section's
		// length but getting to run (more runnable goroutines than
		// processors) or losing races to newcomers.
		f.Severity = SeverityInfo
		f.Message += fmt.Sprintf("; the lock was held only %v of the %v waited", roundDuration(held), roundDuration(f.Total))
		f.Hint = "the lock was free most of the time: waiters lost the race for it or waited for a processor, so a shorter critical section will not help; look at CPU saturation (more busy goroutines than GOMAXPROCS) or at how often the lock is taken"
	}
	if o.starveEntries > 0 {
		f.Stats["starvation_entries"] = int64(o.starveEntries)
		f.Stats["starvation_ns"] = int64(o.starveTotal)
		f.Message += fmt.Sprintf("; it entered starvation mode %s (%v in starvation mode)",
			times(o.starveEntries), roundDuration(o.starveTotal))
	}
	return f
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func (m *mutexWait) siteFinding(s *mwSite) Finding {
	f, stats := m.mwBase(s.long, s.nwaits, s.still)
	f.Confidence = ConfidencePerCallSite
	f.Evidence = EvidenceRuntime
	f.Reason = parse.ReasonSync
	loc := s.key.loc
	_, rep := m.mwLocation(s.long)
	f.Location, f.Stack = loc, m.stacks.Frames(rep.stack)
	what := mwPlainNames[s.key.kind]
	f.Object = m.virtualName(what, loc)
	call := ""
	if s.via != "" {
		call = " (in " + s.via[strings.LastIndexByte(s.via, '/')+1:] + ")"
	}
	f.Message = fmt.Sprintf("%s over %v for a %s at %s%s (%s)",
		plural(len(s.long), "wait"), m.threshold, what, where(loc), call, stats)

	// Blame: the Unlock site that woke the long waits most, and the
	// holder's Lock site where the virtual mutex says it is one of ours.
	type blame struct {
		sum  time.Duration
		best mwLong
	}
	by := make(map[parse.Frame]*blame)
	var keys []parse.Frame
	for _, l := range s.long {
		if l.waker == parse.NoGoroutine {
			continue
		}
		u, _ := m.stacks.Location(l.wakerStack)
		b := by[u]
		if b == nil {
			b = &blame{}
			by[u] = b
			keys = append(keys, u)
		}
		b.sum += l.dur
		if l.dur > b.best.dur {
			b.best = l
		}
	}
	if len(keys) == 0 {
		m.holderStates(&f, s.long, m.plainHolds)
		stdlibLockHint(&f, s.via)
		return f
	}
	slices.SortFunc(keys, func(x, y parse.Frame) int {
		return cmp.Or(-cmp.Compare(by[x].sum, by[y].sum), cmp.Compare(x.File, y.File), cmp.Compare(x.Line, y.Line))
	})
	b := by[keys[0]]
	f.Stats["blamed_ns"] = int64(b.sum)
	f.Related = append(f.Related, Related{Role: "holder-unlock", Site: siteOf(m.stacks, b.best.waker, b.best.wakerStack)})
	f.Message += fmt.Sprintf("; woken by goroutine %d unlocking at %s (the last holder)", b.best.waker, where(keys[0]))
	if hl := b.best.holderLock; hl != parse.NoStack {
		hloc, _ := m.stacks.Location(hl)
		if m.find(mwNode{loc: hloc}) == m.find(mwNode{loc: loc}) {
			f.Related = append(f.Related, Related{Role: "holder", Site: siteOf(m.stacks, b.best.waker, hl)})
			f.Message += fmt.Sprintf(", which had locked it at %s", where(hloc))
		}
	}
	m.holderStates(&f, s.long, m.plainHolds)
	stdlibLockHint(&f, s.via)
	return f
}

// virtualName describes the virtual mutex a plain Lock site belongs to:
// its Lock and Unlock sites.
func (m *mutexWait) virtualName(what string, loc parse.Frame) string {
	root := m.find(mwNode{loc: loc})
	var locks, unlocks []parse.Frame
	for n := range m.parent {
		if m.find(n) != root {
			continue
		}
		if n.unlock {
			unlocks = append(unlocks, n.loc)
		} else {
			locks = append(locks, n.loc)
		}
	}
	if len(locks) == 0 {
		locks = append(locks, loc)
	}
	list := func(fs []parse.Frame) string {
		slices.SortFunc(fs, func(x, y parse.Frame) int {
			return cmp.Or(cmp.Compare(x.File, y.File), cmp.Compare(x.Line, y.Line))
		})
		var ss []string
		for i, f := range fs {
			if i == 4 {
				ss = append(ss, fmt.Sprintf("%d more", len(fs)-i))
				break
			}
			ss = append(ss, where(f))
		}
		return strings.Join(ss, ", ")
	}
	s := fmt.Sprintf("virtual %s: Lock at %s", what, list(locks))
	if len(unlocks) > 0 {
		s += "; Unlock at " + list(unlocks)
	}
	return s
}

// Findings returns one finding per annotated lock and per plain Lock
// call site with waits over the threshold.
func (m *mutexWait) Findings() []Finding { return m.findings }
