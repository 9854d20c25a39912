package detect

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/parse"
)

// What the holder was doing while a waiter waited (mutex-wait). A long
// wait's root holder is the goroutine that held the lock when the wait
// began (for plain sync, found by following the wake chain back through
// holders that had themselves queued for the lock during the wait); the
// holders after it were queued ahead of the waiter. The wait is split by
// each holder's state from the trace while it held the lock: running (a
// long critical section), blocked (sleep, I/O, a channel, another lock:
// under this lock), runnable (the root had the lock but no processor).
// A holder queued ahead of the waiter that is runnable has been handed the
// lock and waits to run: that hand-off is the queue's cost, queued (a
// convoy, whose depth is how many holders took the lock in turn before the
// waiter got it).

// The holder states, in the order of mwStateNames.
const (
	mwRunning = iota
	mwBlocked
	mwRunnable
	mwQueued
	mwStates
	// mwExited ends an exited goroutine's history: it was in no state
	// after, and holds no lock's time.
	mwExited = mwStates
)

var mwStateNames = [mwStates]string{"running", "blocked", "runnable", "queued"}

// Finding causes of mutex-wait: the dominant holder state.
const (
	CauseHolderRunning  = "holder-running"
	CauseHolderBlocked  = "holder-blocked"
	CauseHolderRunnable = "holder-runnable"
	CauseConvoy         = "convoy"
)

var mwStateCauses = [mwStates]string{CauseHolderRunning, CauseHolderBlocked, CauseHolderRunnable, CauseConvoy}

// mwSpan is a stretch of a goroutine's life in one state, from at to the
// next span.
type mwSpan struct {
	at     parse.Time
	stack  parse.StackID // blocked: where
	state  uint8
	reason uint8 // index in mutexWait.reasons
}

// mwMaxSpans bounds one goroutine's state history; older spans are
// dropped (their time is left out of the split).
const mwMaxSpans = 2048

// mwSplit is a wait's time by root holder state.
type mwSplit struct {
	d [mwStates]time.Duration
	// block is where the root was blocked longest during the wait.
	block       parse.StackID
	blockReason string
	blockD      time.Duration
	depth       int // holders after the root, before the waiter got it
	root        parse.GoID
	// the root's hold: where it locked and unlocked (NoStack: unknown)
	lockStack, unlockStack parse.StackID
}

func (s *mwSplit) known() time.Duration {
	var n time.Duration
	for _, d := range s.d {
		n += d
	}
	return n
}

// tracking reports whether some wait is open, so that goroutines' state
// histories are kept.
func (m *mutexWait) tracking() bool { return m.parks.Len() > 0 || len(m.gwaits) > 0 }

// span records goroutine states: the latest always, a history while some
// wait is open.
func (m *mutexWait) span(t *parse.Trace, ev *parse.Event) {
	var sp mwSpan
	switch ev.Kind {
	case parse.EvRun:
		sp = mwSpan{at: ev.Time, state: mwRunning}
	case parse.EvWake:
		sp = mwSpan{at: ev.Time, state: mwRunnable}
	case parse.EvBlock:
		sp = mwSpan{at: ev.Time, state: mwBlocked, reason: m.reason(ev.Reason), stack: ev.Stack}
	case parse.EvStop:
		sp = mwSpan{at: ev.Time, state: mwBlocked, reason: m.reason(ev.Reason), stack: parse.NoStack} // a syscall
		if g := t.Goroutine(ev.G); g != nil && g.State == parse.StateRunnable {
			sp.state = mwRunnable // preempted or yielded
		}
	case parse.EvExit:
		if !m.tracking() {
			m.forget(ev.G)
		} else {
			if tl := m.spans.Lookup(ev.G); tl != nil {
				*tl = append(*tl, mwSpan{at: ev.Time, state: mwExited})
			}
			m.gone = append(m.gone, mwGone{ev.G, ev.Time})
			if len(m.gone) >= m.sweepAt {
				m.sweep()
			}
		}
		return
	default:
		return
	}
	tracking := m.tracking()
	if !tracking {
		for _, g := range m.gone {
			m.forget(g.g)
		}
		m.gone = m.gone[:0]
	}
	tl := m.spans.Ref(ev.G)
	if !tracking {
		*tl = (*tl)[:0]
	}
	if *tl == nil {
		if n := len(m.spare); n > 0 {
			*tl, m.spare = m.spare[n-1], m.spare[:n-1]
		} else {
			*tl = make([]mwSpan, 0, 8)
		}
	}
	if len(*tl) >= mwMaxSpans {
		*tl = append((*tl)[:0], (*tl)[len(*tl)/2:]...)
	}
	*tl = append(*tl, sp)
}

// mwGone is a goroutine that exited while some wait was open.
type mwGone struct {
	g  parse.GoID
	at parse.Time
}

// sweep forgets the exited goroutines no open wait can need: the split
// of a wait reads the states of goroutines during the wait, so one that
// exited before every open wait began plays no part. Without it a wait
// open for good (a goroutine parked in Lock to the end) would keep the
// history of every goroutine that came after it.
func (m *mutexWait) sweep() {
	first := parse.Time(math.MaxInt64)
	for _, p := range m.parks.All() {
		first = min(first, p.start)
	}
	for _, w := range m.gwaits {
		first = min(first, w.start)
	}
	kept := m.gone[:0]
	for i, g := range m.gone {
		// Past mwMaxGone, the oldest go anyway (a wait open since long
		// before then has their part of its split left out, as it has
		// the spans a goroutine's history drops past mwMaxSpans).
		if g.at < first || len(m.gone)-i > mwMaxGone/2 && len(m.gone) > mwMaxGone {
			m.forget(g.g)
		} else {
			kept = append(kept, g)
		}
	}
	m.gone = kept
	m.sweepAt = min(max(mwSweepMin, 2*len(kept)), mwMaxGone)
}

// Sweeps of exited goroutines' histories: the fewest kept before one, and
// the most kept.
const (
	mwSweepMin = 1024
	mwMaxGone  = 1 << 16
)

// forget drops an exited goroutine's state history, keeping its memory
// for another's: goroutines come and go by the million.
func (m *mutexWait) forget(g parse.GoID) {
	if tl := m.spans.Lookup(g); tl != nil {
		if cap(*tl) > 0 && cap(*tl) <= 64 && len(m.spare) < mwSweepMin {
			m.spare = append(m.spare, (*tl)[:0])
		}
		m.spans.Delete(g)
	}
	m.acqs.Delete(g)
}

// reason returns the index of a wait reason in m.reasons, adding it. A
// span holds the index, not the string, so that state histories, the
// largest of the detector's data, hold no pointers for the collector to
// scan. Reasons are few and interned, so the search is short and its
// comparisons mostly of equal pointers.
func (m *mutexWait) reason(r string) uint8 {
	for i, s := range m.reasons {
		if s == r {
			return uint8(i)
		}
	}
	if len(m.reasons) > 255 {
		return 0 // a damaged trace's; the reason is left out
	}
	m.reasons = append(m.reasons, r)
	return uint8(len(m.reasons) - 1)
}

// split adds goroutine g's states over [from, to) to s; blocked spans
// that are queueing for the same lock (same reports it) count as queued.
// For a holder queued ahead of the waiter (queue), runnable time (handed
// the lock, waiting to run) counts as queued, and so does running time
// when its hold was short (under the threshold): the queue's turnover,
// not a long critical section.
func (m *mutexWait) split(s *mwSplit, g parse.GoID, from, to parse.Time, same func(parse.StackID) bool, queue bool) {
	short := queue && time.Duration(to-from) < m.threshold
	tl := m.spans.At(g)
	// Spans are in time order: start at the one under way at from (the
	// earlier ones end before it), stop at the first that begins at to.
	first, _ := slices.BinarySearchFunc(tl, from, func(sp mwSpan, t parse.Time) int { return cmp.Compare(sp.at, t) })
	for i := max(first-1, 0); i < len(tl); i++ {
		sp := tl[i]
		if sp.at >= to || sp.state == mwExited {
			break
		}
		end := to
		if i+1 < len(tl) {
			end = min(end, tl[i+1].at)
		}
		a := max(sp.at, from)
		if end <= a {
			continue
		}
		d := time.Duration(end - a)
		st := sp.state
		if st == mwBlocked && sp.stack != parse.NoStack && same != nil && same(sp.stack) || st == mwRunnable && queue || st == mwRunning && short {
			st = mwQueued
		}
		s.d[st] += d
		if st == mwBlocked && d > s.blockD {
			s.block, s.blockReason, s.blockD = sp.stack, m.reasons[sp.reason], d
		}
	}
}

// mwAcq is a contended plain Lock: when the goroutine was woken from its
// park, by whom and where.
type mwAcq struct {
	at         parse.Time
	waker      parse.GoID
	wakerStack parse.StackID
	stack      parse.StackID // the parked Lock
	node       mwNode
}

const mwMaxAcqs = 8

// acquired records a contended plain Lock.
func (m *mutexWait) acquired(g parse.GoID, a mwAcq) {
	as := m.acqs.Ref(g)
	if len(*as) >= mwMaxAcqs {
		*as = append((*as)[:0], (*as)[1:]...)
	}
	*as = append(*as, a)
}

// acqBefore returns g's latest contended Lock of the virtual mutex root
// before t.
func (m *mutexWait) acqBefore(g parse.GoID, t parse.Time, root mwNode) (mwAcq, bool) {
	as := m.acqs.At(g)
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].at < t && m.find(as[i].node) == root {
			return as[i], true
		}
	}
	return mwAcq{}, false
}

// plainSplit finds the root holder of a plain wait at node from t0 to t1,
// ended by waker's Unlock at wakerStack, and splits the wait by its state.
func (m *mutexWait) plainSplit(node mwNode, t0, t1 parse.Time, waker parse.GoID, wakerStack parse.StackID) mwSplit {
	root := m.find(node)
	same := func(st parse.StackID) bool {
		c := m.plainCall(st)
		return c.kind != mwPlainNone && m.find(mwNode{loc: c.loc}) == root
	}
	s := mwSplit{root: waker, unlockStack: wakerStack, lockStack: parse.NoStack}
	var queue mwSplit // the holders after the root
	rel := t1
	from := t0
	for s.depth < 100000 {
		a, ok := m.acqBefore(s.root, rel, root)
		if !ok || a.at <= t0 || a.waker == parse.NoGoroutine {
			if ok {
				s.lockStack = a.stack
			}
			break
		}
		// s.root got the lock from a.waker at a.at, after the wait
		// began: it was queued ahead of the waiter, and a.waker held the
		// lock before.
		m.split(&queue, s.root, m.trim(&queue, a.at, rel, s.unlockStack), rel, same, true)
		s.root, rel, s.unlockStack = a.waker, a.at, a.wakerStack
		s.depth++
	}
	// The root took the lock after its last hand-off before rel (a
	// goroutine woken from it), whoever handed it: before that the lock
	// went round the goroutines ahead of the waiter, some of them running
	// goroutines that take a free sync.Mutex without parking.
	if h := m.lastHandoff(root, rel); h > from {
		queue.d[mwQueued] += time.Duration(h - from)
		from = h
	}
	from = m.trim(&queue, from, rel, s.unlockStack)
	m.split(&s, s.root, from, rel, same, false)
	if s.known() == 0 && rel > from {
		return mwSplit{} // the root's states are unknown
	}
	s.add(&queue)
	return s
}

// trim shortens a plain hold [from, rel) ending at unlock. Running
// goroutines take a free sync.Mutex without parking, so the lock can go
// round them for long with no hand-off in the trace: a hold far longer
// than the holds its Unlock site is seen to make is taken as that long
// (their median), and the rest counts in q as the queue's.
func (m *mutexWait) trim(q *mwSplit, from, rel parse.Time, unlock parse.StackID) parse.Time {
	u := m.unlockHolds[mustLoc(m.stacks, unlock)]
	if u == nil || u.n < 8 {
		return from
	}
	if med := parse.Time(u.median()); rel-from > 8*med {
		q.d[mwQueued] += time.Duration(rel - med - from)
		return rel - med
	}
	return from
}

// mwMaxHandoffs bounds the hand-off times kept per Lock site.
const mwMaxHandoffs = 4096

// handoff records that a goroutine parked in Lock at node was woken.
func (m *mutexWait) handoff(node mwNode, at parse.Time) {
	hs := m.handoffs[node]
	if len(hs) >= mwMaxHandoffs {
		hs = append(hs[:0], hs[len(hs)/2:]...)
	}
	m.handoffs[node] = append(hs, at)
}

// lastHandoff returns the latest hand-off of the virtual mutex root
// before t, or -1.
func (m *mutexWait) lastHandoff(root mwNode, t parse.Time) parse.Time {
	last := parse.Time(-1)
	for n, hs := range m.handoffs {
		if m.find(n) != root {
			continue
		}
		i, _ := slices.BinarySearch(hs, t)
		if i > 0 {
			last = max(last, hs[i-1])
		}
	}
	return last
}

// add adds t's states to s.
func (s *mwSplit) add(t *mwSplit) {
	for i, d := range t.d {
		s.d[i] += d
	}
	if t.blockD > s.blockD {
		s.block, s.blockReason, s.blockD = t.block, t.blockReason, t.blockD
	}
}

// mwHoldKey is a holder site: where a hold locked and unlocked.
type mwHoldKey struct{ lock, unlock parse.Frame }

// mwHoldStat is what is known of one holder site's holds.
type mwHoldStat struct {
	holds []time.Duration // bounded: the first mwMaxHolds
	n     int
	max   time.Duration
}

const mwMaxHolds = 4096

func (m *mutexWait) holdKey(lock, unlock parse.StackID) mwHoldKey {
	var k mwHoldKey
	if lock != parse.NoStack {
		k.lock, _ = m.stacks.Location(lock)
	}
	if unlock != parse.NoStack {
		k.unlock, _ = m.stacks.Location(unlock)
	}
	return k
}

// mwUnlockHolds counts the contended holds that ended at one Unlock
// site, by power of two of their length.
type mwUnlockHolds struct {
	buckets [64]int
	n       int
}

func (u *mwUnlockHolds) add(d time.Duration) {
	b := 0
	for d > 1 && b < 63 {
		d >>= 1
		b++
	}
	u.buckets[b]++
	u.n++
}

// median returns the upper bound of the bucket holding the median.
func (u *mwUnlockHolds) median() time.Duration {
	seen := 0
	for b, c := range u.buckets {
		if seen += c; 2*seen >= u.n {
			return time.Duration(1) << b
		}
	}
	return 0
}

// holdAt records one hold of a holder site.
func holdAt(stats map[mwHoldKey]*mwHoldStat, k mwHoldKey, d time.Duration) {
	hs := stats[k]
	if hs == nil {
		hs = &mwHoldStat{}
		stats[k] = hs
	}
	if d >= 0 {
		hs.n++
		hs.max = max(hs.max, d)
		if len(hs.holds) < mwMaxHolds {
			hs.holds = append(hs.holds, d)
		}
	}
}

// mwHolderStates sums the long waits' splits.
func mwHolderStates(long []mwLong) (sum mwSplit, depth int) {
	blocked := make(map[parse.StackID]time.Duration)
	reasons := make(map[parse.StackID]string)
	for _, l := range long {
		for i, d := range l.split.d {
			sum.d[i] += d
		}
		if l.split.blockD > 0 {
			blocked[l.split.block] += l.split.blockD
			reasons[l.split.block] = l.split.blockReason
		}
		depth = max(depth, l.split.depth)
	}
	sum.block = parse.NoStack
	for st, d := range blocked {
		if d > sum.blockD || d == sum.blockD && st < sum.block {
			sum.block, sum.blockD, sum.blockReason = st, d, reasons[st]
		}
	}
	return sum, depth
}

// holderStates completes a mutex-wait finding from its long waits' holder
// states: the shares (HolderStates), the cause, severity and hint of the
// dominant state, and the holder sites ranked by the waited time charged
// to them.
func (m *mutexWait) holderStates(f *Finding, long []mwLong, stats map[mwHoldKey]*mwHoldStat) {
	sum, depth := mwHolderStates(long)
	known := sum.known()
	if known == 0 {
		return
	}
	f.HolderStates = make(map[string]float64)
	dom := 0
	var parts []string
	for i, d := range sum.d {
		f.Stats["holder_"+mwStateNames[i]+"_ns"] = int64(d)
		share := float64(d) / float64(known)
		f.HolderStates[mwStateNames[i]] = float64(int(share*1000+0.5)) / 1000
		if d > sum.d[dom] {
			dom = i
		}
		if pct := int(share*100 + 0.5); pct >= 1 {
			p := fmt.Sprintf("%s %d%%", mwStateNames[i], pct)
			switch {
			case i == mwBlocked && sum.block != parse.NoStack:
				p += fmt.Sprintf(" (%s at %s)", mwBlockWhat(m.stacks, sum.block, sum.blockReason), where(mustLoc(m.stacks, sum.block)))
			case i == mwBlocked && sum.blockReason != "":
				p += fmt.Sprintf(" (%s)", sum.blockReason)
			case i == mwQueued && depth > 0:
				p += fmt.Sprintf(" (convoy depth up to %d)", depth)
			}
			parts = append(parts, p)
		}
	}
	if dom == mwRunnable {
		// Runnable holders dominate, but if a wait would still have been
		// long without them (2× the threshold), the code made it long:
		// the dominant state is the code's.
		for _, l := range long {
			if known := l.split.known(); known > 0 && l.dur-time.Duration(float64(l.dur)*float64(l.split.d[mwRunnable])/float64(known)) >= 2*m.threshold {
				dom = mwRunning
				for _, i := range []int{mwBlocked, mwQueued} {
					if sum.d[i] > sum.d[dom] {
						dom = i
					}
				}
				break
			}
		}
	}
	if depth > 0 {
		f.Stats["convoy_depth"] = int64(depth)
	}
	f.Cause = mwStateCauses[dom]
	// The longest wait's root holder, where it is not the blamed one.
	var rep *mwLong
	for i := range long {
		if l := &long[i]; l.split.known() > 0 && (rep == nil || l.dur > rep.dur) {
			rep = l
		}
	}
	if rep != nil && rep.split.depth > 0 && rep.split.unlockStack != parse.NoStack {
		f.Related = append(f.Related, Related{Role: "root-holder", Site: siteOf(m.stacks, rep.split.root, rep.split.unlockStack)})
		f.Message += fmt.Sprintf("; the longest wait's root holder was goroutine %d, unlocking at %s, with %d more queued ahead",
			rep.split.root, where(mustLoc(m.stacks, rep.split.unlockStack)), rep.split.depth)
	}
	f.Message += fmt.Sprintf("; while they waited, the holders were %s", strings.Join(parts, ", "))
	if sites := m.rankHolders(long, stats); sites != "" {
		f.Message += "; holder sites by waited time: " + sites
	}
	switch dom {
	case mwBlocked:
		what := "blocks"
		if sum.block != parse.NoStack {
			what = fmt.Sprintf("blocks in %s at %s", mwBlockWhat(m.stacks, sum.block, sum.blockReason), where(mustLoc(m.stacks, sum.block)))
		}
		f.Hint = "the holder " + what + " while it holds the lock, and everyone waits with it: do that outside the critical section (copy what it needs, unlock, sleep or do the I/O or wait, then lock again to publish the result)"
	case mwRunnable:
		f.Severity = SeverityInfo
		f.Hint = "the holder had the lock but no processor most of the time (runnable, not running): a shortage of CPU (more busy goroutines than GOMAXPROCS, or a loaded machine), not the critical section; look at CPU saturation before changing the code"
	case mwQueued:
		f.Hint = fmt.Sprintf("a lock convoy: waiters mostly waited for goroutines queued ahead of them (up to %d), each holding the lock briefly, so a shorter critical section helps little; take the lock less often: batch the work, shard the lock or the data, keep per-goroutine state, or use atomics", depth)
	}
}

// mwBlockWhat names what a blocked stack waits in: the outermost method
// of a synchronization package, else the innermost non-runtime function,
// else the reason.
func mwBlockWhat(st stackTable, stack parse.StackID, reason string) string {
	frames := st.Frames(stack)
	if w := describeWait(frames, reason); w != reason {
		return w
	}
	for _, f := range frames {
		if !f.IsRuntime() {
			return f.Func[strings.LastIndexByte(f.Func, '/')+1:]
		}
	}
	return reason
}

func mustLoc(st stackTable, stack parse.StackID) parse.Frame {
	f, _ := st.Location(stack)
	return f
}

// rankHolders lists the holder sites that long waits were charged to,
// most first, with their holds' p50 and max: "main.go:20→main.go:24 90%
// (hold p50 4ms, max 4.1ms)".
func (m *mutexWait) rankHolders(long []mwLong, stats map[mwHoldKey]*mwHoldStat) string {
	type site struct {
		k mwHoldKey
		d time.Duration
	}
	by := make(map[mwHoldKey]time.Duration)
	var total time.Duration
	for _, l := range long {
		root := l.split.d[mwRunning] + l.split.d[mwBlocked] + l.split.d[mwRunnable]
		if root == 0 {
			continue
		}
		by[m.holdKey(l.split.lockStack, l.split.unlockStack)] += root
		total += l.split.known()
	}
	var sites []site
	for k, d := range by {
		sites = append(sites, site{k, d})
	}
	slices.SortFunc(sites, func(a, b site) int {
		return cmp.Or(-cmp.Compare(a.d, b.d), cmp.Compare(a.k.lock.File, b.k.lock.File), cmp.Compare(a.k.lock.Line, b.k.lock.Line),
			cmp.Compare(a.k.unlock.File, b.k.unlock.File), cmp.Compare(a.k.unlock.Line, b.k.unlock.Line))
	})
	var out []string
	for i, s := range sites {
		if i == 3 {
			break
		}
		var part string
		switch {
		case s.k.lock.File != "" && s.k.unlock.File != "":
			part = fmt.Sprintf("Lock %s → Unlock %s", where(s.k.lock), where(s.k.unlock))
		case s.k.unlock.File != "":
			part = fmt.Sprintf("Unlock %s (its Lock was not contended: not in the trace)", where(s.k.unlock))
		default:
			part = fmt.Sprintf("Lock %s", where(s.k.lock))
		}
		part += fmt.Sprintf(" %d%%", int(float64(s.d)/float64(total)*100+0.5))
		if hs := stats[s.k]; hs != nil && len(hs.holds) > 0 {
			ds := slices.Clone(hs.holds)
			slices.Sort(ds)
			part += fmt.Sprintf(" (hold p50 %v, max %v)", roundDuration(ds[(len(ds)-1)/2]), roundDuration(hs.max))
		}
		out = append(out, part)
	}
	return strings.Join(out, ", ")
}

// creditSplit adds hold h, held until now, to annotated wait w's split by
// holder state: the hold the wait began in is its root's, the others were
// queued ahead of it.
func (m *mutexWait) creditSplit(w *mwWait, h *mwHold, now parse.Time) {
	if h.g == parse.NoGoroutine {
		return
	}
	m.split(&w.split, h.g, max(h.at, w.start), now, nil, h != w.root)
}

// annotatedSplit completes an annotated wait's split: its root is the
// hold it began in (or, if the lock was free then, the hold that
// overlapped it most).
func (m *mutexWait) annotatedSplit(w *mwWait) mwSplit {
	s := w.split
	h := w.root
	if h == nil {
		h = w.best
	}
	if h == nil || s.known() == 0 {
		return mwSplit{}
	}
	s.root, s.lockStack, s.unlockStack, s.depth = h.g, h.stack, h.unlockStack, max(w.nholds-1, 0)
	return s
}

// stdlibLocks are hot locks inside the standard library, by the function
// that takes them, with the fix at the user's level.
var stdlibLocks = []struct{ prefix, hint string }{
	{"context.", "a hot lock inside package context: every cancelable context derived from one parent (WithCancel, WithTimeout, WithDeadline) locks that parent to register itself and again to unregister, so many of them from one shared parent contend on its lock; derive fewer (one per request or batch rather than per task), give each worker its own parent, or use context.AfterFunc / WithoutCancel where cancellation is not needed"},
	{"sync.(*Pool).", "a hot lock inside sync.Pool (allPoolsMu, taken the first time a Pool is used on each processor): create Pools once, at package level, instead of a new Pool per call or per object"},
	{"log.", "a hot lock inside package log: the Logger serializes every write under one mutex; log less on hot paths, or use a logger with buffered or asynchronous output (log/slog with a handler that buffers)"},
}

// stdlibLockHint gives the user-level fix of a hot standard-library lock,
// found by the function that called Lock (via).
func stdlibLockHint(f *Finding, via string) {
	for _, l := range stdlibLocks {
		if strings.HasPrefix(via, l.prefix) {
			f.Hint = l.hint
			return
		}
	}
}
