package report

import (
	"cmp"
	"container/heap"
	"maps"
	"slices"
	"strconv"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// TimelineLimits bound what a [Timeline] keeps, and so the memory of the
// pass and the size of the HTML page.
type TimelineLimits struct {
	// Lanes is the number of goroutines drawn on lanes of their own; the
	// others are drawn on one lane per creation site.
	Lanes int
	// Intervals is the number of blocking intervals kept; past it, short
	// neighbouring intervals of a lane are merged, coarser each time.
	Intervals int
	// Marks is the number of primitive operations kept as marks.
	Marks int
	// Stacks is the number of distinct stacks the page can show.
	Stacks int
	// Pixels is the width, in pixels, of the whole trace at full zoom-out:
	// a trace with more than Intervals/2 intervals has the ones shorter
	// than a pixel merged.
	Pixels int
	// Points is the number of points kept per semaphore's queue-depth
	// series, and Flights the flights kept per singleflight key.
	Points, Flights int
}

// DefaultTimelineLimits keeps the page of a 100 MB trace to a few MB
// (1.2 MB for internal/tracegen's).
func DefaultTimelineLimits() TimelineLimits {
	return TimelineLimits{Lanes: 600, Intervals: 40000, Marks: 15000, Stacks: 3000, Pixels: 2000, Points: 2000, Flights: 500}
}

// Timeline gathers what the HTML report draws of one trace, as the html
// format's [Gatherer] in the analysis's single pass: each goroutine's
// blocking intervals, who woke it, the primitive operations it annotated,
// and per primitive the waits on each lock, the queue depth of each
// semaphore and the fan-in of each singleflight flight. Its memory is
// bounded by [TimelineLimits] and by what is alive: past the limits,
// goroutines share a lane per creation site and short intervals are
// merged, and the page says what that left out. Finalize turns it into
// the page's data; AddTo hands that to the [Analysis].
type Timeline struct {
	lim TimelineLimits

	lanes   map[parse.GoID]*tlLane // goroutines with a lane of their own, and the live ones drawn on a site's
	own     int                    // lanes of their own (not a site's)
	sites   map[string]*tlLane     // the shared lane of each creation site
	reasons []string
	reasonI map[string]int
	stacks  map[parse.StackID]int // page stack index
	stackL  []parse.StackID
	classes map[parse.StackID]stackClass

	quantum   parse.Time // intervals shorter than this may be merged
	intervals int        // intervals held
	marks     int
	names     map[wire.ObjectID]string // names users gave objects

	waits    map[goObj]parse.Time // open annotated waits
	locks    map[string]*lockStats
	unlocker map[wire.ObjectID]holder // the last release of each annotated lock
	semas    map[string]*semaStats
	flights  map[string]*flightStats
	open     map[flightKey]*flight // annotated flights in progress

	left leftOut
	// exited are the lanes of their own of goroutines that exited, which
	// a new goroutine may take (see lane).
	exited byBlocked

	// drawn is the page's data, made by Finalize; the rest is then dropped.
	drawn *drawn
}

// leftOut counts what the limits kept off the page.
type leftOut struct {
	shared      int // goroutines drawn on their site's lane
	merged      int // intervals merged into others
	marks       int // primitive operations not drawn
	stacks      int // stacks not kept
	points      int // semaphore depth points merged
	flights     int // singleflight flights not kept
	systemLanes int
	panels      []string // panels past maxPanels, in words
}

type goObj struct {
	g   parse.GoID
	obj uint64
}

// flightKey names an annotated singleflight flight: its Group and number.
type flightKey struct {
	obj wire.ObjectID
	seq uint64
}

type holder struct {
	g     parse.GoID
	stack parse.StackID
}

// tlLane is a goroutine's lane, or a creation site's shared lane.
type tlLane struct {
	g       parse.GoID // NoGoroutine for a site's lane
	site    string
	shared  *tlLane // for a goroutine without a lane of its own: its site's lane
	iv      []interval
	marks   []mark
	n       int        // goroutines drawn on a site's lane
	pending []interval // a site's lane: demoted goroutines' intervals not merged in yet
	blocked parse.Time // time blocked, summed

	// What the page says of the goroutine, copied from the trace.
	entry           string
	creator         parse.GoID
	created, exited parse.Time // exited: -1 if it did not
	state           parse.State
	system          bool
}

type interval struct {
	start, end parse.Time
	blocked    parse.Time // time blocked within [start, end]: less than the span once merged
	waker      parse.GoID
	stack      int32
	reason     uint8
	n          int32 // blocks merged into this one
	open       bool  // still blocked at the trace's end
}

type mark struct {
	t     parse.Time
	obj   wire.ObjectID
	kind  wire.Kind
	op    wire.Op
	seq   uint64
	ref   uint64
	stack int32
}

// stackClass says which primitive a blocked stack waits in, for
// primitives seen only through the runtime's events.
type stackClass uint8

const (
	classNone stackClass = iota
	classLock
	classSema
	classFlight
)

// NewTimeline returns an empty Timeline with those limits.
func NewTimeline(lim TimelineLimits) *Timeline {
	return &Timeline{
		lim:      lim,
		lanes:    make(map[parse.GoID]*tlLane),
		sites:    make(map[string]*tlLane),
		reasonI:  make(map[string]int),
		stacks:   make(map[parse.StackID]int),
		classes:  make(map[parse.StackID]stackClass),
		names:    make(map[wire.ObjectID]string),
		waits:    make(map[goObj]parse.Time),
		locks:    make(map[string]*lockStats),
		unlocker: make(map[wire.ObjectID]holder),
		semas:    make(map[string]*semaStats),
		flights:  make(map[string]*flightStats),
		open:     make(map[flightKey]*flight),
	}
}

// Event takes in one event of the pass.
func (tl *Timeline) Event(t *parse.Trace, ev *parse.Event) {
	switch ev.Kind {
	case parse.EvBlock:
		if tl.class(t, ev.Stack) == classSema {
			tl.sema(runtimeKey(t, "x/sync semaphore", ev.Stack)).step(ev.Time, 1, tl.lim.Points, &tl.left)
		}
	case parse.EvWake, parse.EvExit:
		if ev.Kind == parse.EvExit && ev.Reason == "" {
			tl.exit(t, ev.G) // it was running, not blocked
			return
		}
		if g := t.Goroutine(ev.G); g == nil || g.System {
			return
		}
		tl.wake(t, ev)
		if ev.Kind == parse.EvExit {
			tl.exit(t, ev.G)
		}
	case parse.EvAnnotation:
		tl.annotation(t, ev)
	}
}

// lane returns the lane goroutine id draws on, adding it if new.
//
// Lanes of their own go to the goroutines alive and to those that exited
// having blocked longest: past Limits.Lanes, a new goroutine takes the
// lane of the exited one that blocked least, whose blocks move to its
// site's shared lane; with no exited one to take from, it draws on its
// site's shared lane.
func (tl *Timeline) lane(t *parse.Trace, id parse.GoID) *tlLane {
	if l, ok := tl.lanes[id]; ok {
		if l.shared != nil {
			return l.shared
		}
		return l
	}
	site := siteOf(t, id)
	l := &tlLane{g: id, site: site, exited: -1}
	l.facts(t)
	tl.lanes[id] = l
	if tl.own >= tl.lim.Lanes && len(tl.exited) > 0 {
		tl.demote(heap.Pop(&tl.exited).(*tlLane))
	}
	if tl.own < tl.lim.Lanes {
		tl.own++
		return l
	}
	s := tl.site(site)
	s.n++
	tl.left.shared++
	l.shared = s
	return s
}

// site returns the shared lane of a creation site.
func (tl *Timeline) site(site string) *tlLane {
	s := tl.sites[site]
	if s == nil {
		s = &tlLane{g: parse.NoGoroutine, site: site, exited: -1}
		tl.sites[site] = s
	}
	return s
}

// facts copies what the page says of the goroutine from the trace, which
// may not keep its record once it exits.
func (l *tlLane) facts(t *parse.Trace) {
	g := t.Goroutine(l.g)
	if g == nil {
		return
	}
	l.entry, l.creator, l.created, l.state, l.system = g.Entry, g.Creator, g.Created, g.State, g.System
	if g.State == parse.StateExited {
		l.exited = g.Exited
	}
}

// exit notes that a goroutine exited: nothing more of it will come. One
// drawn on its site's lane is forgotten; one with a lane of its own may
// give it up to a goroutine that comes later (see lane).
func (tl *Timeline) exit(t *parse.Trace, id parse.GoID) {
	l, ok := tl.lanes[id]
	switch {
	case !ok:
	case l.shared != nil:
		delete(tl.lanes, id)
	default:
		l.facts(t)
		l.state = parse.StateExited
		if l.exited < 0 {
			l.exited = parse.Time(t.End - t.Start)
		}
		heap.Push(&tl.exited, l)
	}
}

// demote moves an exited goroutine's lane to its site's shared lane.
func (tl *Timeline) demote(l *tlLane) {
	delete(tl.lanes, l.g)
	tl.own--
	s := tl.site(l.site)
	s.n++
	tl.left.shared++
	s.pending = append(s.pending, l.iv...)
	tl.marks -= len(l.marks)
	tl.left.marks += len(l.marks)
	if len(s.pending) >= 256 {
		tl.intervals -= s.flush(tl.quantum, &tl.left)
	}
}

// flush merges the intervals of demoted goroutines into the site's lane;
// it returns how many intervals fewer there are.
func (s *tlLane) flush(q parse.Time, left *leftOut) int {
	if len(s.pending) == 0 {
		return 0
	}
	all := append(s.iv, s.pending...)
	s.pending = nil
	slices.SortStableFunc(all, func(a, b interval) int { return cmp.Compare(a.start, b.start) })
	before := len(all)
	s.iv = all[:0:0]
	for _, iv := range all {
		s.add(iv, q, left)
	}
	return before - len(s.iv)
}

// byBlocked is a min-heap of exited goroutines' lanes by time blocked.
type byBlocked []*tlLane

func (h byBlocked) Len() int           { return len(h) }
func (h byBlocked) Less(i, j int) bool { return h[i].blocked < h[j].blocked }
func (h byBlocked) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *byBlocked) Push(x any)        { *h = append(*h, x.(*tlLane)) }
func (h *byBlocked) Pop() any {
	old := *h
	l := old[len(old)-1]
	*h = old[:len(old)-1]
	return l
}

// siteOf names the place a goroutine comes from: the user's go statement
// that created it, or its entry function for one that existed before the
// trace.
func siteOf(t *parse.Trace, id parse.GoID) string {
	g := t.Goroutine(id)
	if g == nil {
		return "?"
	}
	if !g.Preexisting && g.CreateStack != parse.NoStack {
		if f, ok := t.Stacks.Location(g.CreateStack); ok {
			return "go " + f.Func + " at " + f.String()
		}
	}
	if g.Entry != "" {
		return g.Entry
	}
	return "goroutines of unknown origin"
}

func (tl *Timeline) reason(r string) uint8 {
	if i, ok := tl.reasonI[r]; ok {
		return uint8(i)
	}
	if len(tl.reasons) == 255 {
		r = "other"
		if i, ok := tl.reasonI[r]; ok {
			return uint8(i)
		}
	}
	tl.reasonI[r] = len(tl.reasons)
	tl.reasons = append(tl.reasons, r)
	return uint8(len(tl.reasons) - 1)
}

// stack returns the page's index of a stack, or -1 once Limits.Stacks
// are kept.
func (tl *Timeline) stack(id parse.StackID) int32 {
	if id == parse.NoStack {
		return -1
	}
	if i, ok := tl.stacks[id]; ok {
		return int32(i)
	}
	if len(tl.stackL) >= tl.lim.Stacks {
		tl.left.stacks++
		return -1
	}
	tl.stacks[id] = len(tl.stackL)
	tl.stackL = append(tl.stackL, id)
	return int32(len(tl.stackL) - 1)
}

// class says which primitive a blocked stack waits in, once per stack.
func (tl *Timeline) class(t *parse.Trace, id parse.StackID) stackClass {
	if c, ok := tl.classes[id]; ok {
		return c
	}
	c := classNone
	for i, n := 0, t.Stacks.Depth(id); i < n && c == classNone; i++ {
		switch t.Stacks.Frame(id, i).Func {
		case "sync.(*Mutex).Lock", "sync.(*RWMutex).Lock", "sync.(*RWMutex).RLock", "internal/sync.(*Mutex).Lock":
			c = classLock
		case "golang.org/x/sync/semaphore.(*Weighted).Acquire":
			c = classSema
		case "golang.org/x/sync/singleflight.(*Group).Do":
			c = classFlight
		}
	}
	if c == classFlight && t.Stacks.Has(id, "golang.org/x/sync/singleflight.(*Group).doCall") {
		c = classNone // a leader blocked in the function it runs, not a follower
	}
	tl.classes[id] = c
	return c
}

// runtimeKey names a primitive seen only through the runtime: by the
// user's line that waits on it.
func runtimeKey(t *parse.Trace, what string, stack parse.StackID) string {
	f, _ := t.Stacks.Location(stack)
	return what + " at " + f.String()
}

// wake records the block that ev ended.
func (tl *Timeline) wake(t *parse.Trace, ev *parse.Event) {
	d := ev.Time - ev.Start
	switch tl.class(t, ev.Stack) {
	case classLock:
		key := runtimeKey(t, "sync lock", ev.Stack)
		tl.lock(key, wire.KindBad, wire.NoObject).wait(d, holder{ev.Peer, ev.PeerStack}, t)
	case classSema:
		tl.sema(runtimeKey(t, "x/sync semaphore", ev.Stack)).step(ev.Time, -1, tl.lim.Points, &tl.left)
	case classFlight:
		tl.runtimeFollower(t, ev)
	}
	l := tl.lane(t, ev.G)
	l.blocked += d
	iv := interval{
		start: ev.Start, end: ev.Time, blocked: d, waker: ev.Peer,
		stack: tl.stack(ev.Stack), reason: tl.reason(ev.Reason), n: 1,
	}
	if l.add(iv, tl.quantum, &tl.left) {
		tl.intervals++
	}
	if tl.intervals > tl.lim.Intervals {
		tl.coarsen()
	}
}

// add adds an interval to the lane, merged into the one before it where
// the lane's rules say so; it reports whether the lane has one more.
func (l *tlLane) add(iv interval, q parse.Time, left *leftOut) bool {
	n := len(l.iv)
	if n == 0 {
		l.iv = append(l.iv, iv)
		return true
	}
	p := &l.iv[n-1]
	switch {
	case l.g == parse.NoGoroutine && (iv.start <= p.end || iv.end-p.start < q):
		// A site's lane: goroutines' blocks that overlap are one.
	case iv.end-p.start < q && !iv.open:
	default:
		l.iv = append(l.iv, iv)
		return true
	}
	p.merge(iv)
	left.merged++
	return false
}

// coarsen merges short intervals until no more than three quarters of
// Limits.Intervals are held: at the quantum it has (intervals added since
// the last time may merge at it), then with a coarser one each time.
func (tl *Timeline) coarsen() {
	if tl.quantum > 0 {
		tl.mergeAll(tl.quantum)
	}
	for tl.intervals > tl.lim.Intervals*3/4 && tl.quantum < 1<<50 {
		if tl.quantum == 0 {
			tl.quantum = 1000
		} else {
			tl.quantum *= 4
		}
		tl.mergeAll(tl.quantum)
	}
}

func (tl *Timeline) mergeAll(q parse.Time) {
	n := 0
	for _, l := range tl.sites {
		l.flush(q, &tl.left)
	}
	for _, l := range tl.allLanes() {
		before := len(l.iv)
		l.iv = mergeShort(l.iv, q)
		tl.left.merged += before - len(l.iv)
		n += len(l.iv)
	}
	tl.intervals = n
}

// allLanes returns the lanes of their own and the sites' lanes.
func (tl *Timeline) allLanes() []*tlLane {
	var ls []*tlLane
	for _, l := range tl.lanes {
		if l.shared == nil {
			ls = append(ls, l)
		}
	}
	for _, l := range tl.sites {
		ls = append(ls, l)
	}
	return ls
}

// mergeShort merges each interval into the one before it while their
// span together is shorter than q: at a pixel of q, what was several
// specks becomes one.
func mergeShort(iv []interval, q parse.Time) []interval {
	if len(iv) < 2 {
		return iv
	}
	out := iv[:1]
	for _, cur := range iv[1:] {
		p := &out[len(out)-1]
		if cur.end-p.start < q && !cur.open {
			p.merge(cur)
			continue
		}
		out = append(out, cur)
	}
	return out
}

// merge folds b, which ends after a, into a.
func (a *interval) merge(b interval) {
	if b.blocked > a.blocked {
		a.reason, a.stack = b.reason, b.stack
	}
	if a.waker != b.waker {
		a.waker = parse.NoGoroutine
	}
	a.start = min(a.start, b.start)
	a.end = max(a.end, b.end)
	a.blocked += b.blocked
	a.n += b.n
}

// annotation records a primitive operation as a mark, and in the
// per-primitive books.
func (tl *Timeline) annotation(t *parse.Trace, ev *parse.Event) {
	a := &ev.Annotation
	if a.Op == wire.OpName {
		if len(tl.names) < maxNames {
			tl.names[a.Object] = a.Key
		}
		return
	}
	k := goObj{ev.G, uint64(a.Object)}
	switch a.Kind {
	case wire.KindMutex, wire.KindRWMutex, wire.KindReentrant:
		tl.lockOp(t, ev, k)
	case wire.KindSemaphore:
		tl.semaOp(ev, k)
	case wire.KindSingleflight:
		tl.flightOp(ev)
	}
	if g := t.Goroutine(ev.G); g == nil || g.System {
		return
	}
	l := tl.lane(t, ev.G)
	if l.g == parse.NoGoroutine || tl.marks >= tl.lim.Marks {
		tl.left.marks++
		return
	}
	tl.marks++
	l.marks = append(l.marks, mark{t: ev.Time, obj: a.Object, kind: a.Kind, op: a.Op, seq: a.Seq, ref: a.Ref, stack: tl.stack(ev.Stack)})
}

// maxNames bounds the names of objects kept (a program that names an
// object per request would otherwise grow them with the trace).
const maxNames = 10000

// objectName is how the page names an annotated object: `mutex 3 "cache"`.
func (tl *Timeline) objectName(k wire.Kind, id wire.ObjectID) string {
	s := k.String() + " " + strconv.FormatUint(uint64(id), 10)
	if name := tl.names[id]; name != "" {
		s += " " + strconv.Quote(name)
	}
	return s
}

// Finalize closes the books: goroutines still blocked get their open
// interval, and if the trace turned out to hold many intervals, those
// shorter than a pixel at full zoom-out are merged.
func (tl *Timeline) Finalize(t *parse.Trace) {
	end := parse.Time(t.End - t.Start)
	for g := range t.All() {
		if g.System || g.State != parse.StateWaiting {
			continue
		}
		l := tl.lane(t, g.ID)
		iv := interval{
			start: g.Since, end: end, blocked: end - g.Since, waker: parse.NoGoroutine,
			stack: tl.stack(g.Stack), reason: tl.reason(g.Reason), n: 1, open: true,
		}
		if l.add(iv, tl.quantum, &tl.left) {
			tl.intervals++
		}
		switch tl.class(t, g.Stack) {
		case classFlight:
			tl.runtimeStalled(t, g)
		}
	}
	for _, l := range tl.sites {
		tl.intervals -= l.flush(tl.quantum, &tl.left)
	}
	for _, l := range tl.allLanes() {
		slices.SortStableFunc(l.iv, func(a, b interval) int { return cmp.Compare(a.start, b.start) })
		if l.g != parse.NoGoroutine && l.state != parse.StateExited {
			l.facts(t) // its state at the end
		}
	}
	if px := end / parse.Time(max(tl.lim.Pixels, 1)); tl.intervals > tl.lim.Intervals/2 && px > tl.quantum {
		tl.quantum = px
		tl.mergeAll(px)
	}
	open := slices.Collect(maps.Values(tl.open))
	slices.SortFunc(open, func(a, b *flight) int { return cmp.Compare(a.start, b.start) })
	for _, f := range open {
		f.stalled, f.end = true, end
		tl.closeFlight(f)
	}
	tl.drawn = tl.draw(t)
	// Nothing of the pass is needed any more.
	tl.lanes, tl.sites, tl.stacks, tl.stackL, tl.classes = nil, nil, nil, nil, nil
	tl.names, tl.waits, tl.locks, tl.unlocker, tl.semas, tl.flights, tl.open = nil, nil, nil, nil, nil, nil, nil
}

// AddTo adds the trace's timeline to the analysis: the HTML page draws
// one for each trace (see [HTML]).
func (tl *Timeline) AddTo(a *Analysis) {
	a.Timelines = append(a.Timelines, tl)
}
