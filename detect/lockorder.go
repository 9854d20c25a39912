package detect

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

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
// Rings of any length are reported the same way, one finding per ring
// (as go-deadlock and ThreadSanitizer's lock-order-inversion do): A before
// B in one place, B before C in another, C before A in a third. Each
// acquisition must wait for the next order's hold, and a lock held at
// every order of the ring (for writing by at least one) gates it: such a
// ring is not reported. The finding points at the least frequent order's
// acquisition, names the order the other orders agree on, and relates
// both acquisition sites of every order ("held" and "locked").
//
// The finding points at the acquisition in the less frequent order (where
// the fix most likely goes), lists the lock held there and the two
// acquisition sites of the other order, and suggests the order the
// majority of acquisitions use. Confidence "two-goroutines": different
// goroutines took the two orders; "one-goroutine": one goroutine took
// both, so this run could not deadlock, but two goroutines running the
// same code can. Rings are looked for up to 1000 of them (and a million
// search steps), the lowest-numbered locks first.
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

// Kinds are the events lockOrder takes (see parse.Selective).
func (*lockOrder) Kinds() parse.Kinds {
	return parse.KindsOf(parse.EvExit, parse.EvAnnotation)
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

// ring checks whether orders es (es[i] taken holding what es[i-1] locks,
// around the ring) can deadlock: each acquisition must wait for the hold
// of the next order's goroutine, and no common lock held for writing may
// serialize them. two: the orders were not all taken by one goroutine.
func ring(es []*loEdge) (two, ok bool) {
	for i, e := range es {
		if !excludes(e.key.bRead, es[(i+1)%len(es)].key.aRead) {
			return false, false
		}
	}
	for gate, w := range es[0].gates {
		common := true
		for _, e := range es[1:] {
			w2, ok := e.gates[gate]
			common = common && ok
			w = w || w2
		}
		if common && w {
			return false, false
		}
	}
	first := es[0].gs[0]
	for _, e := range es {
		for _, g := range e.gs {
			if g != parse.NoGoroutine && g != first {
				return true, true
			}
		}
	}
	return false, true
}

// loMaxRings bounds the rings Finalize looks for (and the steps it takes
// finding them), so that a program with thousands of locks all taken in
// every order stays quick; the lowest-numbered rings are reported.
const (
	loMaxRings = 1000
	loMaxSteps = 1_000_000
)

// Finalize finds the rings of locks taken in a cyclic order: A before B
// and B before A, or A before B, B before C and C before A, of any length.
func (l *lockOrder) Finalize(t *parse.Trace) {
	if l.stacks == nil {
		return
	}
	type pair struct{ a, b wire.ObjectID }
	byPair := make(map[pair][]*loEdge)
	next := make(map[wire.ObjectID][]wire.ObjectID)
	for k, e := range l.edges {
		p := pair{k.a, k.b}
		if byPair[p] == nil {
			next[k.a] = append(next[k.a], k.b)
		}
		byPair[p] = append(byPair[p], e)
	}
	for _, es := range byPair {
		slices.SortFunc(es, func(x, y *loEdge) int { return cmp.Compare(x.first, y.first) })
	}
	for _, ns := range next {
		slices.Sort(ns)
	}
	nodes := slices.Sorted(maps.Keys(next))

	// Elementary cycles, each found once from its lowest lock: a depth-first
	// walk from every lock through higher locks only.
	var cycles [][]wire.ObjectID
	steps := 0
	var path []wire.ObjectID
	on := make(map[wire.ObjectID]bool)
	var walk func(start, v wire.ObjectID)
	walk = func(start, v wire.ObjectID) {
		for _, w := range next[v] {
			if steps++; steps > loMaxSteps || len(cycles) >= loMaxRings {
				return
			}
			switch {
			case w == start:
				cycles = append(cycles, slices.Clone(path))
			case w > start && !on[w]:
				on[w] = true
				path = append(path, w)
				walk(start, w)
				path = path[:len(path)-1]
				on[w] = false
			}
		}
	}
	for _, s := range nodes {
		path = append(path[:0], s)
		on[s] = true
		walk(s, s)
		on[s] = false
	}

	for _, c := range cycles {
		// Of the orders between each two locks of the ring (a lock may be
		// read- or write-locked), the combination that can deadlock, taken
		// by most goroutines, then most often.
		var best []*loEdge
		bestTwo := false
		pick := make([]*loEdge, len(c))
		var choose func(i int)
		choose = func(i int) {
			if i == len(c) {
				two, ok := ring(pick)
				if !ok || !two && !l.opts.SameGoroutine {
					return
				}
				if best == nil || two && !bestTwo || two == bestTwo && loCount(pick) > loCount(best) {
					best, bestTwo = slices.Clone(pick), two
				}
				return
			}
			for _, e := range byPair[pair{c[i], c[(i+1)%len(c)]}] {
				pick[i] = e
				choose(i + 1)
			}
		}
		choose(0)
		switch {
		case best == nil:
		case len(best) == 2:
			inv := &loInversion{major: best[0], minor: best[1], two: bestTwo}
			if best[1].count > best[0].count || best[1].count == best[0].count && best[1].first < best[0].first {
				inv.major, inv.minor = best[1], best[0]
			}
			l.findings = append(l.findings, l.finding(inv))
		default:
			l.findings = append(l.findings, l.ringFinding(best, bestTwo))
		}
	}
}

// loCount is how many acquisitions took the orders.
func loCount(es []*loEdge) int {
	n := 0
	for _, e := range es {
		n += e.count
	}
	return n
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

// ringFinding reports a ring of three locks or more. It points at the
// acquisition of the least frequent order (where the fix most likely goes:
// the other orders agree on one order of the locks), and relates where
// every order's goroutine held its first lock and took its second.
func (l *lockOrder) ringFinding(es []*loEdge, two bool) Finding {
	minor := 0
	for i, e := range es {
		if e.count < es[minor].count || e.count == es[minor].count && e.first > es[minor].first {
			minor = i
		}
	}
	k := len(es)
	loc, _ := l.stacks.Location(es[minor].bStack)
	f := Finding{
		Kind:       "lock-order",
		Severity:   SeverityWarning,
		Confidence: ConfidenceOneGoroutine,
		Location:   loc,
		Stack:      l.stacks.Frames(es[minor].bStack),
		Evidence:   EvidenceAnnotations,
		Stats: map[string]int64{
			"ring_length":   int64(k),
			"order_count":   int64(loCount(es) - es[minor].count),
			"inverse_count": int64(es[minor].count),
		},
		Hint: "the locks are taken in a cycle of orders, each pair by different code: rank the locks and take them in rank order everywhere, or release one before taking the next; the other orders agree on the order named here",
	}
	if two {
		f.Confidence = ConfidenceTwoGoroutines
	}
	var names, steps, order []string
	var gs []parse.GoID
	for i := range k {
		e := es[(minor+1+i)%k] // the agreed chain first, the odd one out last
		order = append(order, l.name(e.key.a))
		names = append(names, l.name(es[i].key.a))
		gs = append(gs, e.g)
		held, _ := l.stacks.Location(e.aStack)
		locked, _ := l.stacks.Location(e.bStack)
		mode := func(read bool) string {
			if read {
				return " (read)"
			}
			return ""
		}
		steps = append(steps, fmt.Sprintf("goroutine %d holds %s%s (locked at %s) and locks %s%s at %s",
			e.g, l.name(e.key.a), mode(e.key.aRead), where(held), l.name(e.key.b), mode(e.key.bRead), where(locked)))
		f.Related = append(f.Related,
			Related{Role: "held", Site: siteOf(l.stacks, e.g, e.aStack)},
			Related{Role: "locked", Site: siteOf(l.stacks, e.g, e.bStack)})
	}
	slices.Sort(gs)
	f.Goroutines = slices.Compact(gs)
	f.Object = strings.Join(names, ", ")
	ring := strings.Join(append(slices.Clone(order), order[0]), " → ")
	f.Message = fmt.Sprintf("lock-order ring of %d locks, %s: %s; run at the same time, each can wait for the next forever; take them in the order %s everywhere (%d of %d acquisitions do)",
		k, ring, strings.Join(steps, "; "), strings.Join(order, ", "), loCount(es)-es[minor].count, loCount(es))
	if !two {
		f.Message += fmt.Sprintf("; only goroutine %d took them in this trace", es[0].g)
	}
	return f
}

// Findings returns one finding per ring of locks taken in a cyclic order.
func (l *lockOrder) Findings() []Finding { return l.findings }
