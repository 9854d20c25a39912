package detect

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// LockOrder reports lock-order inversions: two locks taken in both orders
// somewhere in the trace (a goroutine holds A and locks B; a goroutine
// holds B and locks A). Two goroutines doing that at the same time can
// each wait for the other forever: a potential deadlock, reported even
// though this run did not hang.
//
// It reads blockscope's annotated locks (primitives/sync Mutex, RWMutex
// and ReentrantMutex; evidence "annotations"): every lock, rlock, unlock
// and runlock names its object, so each goroutine's held set is exact,
// including a Mutex unlocked by another goroutine than its locker.
// An order is recorded when the second lock is acquired; a goroutine
// still waiting for it at the end (a deadlock that did happen) is the
// deadlock and leak detectors' finding. Re-entrant Locks of a
// ReentrantMutex already held, and a lock taken again while held, add no
// order. An inversion needs the two
// acquisitions to exclude each other: RLock-after-RLock orders of an
// RWMutex are ignored (readers share), and so are two orders both taken
// while holding a common lock for writing (a gate lock serializes them).
//
// The finding points at the acquisition in the less frequent order (where
// the fix most likely goes), lists the lock held there and the two
// acquisition sites of the other order, and suggests the order the
// majority of acquisitions use. Confidence "two-goroutines": different
// goroutines took the two orders; "one-goroutine": one goroutine took
// both, so this run could not deadlock, but two goroutines running the
// same code can. Longer cycles (A→B→C→A over three goroutines) are not
// reported.
//
// Plain sync.Mutex and RWMutex are not covered: an uncontended Lock
// leaves no event in the trace and no event says which mutex a goroutine
// holds, so held sets cannot be built; a plain-sync program whose
// inversion actually deadlocks is reported by the leak detector.
//
// Options (LockOrderOptions): SameGoroutine (--lock-order-same-goroutine,
// default true) also reports orders that only one goroutine took.
//
// Known false positives: a second lock taken with TryLock (which never
// waits, and so cannot deadlock, but is annotated like Lock), and orders
// that other means (a channel handshake, a phase of the program) keep
// from ever running at the same time.
//
// Wrong:
//
//	func transfer(from, to *Account, n int) {
//		from.mu.Lock()
//		to.mu.Lock() // transfer(a, b) and transfer(b, a) deadlock
//		...
//	}
//
// Right: lock in one global order, e.g. by account id:
//
//	first, second := from, to
//	if second.id < first.id {
//		first, second = second, first
//	}
//	first.mu.Lock()
//	second.mu.Lock()
var LockOrder = register(&Detector{
	Name: "lock-order",
	Doc:  "annotated locks taken in both orders (A then B, B then A): a potential deadlock",
	New:  func(cfg *Config) Analyzer { return newLockOrder(cfg.LockOrder) },
})

// LockOrderOptions configure the lock-order detector.
type LockOrderOptions struct {
	// SameGoroutine also reports inversions whose two orders only one
	// goroutine took.
	SameGoroutine bool
}

// DefaultLockOrderOptions returns the documented defaults.
func DefaultLockOrderOptions() LockOrderOptions {
	return LockOrderOptions{SameGoroutine: true}
}

// Lock-order confidences.
const (
	ConfidenceTwoGoroutines = "two-goroutines"
	ConfidenceOneGoroutine  = "one-goroutine"
)

// loHeld is a lock a goroutine holds.
type loHeld struct {
	obj   wire.ObjectID
	read  bool
	stack parse.StackID
}

// loEdgeKey is an order: b locked while a was held, in those modes.
type loEdgeKey struct {
	a, b         wire.ObjectID
	aRead, bRead bool
}

// loEdge is every acquisition in one order.
type loEdge struct {
	key            loEdgeKey
	count          int
	first          parse.Time
	g              parse.GoID // the first acquisition's goroutine and stacks
	aStack, bStack parse.StackID
	gs             [2]parse.GoID // the first two distinct goroutines
	// gates are the other locks held at every acquisition in this order:
	// true if always held for writing.
	gates map[wire.ObjectID]bool
}

type loObject struct {
	kind wire.Kind
	name string
}

type lockOrder struct {
	opts   LockOrderOptions
	stacks stackTable

	held    map[parse.GoID][]loHeld
	writer  map[wire.ObjectID]parse.GoID   // who holds each write-locked object
	readers map[wire.ObjectID][]parse.GoID // who holds each read-locked object
	objects map[wire.ObjectID]*loObject
	edges   map[loEdgeKey]*loEdge

	findings []Finding
}

func newLockOrder(opts LockOrderOptions) *lockOrder {
	return &lockOrder{
		opts:    opts,
		held:    make(map[parse.GoID][]loHeld),
		writer:  make(map[wire.ObjectID]parse.GoID),
		readers: make(map[wire.ObjectID][]parse.GoID),
		objects: make(map[wire.ObjectID]*loObject),
		edges:   make(map[loEdgeKey]*loEdge),
	}
}

// Event follows each goroutine's held locks and records the orders.
func (l *lockOrder) Event(t *parse.Trace, ev *parse.Event) {
	if l.stacks == nil {
		l.stacks = t.Stacks
	}
	if ev.Kind == parse.EvExit {
		// Locks it still holds stay held (by nobody who can release
		// them), but it takes no more.
		delete(l.held, ev.G)
		return
	}
	if ev.Kind != parse.EvAnnotation || !isLockKind(ev.Annotation.Kind) {
		return
	}
	a := &ev.Annotation
	o := l.objects[a.Object]
	if o == nil {
		o = &loObject{kind: a.Kind}
		l.objects[a.Object] = o
	}
	switch a.Op {
	case wire.OpName:
		o.name = a.Key
	case wire.OpLock:
		if a.Kind == wire.KindReentrant && a.N > 1 {
			return // re-entry
		}
		l.acquire(ev, false)
		l.writer[a.Object] = ev.G
	case wire.OpRLock:
		l.acquire(ev, true)
		l.readers[a.Object] = append(l.readers[a.Object], ev.G)
	case wire.OpUnlock:
		if a.Kind == wire.KindReentrant && a.N > 0 {
			return // still held
		}
		g := ev.G
		if w, ok := l.writer[a.Object]; ok && !l.holds(g, a.Object) {
			g = w // a Mutex may be unlocked by another goroutine
		}
		l.drop(g, a.Object, false)
		if l.writer[a.Object] == g {
			delete(l.writer, a.Object)
		}
	case wire.OpRUnlock:
		rs := l.readers[a.Object]
		i := slices.Index(rs, ev.G)
		if i < 0 && len(rs) > 0 {
			i = 0 // read-unlocked on another goroutine's behalf
		}
		if i < 0 {
			return
		}
		g := rs[i]
		if rs = slices.Delete(rs, i, i+1); len(rs) == 0 {
			delete(l.readers, a.Object)
		} else {
			l.readers[a.Object] = rs
		}
		l.drop(g, a.Object, true)
	}
}

// acquire records the orders a lock or rlock makes with the locks its
// goroutine holds, then adds it to them.
func (l *lockOrder) acquire(ev *parse.Event, read bool) {
	obj := ev.Annotation.Object
	held := l.held[ev.G]
	for i, h := range held {
		if h.obj == obj || slices.ContainsFunc(held[:i], func(x loHeld) bool { return x.obj == h.obj && x.read == h.read }) {
			continue
		}
		k := loEdgeKey{a: h.obj, b: obj, aRead: h.read, bRead: read}
		e := l.edges[k]
		if e == nil {
			e = &loEdge{key: k, first: ev.Time, g: ev.G, aStack: h.stack, bStack: ev.Stack,
				gs: [2]parse.GoID{ev.G, parse.NoGoroutine}, gates: make(map[wire.ObjectID]bool)}
			for _, x := range held {
				if x.obj != h.obj && x.obj != obj {
					e.gates[x.obj] = e.gates[x.obj] || !x.read
				}
			}
			l.edges[k] = e
		} else {
			if e.gs[1] == parse.NoGoroutine && ev.G != e.gs[0] {
				e.gs[1] = ev.G
			}
			for gate, write := range e.gates {
				i := slices.IndexFunc(held, func(x loHeld) bool { return x.obj == gate })
				if i < 0 {
					delete(e.gates, gate)
				} else {
					e.gates[gate] = write && !held[i].read
				}
			}
		}
		e.count++
	}
	l.held[ev.G] = append(held, loHeld{obj: obj, read: read, stack: ev.Stack})
}

// holds reports whether goroutine g holds obj for writing. (A later
// Lock of obj by another goroutine can be read before g's Unlock when
// processors' clocks disagree.)
func (l *lockOrder) holds(g parse.GoID, obj wire.ObjectID) bool {
	return slices.ContainsFunc(l.held[g], func(h loHeld) bool { return h.obj == obj && !h.read })
}

// drop removes goroutine g's most recent hold of obj in that mode.
func (l *lockOrder) drop(g parse.GoID, obj wire.ObjectID, read bool) {
	held := l.held[g]
	for i := len(held) - 1; i >= 0; i-- {
		if held[i].obj == obj && held[i].read == read {
			l.held[g] = slices.Delete(held, i, i+1)
			return
		}
	}
}

// excludes reports whether a lock in mode x must wait for one held in
// mode y: unless both are read locks.
func excludes(x, y bool) bool { return !(x && y) }

// loInversion is a pair of orders that can deadlock.
type loInversion struct {
	major, minor *loEdge
	two          bool
}

// inversion checks whether e1 (A then B) and e2 (B then A) can deadlock:
// each acquisition must wait for the other's hold, and no common lock
// held for writing may serialize them.
func inversion(e1, e2 *loEdge) (two, ok bool) {
	if !excludes(e1.key.bRead, e2.key.aRead) || !excludes(e2.key.bRead, e1.key.aRead) {
		return false, false
	}
	for gate, w1 := range e1.gates {
		if w2, ok := e2.gates[gate]; ok && (w1 || w2) {
			return false, false
		}
	}
	for _, g1 := range e1.gs {
		for _, g2 := range e2.gs {
			if g1 != parse.NoGoroutine && g2 != parse.NoGoroutine && g1 != g2 {
				return true, true
			}
		}
	}
	return false, true
}

// Finalize finds the pairs of locks taken in both orders.
func (l *lockOrder) Finalize(t *parse.Trace) {
	if l.stacks == nil {
		return
	}
	type pair struct{ a, b wire.ObjectID }
	byPair := make(map[pair][]*loEdge)
	var pairs []pair
	for k, e := range l.edges {
		p := pair{min(k.a, k.b), max(k.a, k.b)}
		if byPair[p] == nil {
			pairs = append(pairs, p)
		}
		byPair[p] = append(byPair[p], e)
	}
	slices.SortFunc(pairs, func(x, y pair) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
	for _, p := range pairs {
		es := byPair[p]
		slices.SortFunc(es, func(x, y *loEdge) int { return cmp.Compare(x.first, y.first) })
		var best *loInversion
		for _, e1 := range es {
			if e1.key.a != p.a {
				continue
			}
			for _, e2 := range es {
				if e2.key.a != p.b {
					continue
				}
				two, ok := inversion(e1, e2)
				if !ok || !two && !l.opts.SameGoroutine {
					continue
				}
				c := &loInversion{major: e1, minor: e2, two: two}
				if e2.count > e1.count || e2.count == e1.count && e2.first < e1.first {
					c.major, c.minor = e2, e1
				}
				if best == nil || c.two && !best.two ||
					c.two == best.two && c.major.count+c.minor.count > best.major.count+best.minor.count {
					best = c
				}
			}
		}
		if best != nil {
			l.findings = append(l.findings, l.finding(best))
		}
	}
}

func (l *lockOrder) name(id wire.ObjectID) string {
	o := l.objects[id]
	return lockObjectName(o.kind, id, o.name)
}

func (l *lockOrder) finding(inv *loInversion) Finding {
	major, minor := inv.major, inv.minor
	x, y := l.name(major.key.a), l.name(major.key.b) // the majority takes x before y
	loc, _ := l.stacks.Location(minor.bStack)
	majorLoc, _ := l.stacks.Location(major.bStack)
	f := Finding{
		Kind:       "lock-order",
		Severity:   SeverityWarning,
		Confidence: ConfidenceOneGoroutine,
		Location:   loc,
		Stack:      l.stacks.Frames(minor.bStack),
		Evidence:   EvidenceAnnotations,
		Object:     fmt.Sprintf("%s and %s", l.name(min(major.key.a, major.key.b)), l.name(max(major.key.a, major.key.b))),
		Related: []Related{
			{Role: "held", Site: siteOf(l.stacks, minor.g, minor.aStack)},
			{Role: "other-order-held", Site: siteOf(l.stacks, major.g, major.aStack)},
			{Role: "other-order-locked", Site: siteOf(l.stacks, major.g, major.bStack)},
		},
		Stats: map[string]int64{
			"order_count":   int64(major.count),
			"inverse_count": int64(minor.count),
		},
		Hint: "take the locks in one global order everywhere (rank them, or order by a stable id), or release the first lock before taking the second",
	}
	if inv.two {
		f.Confidence = ConfidenceTwoGoroutines
	}
	gs := []parse.GoID{major.g, minor.g}
	slices.Sort(gs)
	f.Goroutines = slices.Compact(gs)
	mode := func(read bool) string {
		if read {
			return " (read)"
		}
		return ""
	}
	f.Message = fmt.Sprintf("lock-order inversion: %s%s is locked at %s while holding %s%s (goroutine %d), but %s%s is locked at %s while holding %s%s (goroutine %d); run at the same time, each can wait for the other forever; take %s before %s everywhere (%d of %d acquisitions do)",
		x, mode(minor.key.bRead), where(loc), y, mode(minor.key.aRead), minor.g,
		y, mode(major.key.bRead), where(majorLoc), x, mode(major.key.aRead), major.g,
		x, y, major.count, major.count+minor.count)
	if !inv.two {
		f.Message += fmt.Sprintf("; only goroutine %d took them in this trace", major.g)
	}
	return f
}

// Findings returns one finding per pair of locks taken in both orders.
func (l *lockOrder) Findings() []Finding { return l.findings }
