package detect

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/internal/idmap"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// SemaphoreQueue reports weighted semaphores whose queue of waiting
// Acquires builds up: work arrives faster than the semaphore lets it
// through, so callers pile up and wait.
//
// For each semaphore it measures the queue depth over time (waiters, and
// the weight they request), its maximum, its time-weighted mean and the
// time it spent at or above --sema-depth, the waits (count, p50, p99,
// max), and the worst buildup: the largest rise of the queue within any
// --sema-window, which happens only while Acquires arrive faster than
// they are granted (arrival rate above service rate). It names the
// acquirers that waited longest and the holders that held longest. A
// semaphore is reported when a buildup grew its queue by at least
// --sema-depth waiters and some wait lasted at least --sema-wait. The
// finding points at the Acquire call that accumulated the most waiting.
//
// Evidence: primitives/semaphore's annotations give the exact answer
// (confidence "exact"): which semaphore, each waiter's weight, which
// Release admitted whom. For golang.org/x/sync/semaphore, from the trace
// alone (confidence "per-call-site"), a wait is a goroutine blocked in a
// select under (*Weighted).Acquire, ended by a goroutine inside the
// semaphore's Release (a grant) or by anything else, such as a context's
// cancel or a timer (a cancellation). Waits are grouped by the line that
// called Acquire: one "virtual" semaphore per call site, which merges two
// semaphores acquired at the same line and splits one acquired at several
// lines; weights are unknown; an Acquire that was granted without parking
// is invisible, so depths and wait counts are lower bounds; a hold is
// measured only for a goroutine that waited and later released waking
// someone.
//
// Flags (SemaphoreOptions): --sema-depth=N (default 8 waiters),
// --sema-wait=DURATION (default 10ms), --sema-window=DURATION (default
// 1s).
//
// A batch is no buildup: goroutines started together by one goroutine (a
// loop of go statements with no pause in it), each going straight to
// Acquire, fill the queue once, and it only drains from then on. A rise
// counts as a buildup (cause "buildup", warning) when its arrivals come
// from at least --sema-depth batches: work that keeps coming, such as a
// goroutine per request. A goroutine that loops Acquire/Release is one
// source of arrivals however often it loops (the batch it was started
// in). A queue of --sema-depth or more that only batches built is a burst
// (cause "burst", info): how many goroutines the loop started, the slots
// (annotated: the most weight held at once; x/sync: about, those that got
// in without waiting), how long the queue took to drain, and the go
// statement of the loop that started them. x/sync waiters are grouped by
// the Acquire line and, in a test binary, by test (Finding.Test).
//
// Known false positives: a batch started by a loop that pauses between
// go statements (it waits on a channel, sleeps, takes a contended lock)
// is several batches, a buildup rather than a burst; raise --sema-depth,
// or acquire before starting each goroutine, as below.
//
// Wrong: one goroutine per request, each queueing on the semaphore.
//
//	for req := range requests {
//		go func() {
//			sem.Acquire(ctx, 1) // the queue grows while requests outpace the work
//			defer sem.Release(1)
//			handle(req)
//		}()
//	}
//
// Right: acquire before starting the work, so the producer slows down to
// the service rate (or reject with TryAcquire when the queue is long).
//
//	for req := range requests {
//		if err := sem.Acquire(ctx, 1); err != nil {
//			return err
//		}
//		go func() {
//			defer sem.Release(1)
//			handle(req)
//		}()
//	}
var SemaphoreQueue = register(&Detector{
	Name: "semaphore-queue",
	Doc:  "weighted semaphores whose queue of waiting Acquires builds up: depth, waits, buildup, longest waiters and holders",
	New:  func(cfg *Config) Analyzer { return newSemaQueue(cfg.Semaphore) },
})

// SemaphoreOptions configure the semaphore-queue detector.
type SemaphoreOptions struct {
	// Depth is the queue depth (waiters) a buildup must add for a
	// semaphore to be reported; time at or above it is measured.
	Depth int
	// Wait is the wait at least one Acquire must reach for a semaphore
	// to be reported.
	Wait time.Duration
	// Window is the longest interval over which a rise of the queue
	// counts as one buildup.
	Window time.Duration
}

// DefaultSemaphoreOptions returns the documented defaults.
func DefaultSemaphoreOptions() SemaphoreOptions {
	return SemaphoreOptions{Depth: 8, Wait: 10 * time.Millisecond, Window: time.Second}
}

// The x/sync semaphore functions that identify its waits and wakes, from the
// trace alone. Tests add primitives/semaphore's own to compare the two
// evidences on one run.
var (
	semaAcquireFuncs = []string{"golang.org/x/sync/semaphore.(*Weighted).Acquire"}
	// semaAcquireAny is Acquire of either implementation: a block inside
	// it (on its internal lock) is part of arriving, not a pause.
	semaAcquireAny = []string{"golang.org/x/sync/semaphore.(*Weighted).Acquire", parse.PrimitivesPath + "semaphore.(*Weighted).Acquire"}
	semaGrantFuncs = []string{
		"golang.org/x/sync/semaphore.(*Weighted).Release",
		"golang.org/x/sync/semaphore.(*Weighted).notifyWaiters",
		"golang.org/x/sync/semaphore.(*Weighted).Acquire",
	}
)

const semaTop = 3 // longest waiters and holders kept per semaphore

// semaWaiter is one open wait.
type semaWaiter struct {
	obj    *semaObj
	start  parse.Time
	n      int64
	stack  parse.StackID
	queued bool // counted in the queue's depth
}

// semaHold is one weight held, from its grant to its release.
type semaHold struct {
	g     parse.GoID
	n     int64
	start parse.Time
	stack parse.StackID
}

// semaRanked is a wait or a hold, ranked by duration.
type semaRanked struct {
	g            parse.GoID
	d            time.Duration
	stack, other parse.StackID // the wait's or hold's stack; the release's
}

// semaPoint is a queue depth and when it held, with the arrivals and
// grants counted when it began.
type semaPoint struct {
	at, until        parse.Time // until: the next change; semaForever for the last
	depth            int64
	arrivals, grants int
	batches          int
}

const semaForever = parse.Time(1<<63 - 1)

// semaRise is a buildup: the queue rose from one depth to another between
// two times, while arrivals came in and grants went out.
type semaRise struct {
	from, to         parse.Time
	low, high        int64
	arrivals, grants int
}

func (r semaRise) growth() int64 { return r.high - r.low }

// semaObj is one semaphore: annotated, or virtual (an x/sync Acquire
// call site).
type semaObj struct {
	id      wire.ObjectID // annotated: the object
	site    parse.Frame   // virtual: the Acquire line
	virtual bool
	name    string

	first           parse.Time
	last            parse.Time
	depth, weight   int64
	queued          int64 // annotated: open waits in the queue
	admitted        int64 // annotated: of those, admitted by a Release, not yet returned
	maxDepth, maxWt int64
	area            float64       // ∫ depth dt, in waiter·ns
	above           time.Duration // time with depth ≥ opts.Depth
	series          levelSeries

	waits            durDist
	cancels          int
	arrivals, grants int
	atEnd            int // still waiting at the end
	// batches counts the batches arrivals came from (see semaBatch);
	// sources holds them, with how many goroutines of each arrived and
	// where the first was started (up to semaMaxSources of them).
	batches int
	sources map[semaBatch]*semaSource
	test    string // virtual: the test its waiters ran in
	// held is the weight held now (annotated), slots its most.
	held, slots int64
	// peak is the largest rise of the queue within a window, batches or
	// not (a burst); drained is when the queue first emptied after it
	// (-1: not yet).
	peak    semaRise
	drained parse.Time

	siteWait  map[parse.Frame]time.Duration
	siteStack map[parse.Frame]parse.StackID
	waiters   []semaRanked
	holders   []semaRanked
	holds     []semaHold              // annotated: weight held now
	granted   map[parse.GoID]semaHold // virtual: when a woken waiter was granted
	releasers map[parse.Frame]int
	relStack  map[parse.Frame]parse.StackID

	// lows holds the depths that may still be the lowest of the last
	// Window: a monotonic deque, depths strictly rising front to back.
	lows []semaPoint
	best semaRise
}

// semaSource is one batch's arrivals at a semaphore.
type semaSource struct {
	arrivals int
	fresh    int           // goroutines that arrived straight from their start
	started  int           // goroutines the batch started at their go statement
	create   parse.StackID // where its first goroutine was started
	creator  parse.GoID
}

// semaMaxSources bounds the batches a semaphore keeps details of.
const semaMaxSources = 4096

// semaSite is a virtual semaphore's key: the Acquire line and the test
// its waiters ran in.
type semaSite struct {
	site parse.Frame
	test string
}

type semaQueue struct {
	opts     SemaphoreOptions
	st       stackTable
	objs     map[wire.ObjectID]*semaObj
	virtual  map[semaSite]*semaObj
	order    []*semaObj
	annWait  map[parse.GoID]*semaWaiter // open annotated waits
	rtWait   map[parse.GoID]*semaWaiter // open x/sync waits
	findings []Finding

	// spawned holds, for each goroutine started during the trace that
	// has not paused yet, the batch it was started in; pauses counts the
	// pauses of the goroutines that started others.
	spawned idmap.Map[parse.GoID, semaSpawn]
	pauses  idmap.Map[parse.GoID, int]
	lone    int // numbers arrivals that are no batch's
	// source is the batch each goroutine that arrived came from: a
	// goroutine that loops Acquire/Release is one source, however often.
	source idmap.Map[parse.GoID, semaSpawn]
	// tests caches the test of goroutines that waited on x/sync.
	tests idmap.Map[parse.GoID, string]
	// created counts the goroutines each recent batch started at each go
	// statement (bounded: cleared past semaMaxSources entries).
	created map[semaSpawn]int
}

// semaSpawn is the batch a goroutine was started in, and where.
type semaSpawn struct {
	batch  semaBatch
	create parse.StackID
}

// semaBatch names the batch an Acquire arrives from: goroutines started
// by one goroutine between two of its pauses (a loop of go statements),
// each arriving before it pauses itself. Any other arrival is a batch of
// its own.
type semaBatch struct {
	creator parse.GoID
	pause   int
}

func newSemaQueue(opts SemaphoreOptions) *semaQueue {
	def := DefaultSemaphoreOptions()
	if opts.Depth <= 0 {
		opts.Depth = def.Depth
	}
	if opts.Window <= 0 {
		opts.Window = def.Window
	}
	return &semaQueue{
		opts:    opts,
		objs:    make(map[wire.ObjectID]*semaObj),
		virtual: make(map[semaSite]*semaObj),
		annWait: make(map[parse.GoID]*semaWaiter),
		rtWait:  make(map[parse.GoID]*semaWaiter),
		created: make(map[semaSpawn]int),
	}
}

// semaPauses are the waits that separate a creator's batches: the
// user-level ones, not the runtime's own (GC assists, preemption).
var semaPauses = map[string]bool{
	parse.ReasonChanSend: true, parse.ReasonChanReceive: true, parse.ReasonSelect: true,
	parse.ReasonSync: true, parse.ReasonCond: true, parse.ReasonSleep: true, parse.ReasonNetwork: true,
}

// arrive counts an arrival of g at o, and the batch it comes from: the
// one it was started in if it went straight to an Acquire, the same as its
// earlier arrivals' if it loops, else a batch of its own.
func (q *semaQueue) arrive(o *semaObj, g parse.GoID) {
	o.arrivals++
	sp, fresh := q.spawned.Get(g)
	if fresh {
		q.spawned.Delete(g)
	} else if s, ok := q.source.Get(g); ok {
		sp = s
	} else {
		q.lone++
		sp = semaSpawn{batch: semaBatch{creator: parse.NoGoroutine, pause: q.lone}, create: parse.NoStack}
	}
	q.source.Set(g, sp)
	src := o.sources[sp.batch]
	if src == nil {
		o.batches++
		if len(o.sources) >= semaMaxSources {
			return
		}
		src = &semaSource{create: sp.create, creator: sp.batch.creator}
		o.sources[sp.batch] = src
	}
	src.arrivals++
	if fresh {
		// Those that arrived straight from their start, or the batch's
		// goroutines started at the same go statement, if more (an
		// x/sync Acquire that did not park is not seen).
		src.fresh++
		src.started = max(src.started, src.fresh, q.created[sp])
	}
}

func (q *semaQueue) newObj(now parse.Time) *semaObj {
	o := &semaObj{
		first:     now,
		last:      now,
		siteWait:  make(map[parse.Frame]time.Duration),
		siteStack: make(map[parse.Frame]parse.StackID),
		releasers: make(map[parse.Frame]int),
		relStack:  make(map[parse.Frame]parse.StackID),
		granted:   make(map[parse.GoID]semaHold),
		sources:   make(map[semaBatch]*semaSource),
		drained:   -1,
	}
	o.series.start(now)
	o.lows = []semaPoint{{at: now, until: semaForever}} // the queue starts empty
	q.order = append(q.order, o)
	return o
}

func (q *semaQueue) annotated(id wire.ObjectID, now parse.Time) *semaObj {
	o := q.objs[id]
	if o == nil {
		o = q.newObj(now)
		o.id = id
		q.objs[id] = o
	}
	return o
}

// virtualAt returns the virtual semaphore of an Acquire line in a test.
func (q *semaQueue) virtualAt(site parse.Frame, test string, now parse.Time) *semaObj {
	k := semaSite{site, test}
	o := q.virtual[k]
	if o == nil {
		o = q.newObj(now)
		o.site, o.test, o.virtual = site, test, true
		q.virtual[k] = o
	}
	return o
}

// testOf returns the test goroutine g runs in ("" outside tests).
func (q *semaQueue) testOf(t *parse.Trace, g parse.GoID) string {
	name, ok := q.tests.Get(g)
	if !ok {
		if gr := t.Goroutine(g); gr != nil {
			name = testOf(t, gr)
		}
		q.tests.Set(g, name)
	}
	return name
}

// Kinds are the events semaQueue takes (see parse.Selective).
func (*semaQueue) Kinds() parse.Kinds {
	return parse.KindsOf(parse.EvAnnotation, parse.EvCreate, parse.EvBlock, parse.EvWake, parse.EvExit)
}

// Event follows annotated semaphores' operations and x/sync semaphores'
// waits.
func (q *semaQueue) Event(t *parse.Trace, ev *parse.Event) {
	if q.st == nil {
		q.st = t.Stacks
	}
	st := q.st
	switch ev.Kind {
	case parse.EvAnnotation:
		if ev.Annotation.Kind == wire.KindSemaphore {
			q.annotation(st, ev)
		}
	case parse.EvCreate:
		if ev.Peer != parse.NoGoroutine {
			n := *q.pauses.Ref(ev.Peer) // a creator from now on: count its pauses
			sp := semaSpawn{batch: semaBatch{creator: ev.Peer, pause: n}, create: ev.PeerStack}
			q.spawned.Set(ev.G, sp)
			if _, ok := q.created[sp]; !ok && len(q.created) >= semaMaxSources {
				clear(q.created)
			}
			q.created[sp]++
		}
	case parse.EvBlock:
		if ev.Reason == parse.ReasonSelect && hasAny(st, ev.Stack, semaAcquireFuncs) {
			site, _ := st.Location(ev.Stack)
			o := q.virtualAt(site, q.testOf(t, ev.G), ev.Time)
			o.advance(q.opts, ev.Time)
			q.arrive(o, ev.G)
			o.change(q.opts, ev.Time, o.depth+1, 0)
			q.rtWait[ev.G] = &semaWaiter{obj: o, start: ev.Time, stack: ev.Stack, queued: true}
			break
		}
		if q.spawned.Lookup(ev.G) != nil && !hasAny(st, ev.Stack, semaAcquireAny) {
			q.spawned.Delete(ev.G) // paused before any Acquire
		}
		if n := q.pauses.Lookup(ev.G); n != nil && semaPauses[ev.Reason] {
			*n++
		}
	case parse.EvWake:
		w := q.rtWait[ev.G]
		if w == nil {
			break
		}
		delete(q.rtWait, ev.G)
		o := w.obj
		o.advance(q.opts, ev.Time)
		o.endWait(st, ev.G, w, ev.Time)
		granted := ev.Peer != parse.NoGoroutine && hasAny(st, ev.PeerStack, semaGrantFuncs)
		if granted {
			o.grants++
		} else {
			o.cancels++
		}
		o.change(q.opts, ev.Time, o.depth-1, 0)
		if granted {
			o.granted[ev.G] = semaHold{g: ev.G, start: ev.Time, stack: w.stack}
			loc, _ := st.Location(ev.PeerStack)
			o.releasers[loc]++
			if _, ok := o.relStack[loc]; !ok {
				o.relStack[loc] = ev.PeerStack
			}
			// The waker released weight it held: if it had itself been
			// granted after a wait, that hold ends here.
			if h, ok := o.granted[ev.Peer]; ok && h.start < ev.Time {
				o.rank(&o.holders, semaRanked{g: ev.Peer, d: time.Duration(ev.Time - h.start), stack: h.stack, other: ev.PeerStack})
				delete(o.granted, ev.Peer)
			}
		}
	case parse.EvExit:
		delete(q.rtWait, ev.G)
		delete(q.annWait, ev.G)
		q.spawned.Delete(ev.G)
		q.pauses.Delete(ev.G)
		q.source.Delete(ev.G)
		q.tests.Delete(ev.G)
	}
}

func (q *semaQueue) annotation(st stackTable, ev *parse.Event) {
	a := &ev.Annotation
	o := q.annotated(a.Object, ev.Time)
	o.advance(q.opts, ev.Time)
	switch a.Op {
	case wire.OpName:
		o.name = a.Key
	case wire.OpWait:
		q.arrive(o, ev.G)
		w := &semaWaiter{obj: o, start: ev.Time, n: a.N, stack: ev.Stack, queued: a.Depth > 0}
		q.annWait[ev.G] = w
		if w.queued {
			// depth is exact: the queue's length, this waiter included.
			o.queued++
			o.admitted = max(o.queued-a.Depth, 0)
			o.change(q.opts, ev.Time, a.Depth, a.N)
		}
	case wire.OpAcquire:
		o.grants++
		if w := q.annWait[ev.G]; w != nil && w.obj == o {
			delete(q.annWait, ev.G)
			if w.queued {
				// Admitted by a Release that already took it off the
				// queue's depth, or (a waiter ahead gave up) not.
				o.queued--
				depth := o.depth - 1
				if o.admitted > 0 {
					o.admitted--
					depth = o.depth
				}
				o.change(q.opts, ev.Time, depth, -w.n)
			}
			o.endWait(st, ev.G, w, ev.Time)
		} else {
			q.arrive(o, ev.G)
		}
		o.holds = append(o.holds, semaHold{g: ev.G, n: a.N, start: ev.Time, stack: ev.Stack})
		o.held += a.N
		o.slots = max(o.slots, o.held)
	case wire.OpCancel:
		if w := q.annWait[ev.G]; w != nil && w.obj == o {
			delete(q.annWait, ev.G)
			o.cancels++
			if w.queued {
				o.queued--
				depth := o.depth - 1
				if depth < 0 && o.admitted > 0 {
					o.admitted--
				}
				o.change(q.opts, ev.Time, depth, -w.n)
			}
			o.endWait(st, ev.G, w, ev.Time)
		}
	case wire.OpRelease:
		o.held = max(o.held-a.N, 0)
		// depth is exact: the waiters it left queued.
		if a.Depth != o.depth {
			o.admitted = max(o.queued-a.Depth, 0)
			o.change(q.opts, ev.Time, a.Depth, 0)
		}
		if i := o.holdOf(ev.G, a.N); i >= 0 {
			h := o.holds[i]
			o.holds = slices.Delete(o.holds, i, i+1)
			o.rank(&o.holders, semaRanked{g: h.g, d: time.Duration(ev.Time - h.start), stack: h.stack, other: ev.Stack})
		}
		loc, _ := st.Location(ev.Stack)
		o.releasers[loc]++
		if _, ok := o.relStack[loc]; !ok {
			o.relStack[loc] = ev.Stack
		}
	}
}

// holdOf picks the hold a Release of weight n by g ends: g's oldest of
// that weight, else anyone's oldest of that weight, else the oldest; -1 if
// none is known (it was acquired before the trace began).
func (o *semaObj) holdOf(g parse.GoID, n int64) int {
	oldest, weight := -1, -1
	for i, h := range o.holds {
		if h.n == n {
			if h.g == g {
				return i
			}
			if weight < 0 {
				weight = i
			}
		}
		if oldest < 0 {
			oldest = i
		}
	}
	if weight >= 0 {
		return weight
	}
	return oldest
}

// advance moves the object's clock to now, integrating the depth since
// the last event.
func (o *semaObj) advance(opts SemaphoreOptions, now parse.Time) {
	if now < o.last {
		now = o.last
	}
	d := now - o.last
	o.area += float64(o.depth) * float64(d)
	if o.depth >= int64(opts.Depth) {
		o.above += time.Duration(d)
	}
	o.last = now
}

// change sets the queue's depth and changes its weight at now (after
// advance and after counting the arrival, grant or cancel that caused it),
// and measures the rise of the queue over the last Window.
func (o *semaObj) change(opts SemaphoreOptions, now parse.Time, depth, dWeight int64) {
	arrival := max(depth, 0) > o.depth
	o.depth = max(depth, 0)
	o.weight = max(o.weight+dWeight, 0)
	o.maxDepth = max(o.maxDepth, o.depth)
	o.maxWt = max(o.maxWt, o.weight)
	o.series.set(now, o.depth)

	if n := len(o.lows); n > 0 {
		o.lows[n-1].until = now
	}
	for n := len(o.lows); n > 0 && o.lows[n-1].depth >= o.depth; n-- {
		o.lows = o.lows[:n-1]
	}
	o.lows = append(o.lows, semaPoint{at: now, until: semaForever, depth: o.depth, arrivals: o.arrivals, grants: o.grants, batches: o.batches})
	lo := now - parse.Time(opts.Window)
	drop := 0
	for drop < len(o.lows)-1 && o.lows[drop].until <= lo {
		drop++
	}
	if drop > 0 {
		o.lows = append(o.lows[:0], o.lows[drop:]...)
	}
	low := o.lows[0]
	// A buildup is work that keeps coming: a rise made of arrivals from
	// at least Depth batches. One batch (goroutines started together,
	// each going straight to Acquire) fills the queue once, and it only
	// drains from then on; so do a few.
	sustained := arrival && o.batches-low.batches >= int(opts.Depth)
	r := o.depth - low.depth
	rise := semaRise{
		from: max(low.at, lo), to: now, low: low.depth, high: o.depth,
		arrivals: o.arrivals - low.arrivals, grants: o.grants - low.grants,
	}
	if r > o.best.growth() && sustained {
		o.best = rise
	}
	if r > o.peak.growth() && arrival {
		o.peak, o.drained = rise, -1
	}
	if o.depth == 0 && o.drained < 0 && o.peak.high > 0 {
		o.drained = now
	}
}

func (o *semaObj) endWait(st stackTable, g parse.GoID, w *semaWaiter, now parse.Time) {
	d := time.Duration(now - w.start)
	o.waits.add(d)
	site, _ := st.Location(w.stack)
	o.siteWait[site] += d
	if _, ok := o.siteStack[site]; !ok {
		o.siteStack[site] = w.stack
	}
	o.rank(&o.waiters, semaRanked{g: g, d: d, stack: w.stack})
}

// rank keeps the semaTop longest entries, longest first; ties keep the
// earlier.
func (o *semaObj) rank(list *[]semaRanked, r semaRanked) {
	l := *list
	i := len(l)
	for i > 0 && l[i-1].d < r.d {
		i--
	}
	if i >= semaTop {
		return
	}
	l = slices.Insert(l, i, r)
	if len(l) > semaTop {
		l = l[:semaTop]
	}
	*list = l
}

// Finalize closes every semaphore's books and decides which to report.
func (q *semaQueue) Finalize(t *parse.Trace) {
	if q.st == nil {
		q.st = t.Stacks
	}
	st := q.st
	end := parse.Time(t.End - t.Start)
	for g, w := range sortedWaits(q.annWait, q.rtWait) {
		o := w.obj
		o.advance(q.opts, end)
		o.endWait(st, g, w, end)
		o.atEnd++
	}
	for _, o := range q.order {
		o.advance(q.opts, end)
		switch {
		case o.waits.max < q.opts.Wait:
		case o.best.growth() >= int64(q.opts.Depth):
			q.findings = append(q.findings, q.finding(st, o, end))
		case o.peak.growth() >= int64(q.opts.Depth):
			q.findings = append(q.findings, q.burstFinding(st, o, end))
		}
	}
}

// sortedWaits yields the open waits in goroutine order.
func sortedWaits(ms ...map[parse.GoID]*semaWaiter) func(yield func(parse.GoID, *semaWaiter) bool) {
	return func(yield func(parse.GoID, *semaWaiter) bool) {
		for _, m := range ms {
			gs := make([]parse.GoID, 0, len(m))
			for g := range m {
				gs = append(gs, g)
			}
			slices.Sort(gs)
			for _, g := range gs {
				if !yield(g, m[g]) {
					return
				}
			}
		}
	}
}

func (q *semaQueue) finding(st stackTable, o *semaObj, end parse.Time) Finding {
	// The Acquire line that accumulated the most waiting.
	var at parse.Frame
	var most time.Duration = -1
	for s, d := range o.siteWait {
		if d > most || d == most && cmp.Or(strings.Compare(s.File, at.File), cmp.Compare(s.Line, at.Line)) < 0 {
			at, most = s, d
		}
	}
	span := time.Duration(end - o.first)
	mean := 0.0
	if span > 0 {
		mean = o.area / float64(span)
	}
	p50, p99 := o.waits.percentile(50), o.waits.percentile(99)
	f := Finding{
		Kind:       "semaphore-queue",
		Severity:   SeverityWarning,
		Cause:      "buildup",
		Confidence: ConfidenceExact,
		Evidence:   EvidenceAnnotations,
		Location:   at,
		Stack:      st.Frames(o.siteStack[at]),
		Duration:   o.waits.max,
		Total:      o.waits.total,
		Stats: map[string]int64{
			"waits":            int64(o.waits.n),
			"cancels":          int64(o.cancels),
			"arrivals":         int64(o.arrivals),
			"grants":           int64(o.grants),
			"max_depth":        o.maxDepth,
			"mean_depth_milli": int64(mean * 1000),
			"above_depth_ns":   int64(o.above),
			"wait_p50_ns":      int64(p50),
			"wait_p99_ns":      int64(p99),
			"wait_max_ns":      int64(o.waits.max),
			"buildup_growth":   o.best.growth(),
			"buildup_ns":       int64(o.best.to - o.best.from),
			"buildup_arrivals": int64(o.best.arrivals),
			"buildup_grants":   int64(o.best.grants),
			"waiting_at_end":   int64(o.atEnd),
		},
	}
	what := o.label()
	arrival, served := "Acquire", "granted"
	if o.virtual {
		f.Confidence, f.Evidence = ConfidencePerCallSite, EvidenceRuntime
		f.Object = fmt.Sprintf("x/sync semaphore acquired at %s:%d", baseFile(o.site.File), o.site.Line)
		what = fmt.Sprintf("x/sync semaphore waiters at %s:%d (grouped by Acquire call site)", baseFile(o.site.File), o.site.Line)
		if o.test != "" {
			what = fmt.Sprintf("x/sync semaphore waiters at %s:%d in %s (grouped by Acquire call site and test)", baseFile(o.site.File), o.site.Line, o.test)
			f.Test = o.test
		}
		arrival, served = "waiter", "served"
	} else {
		f.Object = o.label()
		f.Stats["max_weight"] = o.maxWt
	}
	if len(o.holders) > 0 {
		f.Stats["hold_max_ns"] = int64(o.holders[0].d)
	}
	// The goroutines listed are a sample of the waiters; the buildup's
	// arrivals are the goroutines involved.
	f.Count = o.best.arrivals
	for _, w := range o.waiters {
		f.Goroutines = append(f.Goroutines, w.g)
		f.Related = append(f.Related, Related{Role: "waiter", Site: siteOf(st, w.g, w.stack)})
	}
	for _, h := range o.holders {
		f.Related = append(f.Related, Related{Role: "holder", Site: siteOf(st, h.g, h.stack)})
	}
	if rel, ok := topCount(o.releasers); ok {
		f.Related = append(f.Related, Related{Role: "releaser", Site: siteOf(st, 0, o.relStack[rel])})
	}

	buildDur := time.Duration(o.best.to - o.best.from)
	var b strings.Builder
	fmt.Fprintf(&b, "%s queue built up to %s", what, plural(int(o.maxDepth), "waiter"))
	if !o.virtual {
		fmt.Fprintf(&b, " (weight %d)", o.maxWt)
	}
	if buildDur > 0 {
		fmt.Fprintf(&b, ": +%d in %v: %s arrived, %d %s (%s/s vs %s/s)",
			o.best.growth(), roundDuration(buildDur), plural(o.best.arrivals, arrival), o.best.grants, served,
			rate(o.best.arrivals, buildDur), rate(o.best.grants, buildDur))
	} else {
		fmt.Fprintf(&b, ": +%d at once: %s arrived, %d %s", o.best.growth(), plural(o.best.arrivals, arrival), o.best.grants, served)
	}
	fmt.Fprintf(&b, "; waits p50 %v, p99 %v, max %v", roundDuration(p50), roundDuration(p99), roundDuration(o.waits.max))
	fmt.Fprintf(&b, "; depth ≥%d for %v, mean %.1f", q.opts.Depth, roundDuration(o.above), mean)
	fmt.Fprintf(&b, "; depth over time: %s", joinInts(o.series.maxima(10, end)))
	if len(o.holders) > 0 {
		h := o.holders[0]
		acq, _ := st.Location(h.stack)
		rel, _ := st.Location(h.other)
		fmt.Fprintf(&b, "; longest hold %v by goroutine %d (Acquire at %s:%d, Release at %s:%d)", roundDuration(h.d), h.g, baseFile(acq.File), acq.Line, baseFile(rel.File), rel.Line)
	}
	if o.atEnd > 0 {
		fmt.Fprintf(&b, "; %s still waiting at trace end", plural(o.atEnd, "goroutine"))
	}
	f.Message = b.String()
	f.Hint = "work arrives faster than the semaphore lets it through: shorten what runs while the weight is held (see the longest holders), raise the semaphore's size if the resource allows, or make producers wait (Acquire before starting a goroutine) or shed load (TryAcquire, a context deadline)"
	return f
}

// burstFinding reports a queue that one burst built: goroutines started
// together (by one loop), each going straight to Acquire, queue at once
// and drain at the semaphore's pace. Info: the work is bounded, but
// starting N goroutines to wait is the semaphore's commonest misuse.
func (q *semaQueue) burstFinding(st stackTable, o *semaObj, end parse.Time) Finding {
	f := q.finding(st, o, end)
	f.Severity = SeverityInfo
	f.Cause = "burst"
	delete(f.Stats, "buildup_growth")
	delete(f.Stats, "buildup_ns")
	delete(f.Stats, "buildup_arrivals")
	delete(f.Stats, "buildup_grants")
	// The batch that brought the most goroutines.
	var top *semaSource
	for _, s := range o.sources {
		if top == nil || s.started > top.started || s.started == top.started && s.arrivals > top.arrivals {
			top = s
		}
	}
	what := o.label()
	if o.virtual {
		what = fmt.Sprintf("x/sync semaphore waiters at %s:%d", baseFile(o.site.File), o.site.Line)
	}
	var b strings.Builder
	started := int(o.peak.high)
	if top != nil && top.started > 0 {
		started = top.started
	}
	fmt.Fprintf(&b, "%s: a burst of %s queued at once", what, plural(started, "goroutine"))
	if top != nil && top.create != parse.NoStack {
		loc, _ := st.Location(top.create)
		fmt.Fprintf(&b, ", started by the loop at %s:%d (goroutine %d)", baseFile(loc.File), loc.Line, top.creator)
		f.Related = append(f.Related, Related{Role: "starter", Site: siteOf(st, top.creator, top.create)})
	}
	slots := o.slots
	if o.virtual {
		slots = max(int64(started)-o.maxDepth, 1) // those that got in without waiting
		fmt.Fprintf(&b, "; about %d slots", slots)
	} else {
		fmt.Fprintf(&b, "; %d slots", slots)
	}
	f.Stats["burst_started"] = int64(started)
	f.Stats["slots"] = slots
	fmt.Fprintf(&b, "; the queue peaked at %s", plural(int(o.maxDepth), "waiter"))
	if o.drained >= 0 {
		d := time.Duration(o.drained - o.peak.from)
		f.Stats["drain_ns"] = int64(d)
		fmt.Fprintf(&b, " and drained in %v", roundDuration(d))
	} else {
		fmt.Fprintf(&b, " and had not drained at trace end (%s waiting)", plural(o.atEnd, "goroutine"))
	}
	fmt.Fprintf(&b, "; waits p50 %v, max %v", roundDuration(o.waits.percentile(50)), roundDuration(o.waits.max))
	if o.test != "" {
		fmt.Fprintf(&b, "; in %s", o.test)
	}
	f.Message = b.String()
	f.Hint = "starting a goroutine per item and letting each wait on the semaphore holds them all in memory while they queue: acquire before starting the goroutine (the loop then waits for a slot), or use a fixed worker pool of that many goroutines reading from a channel"
	return f
}

// label names an annotated semaphore: `Semaphore#1 "db"` (see
// parse.ObjectRef).
func (o *semaObj) label() string {
	return parse.ObjectRef(wire.KindSemaphore, o.id, o.name)
}

// topCount returns the key with the largest count; ties go to the
// earliest file and line.
func topCount(m map[parse.Frame]int) (parse.Frame, bool) {
	var best parse.Frame
	n := 0
	for k, c := range m {
		if c > n || c == n && cmp.Or(strings.Compare(k.File, best.File), cmp.Compare(k.Line, best.Line)) < 0 {
			best, n = k, c
		}
	}
	return best, n > 0
}

func rate(n int, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(n)/d.Seconds())
}

func joinInts(xs []int64) string {
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, x)
	}
	return b.String()
}

// hasAny reports whether any frame of the stack is one of the functions.
func hasAny(s stackTable, id parse.StackID, funcs []string) bool {
	for i, n := 0, s.Depth(id); i < n; i++ {
		if slices.Contains(funcs, s.Frame(id, i).Func) {
			return true
		}
	}
	return false
}

func (q *semaQueue) Findings() []Finding { return q.findings }

// durDist collects durations for percentiles: exactly up to durDistExact
// samples, then in log-linear buckets (16 per power of two, so a
// percentile is off by at most 1/16).
type durDist struct {
	n       int
	total   time.Duration
	max     time.Duration
	exact   []time.Duration
	buckets map[int]int // bucket index → count, once exact overflowed
}

const durDistExact = 1024

func (d *durDist) add(x time.Duration) {
	x = max(x, 0)
	d.n++
	d.total += x
	d.max = max(d.max, x)
	if d.buckets == nil {
		if len(d.exact) < durDistExact {
			d.exact = append(d.exact, x)
			return
		}
		d.buckets = make(map[int]int)
		for _, e := range d.exact {
			d.buckets[durBucket(e)]++
		}
		d.exact = nil
	}
	d.buckets[durBucket(x)]++
}

// durBucket maps a duration to its bucket: itself below 32ns, else its
// power of two and the next 4 bits.
func durBucket(x time.Duration) int {
	if x < 32 {
		return int(x)
	}
	e := bits.Len64(uint64(x))
	m := int(uint64(x)>>(e-5)) & 15
	return e*16 + m
}

// durBucketMid is a bucket's middle value.
func durBucketMid(b int) time.Duration {
	if b < 32 {
		return time.Duration(b)
	}
	e, m := b/16, b%16
	lo := uint64(16+m) << (e - 5)
	return time.Duration(lo + uint64(1)<<(e-5)/2)
}

// percentile returns the p-th percentile (nearest rank), 0 if empty.
func (d *durDist) percentile(p float64) time.Duration {
	if d.n == 0 {
		return 0
	}
	rank := int(float64(d.n)*p/100 + 0.9999999)
	rank = min(max(rank, 1), d.n)
	if d.buckets == nil {
		s := slices.Clone(d.exact)
		slices.Sort(s)
		return s[rank-1]
	}
	keys := make([]int, 0, len(d.buckets))
	for k := range d.buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := 0
	for _, k := range keys {
		seen += d.buckets[k]
		if seen >= rank {
			return min(durBucketMid(k), d.max)
		}
	}
	return d.max
}

// levelSeries records a level (a queue depth, a live count) over time in a
// bounded number of buckets, doubling their width as time goes on: per
// bucket, the highest level and the level at its end.
type levelSeries struct {
	origin parse.Time
	width  parse.Time
	level  int64
	b      []levelBucket
}

type levelBucket struct{ max, end int64 }

const seriesBuckets = 64

func (s *levelSeries) start(origin parse.Time) {
	s.origin, s.width = origin, parse.Time(time.Microsecond)
}

// set records that the level became v at now (now ≥ the last call's).
func (s *levelSeries) set(now parse.Time, v int64) {
	if s.width == 0 {
		s.start(now)
	}
	rel := max(now-s.origin, 0)
	for rel/s.width >= seriesBuckets {
		s.coarsen()
	}
	i := int(rel / s.width)
	for len(s.b) <= i {
		s.b = append(s.b, levelBucket{s.level, s.level})
	}
	s.b[i].max = max(s.b[i].max, v)
	s.b[i].end = v
	s.level = v
}

// coarsen merges buckets in pairs and doubles their width.
func (s *levelSeries) coarsen() {
	n := 0
	for i := 0; i < len(s.b); i += 2 {
		m := s.b[i]
		if i+1 < len(s.b) {
			m.max = max(m.max, s.b[i+1].max)
			m.end = s.b[i+1].end
		}
		s.b[n] = m
		n++
	}
	s.b = s.b[:n]
	s.width *= 2
}

// bucket returns bucket i, extending the last level past the recorded
// ones.
func (s *levelSeries) bucket(i int) levelBucket {
	if i < len(s.b) {
		return s.b[i]
	}
	return levelBucket{s.level, s.level}
}

// maxima returns the highest level in each of k equal parts of [origin,
// end], to bucket precision.
func (s *levelSeries) maxima(k int, end parse.Time) []int64 {
	out := make([]int64, k)
	span := end - s.origin
	if span <= 0 || s.width == 0 {
		for i := range out {
			out[i] = s.level
		}
		return out
	}
	for j := range k {
		lo := s.origin + span*parse.Time(j)/parse.Time(k)
		hi := s.origin + span*parse.Time(j+1)/parse.Time(k)
		first := int((lo - s.origin) / s.width)
		last := int((max(hi-1, lo) - s.origin) / s.width)
		m := s.bucket(first).max
		for i := first + 1; i <= last; i++ {
			m = max(m, s.bucket(i).max)
		}
		out[j] = m
	}
	return out
}

// at returns the level at the end of the bucket holding time x.
func (s *levelSeries) at(x parse.Time) int64 {
	if s.width == 0 || x < s.origin {
		return 0
	}
	return s.bucket(int((x - s.origin) / s.width)).end
}
