package report

import (
	"strconv"
	"time"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// waitBuckets are the upper bounds of the lock-wait histogram's buckets
// (a 1-2-5 series); 1 ms, sync.Mutex's starvation threshold, is one of
// them. The last bucket holds everything longer.
var waitBuckets = []time.Duration{
	time.Microsecond, 2 * time.Microsecond, 5 * time.Microsecond,
	10 * time.Microsecond, 20 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 200 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
}

// lockStats are the waits on one lock: an annotated object, or the
// plain sync locks waited on at one line.
type lockStats struct {
	obj     wire.ObjectID // wire.NoObject for a plain lock
	kind    wire.Kind
	hist    []int // by waitBuckets, plus one for longer
	waits   int
	fast    int // acquisitions that did not wait, from the first wait on (annotated locks only)
	total   parse.Time
	max     parse.Time
	holders map[parse.Frame]*blame
}

// blame is the wait one holder's release ended.
type blame struct {
	waits int
	total parse.Time
	g     parse.GoID // one goroutine that released there
}

func (tl *Timeline) lock(key string, kind wire.Kind, obj wire.ObjectID) *lockStats {
	s := tl.locks[key]
	if s == nil {
		s = &lockStats{obj: obj, kind: kind, hist: make([]int, len(waitBuckets)+1), holders: make(map[parse.Frame]*blame)}
		tl.locks[key] = s
	}
	return s
}

// wait records a wait of d ended by h's release (h.g NoGoroutine: unknown).
func (s *lockStats) wait(d parse.Time, h holder, t *parse.Trace) {
	i := 0
	for i < len(waitBuckets) && time.Duration(d) > waitBuckets[i] {
		i++
	}
	s.hist[i]++
	s.waits++
	s.total += d
	s.max = max(s.max, d)
	if h.g == parse.NoGoroutine || h.stack == parse.NoStack {
		return
	}
	f, _ := t.Stacks.Location(h.stack)
	b := s.holders[f]
	if b == nil {
		b = &blame{g: h.g}
		s.holders[f] = b
	}
	b.waits++
	b.total += d
}

// maxUnlockers bounds the annotated locks whose last release is kept (a
// program with a lock per request would otherwise grow them with the
// trace): past it they are forgotten, and a wait that follows is blamed
// on nobody.
const maxUnlockers = 10000

// lockOp books an annotated lock's operation. Locks that never made
// anyone wait get no chart (and no memory).
func (tl *Timeline) lockOp(t *parse.Trace, ev *parse.Event, k goObj) {
	a := &ev.Annotation
	switch a.Op {
	case wire.OpWait:
		tl.waits[k] = ev.Time
	case wire.OpCancel:
		delete(tl.waits, k)
	case wire.OpLock, wire.OpRLock:
		if a.Kind == wire.KindReentrant && a.N > 1 {
			return // a re-entry
		}
		key := "#" + idKey(a.Object)
		start, ok := tl.waits[k]
		if !ok {
			if s := tl.locks[key]; s != nil {
				s.fast++
			}
			return
		}
		delete(tl.waits, k)
		tl.lock(key, a.Kind, a.Object).wait(ev.Time-start, tl.unlocker[a.Object], t)
	case wire.OpUnlock, wire.OpRUnlock:
		if a.Kind == wire.KindReentrant && a.N > 0 {
			return // still held
		}
		if _, ok := tl.unlocker[a.Object]; !ok && len(tl.unlocker) >= maxUnlockers {
			clear(tl.unlocker)
		}
		tl.unlocker[a.Object] = holder{ev.G, ev.Stack}
	}
}

// semaStats is one semaphore's queue depth over time.
type semaStats struct {
	obj    wire.ObjectID
	points []point
	depth  int
	max    int
}

type point struct {
	t     parse.Time
	depth int
}

func (tl *Timeline) sema(key string) *semaStats {
	s := tl.semas[key]
	if s == nil {
		s = &semaStats{}
		tl.semas[key] = s
	}
	return s
}

// step changes the depth by delta at time at. Past limit points, pairs of
// neighbours are merged into one that keeps the deeper of the two.
func (s *semaStats) step(at parse.Time, delta, limit int, left *leftOut) {
	s.depth = max(s.depth+delta, 0)
	s.max = max(s.max, s.depth)
	if n := len(s.points); n > 0 && s.points[n-1].t == at {
		s.points[n-1].depth = s.depth
		return
	}
	s.points = append(s.points, point{at, s.depth})
	if len(s.points) > limit {
		half := s.points[:0]
		for i := 0; i < len(s.points); i += 2 {
			p := s.points[i]
			if i+1 < len(s.points) {
				p.depth = max(p.depth, s.points[i+1].depth)
				left.points++
			}
			half = append(half, p)
		}
		s.points = half
	}
}

// semaOp books an annotated semaphore's operation.
func (tl *Timeline) semaOp(ev *parse.Event, k goObj) {
	a := &ev.Annotation
	key := "#" + idKey(a.Object)
	switch a.Op {
	case wire.OpWait:
		tl.waits[k] = ev.Time
		s := tl.sema(key)
		s.obj = a.Object
		s.step(ev.Time, 1, tl.lim.Points, &tl.left)
	case wire.OpAcquire, wire.OpCancel:
		if _, ok := tl.waits[k]; ok {
			delete(tl.waits, k)
			tl.sema(key).step(ev.Time, -1, tl.lim.Points, &tl.left)
		}
	}
}

// flightStats are the flights of one singleflight key (annotated), or of
// the x/sync singleflight calls at one line.
type flightStats struct {
	obj     wire.ObjectID
	key     string
	flights []flight
	more    int // flights past Limits.Flights
}

type flight struct {
	obj        wire.ObjectID // of an annotated flight in progress
	key        string
	start, end parse.Time
	leader     parse.GoID
	followers  int
	stalled    bool // still in flight at the trace's end
}

// maxFlightKeys bounds the singleflight keys kept (keys are often per
// user or per item): flights of more keys are counted, not charted.
const maxFlightKeys = 1000

// flightsOf returns the flights of key, or nil past maxFlightKeys keys.
func (tl *Timeline) flightsOf(key string) *flightStats {
	s := tl.flights[key]
	if s == nil {
		if len(tl.flights) >= maxFlightKeys {
			tl.left.flights++
			return nil
		}
		s = &flightStats{}
		tl.flights[key] = s
	}
	return s
}

func (s *flightStats) add(f flight, limit int, left *leftOut) {
	if len(s.flights) >= limit {
		s.more++
		left.flights++
		return
	}
	s.flights = append(s.flights, f)
}

// flightOp books an annotated singleflight operation.
func (tl *Timeline) flightOp(ev *parse.Event) {
	a := &ev.Annotation
	k := flightKey{a.Object, a.Seq}
	switch a.Op {
	case wire.OpLead:
		tl.open[k] = &flight{obj: a.Object, key: a.Key, start: ev.Time, leader: ev.G}
	case wire.OpFollow:
		if f := tl.open[k]; f != nil {
			f.followers++
		}
	case wire.OpReturn:
		f := tl.open[k]
		if f == nil {
			return
		}
		delete(tl.open, k)
		f.end = ev.Time
		f.followers = max(f.followers, int(a.N))
		tl.closeFlight(f)
	}
}

// closeFlight files an annotated flight under its object and key.
func (tl *Timeline) closeFlight(f *flight) {
	s := tl.flightsOf("#" + idKey(f.obj) + " " + strconv.Quote(f.key))
	if s == nil {
		return
	}
	s.obj, s.key = f.obj, f.key
	s.add(*f, tl.lim.Flights, &tl.left)
}

// runtimeFollower books a follower of an x/sync singleflight call, woken
// by its leader: followers woken by one goroutine within a millisecond of
// each other are one flight's.
func (tl *Timeline) runtimeFollower(t *parse.Trace, ev *parse.Event) {
	s := tl.flightsOf(runtimeKey(t, "x/sync singleflight", ev.Stack))
	if s == nil {
		return
	}
	if n := len(s.flights); n > 0 {
		f := &s.flights[n-1]
		if f.leader == ev.Peer && ev.Peer != parse.NoGoroutine && ev.Time-f.end < parse.Time(time.Millisecond) {
			f.followers++
			f.start = min(f.start, ev.Start)
			f.end = max(f.end, ev.Time)
			return
		}
	}
	s.add(flight{start: ev.Start, end: ev.Time, leader: ev.Peer, followers: 1}, tl.lim.Flights, &tl.left)
}

// runtimeStalled books a follower of an x/sync singleflight call still
// waiting at the trace's end: the followers still waiting at one line are
// one stalled flight.
func (tl *Timeline) runtimeStalled(t *parse.Trace, g *parse.Goroutine) {
	s := tl.flightsOf(runtimeKey(t, "x/sync singleflight", g.Stack))
	if s == nil {
		return
	}
	end := parse.Time(t.End - t.Start)
	if n := len(s.flights); n > 0 && s.flights[n-1].stalled {
		f := &s.flights[n-1]
		f.followers++
		f.start = min(f.start, g.Since)
		return
	}
	s.add(flight{start: g.Since, end: end, leader: parse.NoGoroutine, followers: 1, stalled: true}, tl.lim.Flights, &tl.left)
}

func idKey(id wire.ObjectID) string { return strconv.FormatUint(uint64(id), 10) }
